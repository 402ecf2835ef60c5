"""The stamp of the code a screen comes from: equal stamps, same code.

One function for the two things that must never use other code's output: the
console server (tui/prestart.py: a session is only forked when the client's
stamp equals the server's) and the frame cache (tui/prepaint.py: a cached first
screen is only painted when its key, which includes the stamp, is equal).
Imports no Textual or Rich (both run before Textual is imported).
"""

from __future__ import annotations

import os
import sys

PACKAGES = ("config", "mailer", "mailconsole", "tui")  # ours: every file is in the stamp
_last: str | None = None  # the stamp computed last in this process


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tree(path: str, out: list[str]) -> None:
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        out.append(f"{path}:missing")
        return
    for entry in entries:
        if entry.name == "__pycache__":
            continue
        if entry.is_dir(follow_symlinks=False):
            _tree(entry.path, out)
        elif entry.is_file():
            st = entry.stat()
            out.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")


def _distribution(name: str, out: list[str]) -> None:
    """Where ``name`` is imported from and its installed version (dist-info name)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    if not origin:
        out.append(f"{name}:missing")
        return
    st = os.stat(origin)
    out.append(f"{origin}:{st.st_size}:{st.st_mtime_ns}")
    site = os.path.dirname(os.path.dirname(origin))
    prefix = name + "-"
    try:
        out.extend(n for n in sorted(os.listdir(site))
                   if n.startswith(prefix) and n.endswith(".dist-info"))
    except OSError:
        pass


def code_stamp() -> str:
    """Python, the environment's prefix, every file of our packages (size, mtime)
    and Textual's and Rich's location and version: equal stamps, same code."""
    out = [sys.version, sys.prefix, sys.base_prefix]
    root = _root()
    for package in PACKAGES:
        _tree(os.path.join(root, package), out)
    for name in ("textual", "rich"):
        _distribution(name, out)
    global _last
    _last = "\n".join(out)
    return _last


def known_stamp() -> str:
    """The stamp computed last in this process, else a new one.  A session forked
    by the console server has its server's (equal to the client's: checked), and
    a normal start the one the hand-over attempt just computed: the tree is
    walked once per start, not once per user of the stamp."""
    return _last if _last is not None else code_stamp()
