"""Helpers for the console tests: the app on a real pseudo-terminal.

The pty code is bench/bytes.py's (the byte-ceiling test must count exactly what the
benchmark counts), loaded by path since bench/ is not a package.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _load_bench():
    spec = importlib.util.spec_from_file_location("mailconsole_bench_bytes",
                                                  REPO / "bench" / "bytes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture
def spawn_app(tmp_path):
    """spawn_app(term=..., mode=None, rows=24, cols=80, extra_env=None) -> PtySession
    running the real app (tui.start.run) on a fresh config in tmp_path; closed at the end."""
    sessions = []

    def spawn(term: str | None = "vt100", mode: str | None = None, rows: int = 24,
              cols: int = 80, extra_env: dict[str, str] | None = None):
        config = tmp_path / "mail.toml"
        session = bench.PtySession(bench.app_argv(config, mode),
                                   bench.app_env(term, extra_env), rows=rows, cols=cols,
                                   cwd=str(REPO))
        sessions.append(session)
        return session

    yield spawn
    for session in sessions:
        session.close()


CUP = re.compile(rb"\x1b\[(\d*)(?:;(\d*))?H")


def screen_of(output: bytes, width: int = 80, height: int = 30) -> list[str]:
    """Replay ``output`` on a virtual terminal of width x height (rows as text)."""
    from tui.console.celldiff import WireEncoder

    term = WireEncoder(width, height, clear_on_start=False)
    term.write(output.decode("utf-8", "replace"))
    return term.rows()


def screen_when(session, ready, *, width: int = 80, height: int = 24,
                timeout: float = 30.0, quiet: float = 0.3) -> list[str]:
    """Read until the screen the output paints satisfies ``ready(rows)`` (or
    ``timeout`` passed: the caller's assert then fails, showing the screen), then
    until the tty was quiet for ``quiet`` seconds; the rows.  A quiet tty alone is no
    sign the app is done: on a busy machine it pauses longer than any quiet period."""
    import time

    def shown() -> bool:
        try:
            return bool(ready(screen_of(bytes(session.output), width, height)))
        except (LookupError, StopIteration):  # a row looked for is not there (yet)
            return False

    deadline = time.monotonic() + timeout
    while not shown() and time.monotonic() < deadline:
        session.read(0.1)
    session.settle(quiet=quiet, timeout=10, need_bytes=False)
    return screen_of(bytes(session.output), width, height)
