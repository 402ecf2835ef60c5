"""The ``mailconsole`` command (placeholder until the CLI issue lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from mailconsole import __version__

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--version"]:
        print(f"mailconsole {__version__}")
        return 0
    print("mailconsole: not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
