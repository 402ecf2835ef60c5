"""The first frame from the last session, painted before Textual is imported.

Importing Textual alone takes ~0.25-0.35 s on the appliance's CPUs.  So
``tui.start.run`` looks, before it imports Textual,
for the exact first frame an earlier session painted with the same inputs, and paints
it at once (~0.1 s after the process starts).  The cell-diff wire layer
(``tui/console/celldiff.py``) then starts from that screen: when Textual's own first
frame is identical it costs 0 bytes, and any difference is sent as a normal diff.

A stale frame is never shown: the cache key covers everything the first frame depends
on -- the config file's bytes, mode bits and real path, the terminal size, basic/rich
mode, the language, the environment variables Textual, Rich and the app read
(TERM, COLORTERM, NO_COLOR, TEXTUAL_*, LANG, LC_*, ...), and the code
(:func:`code_stamp`: size and mtime of every file of our packages, message catalogs
included, and Textual's and Rich's location and version) -- and an entry is only used
when its key is equal.

One file per config path and mode (``frame-<hash>-<mode>.json``, mode 0600, in a
0700 directory): ``$MAILCONSOLE_FRAME_CACHE`` (a directory; ``off`` disables the
cache), else ``$XDG_CACHE_HOME/mailconsole``, else ``~/.cache/mailconsole``.  The
frame holds what the screen showed (the password field shows only its mask), never
the password itself: the key holds a hash of the file, not its bytes.

Between the pre-paint and Textual's start, the tty has echo and line editing off (as
Textual sets it), so keys typed meanwhile neither garble the frame nor wait for
Enter; Textual then reads them.  The original tty settings are what Textual restores
at exit (``ConsoleDriver`` hands them over); if the app never starts, :meth:`Prepaint.abort`
restores them and leaves the alternate screen.

This module imports neither Textual nor Rich.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from hashlib import sha256
from typing import Any

from tui.console.celldiff import DEFAULT_PEN, WireEncoder, tty_newline
from tui.console.compat import ALT_SCREEN_ON

FORMAT = 1
# Environment variables that may change what the first frame looks like.
_ENV_PREFIXES = ("TEXTUAL", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TTY_",
                 "COLUMNS", "LINES", "LANG", "LC_", "MAILCONSOLE", "CLICOLOR",
                 "JUPYTER", "VSCODE", "PYTHONIOENCODING", "PYTHONUTF8")
# ... except these, which do not change the screen.
_ENV_IGNORED = frozenset({"MAILCONSOLE_FRAME_CACHE", "MAILCONSOLE_STARTUP_LOG"})


# The stamp of the code a screen comes from: equal stamps, same code.
PACKAGES = ("config", "mailer", "mailconsole", "tui")  # ours: every file is in the stamp


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    return "\n".join(out)


def cache_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """Where frames are kept, or None when the cache is off."""
    env = os.environ if environ is None else environ
    chosen = env.get("MAILCONSOLE_FRAME_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else chosen
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if base.startswith("~"):
        return None  # no home directory
    return os.path.join(base, "mailconsole")


def terminal_size() -> tuple[int, int]:
    """(columns, rows) as Textual's LinuxDriver finds them (shutil.get_terminal_size,
    then 80x25 for zeros), without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    try:
        lines = int(os.environ["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if columns <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        columns = columns if columns > 0 else (size.columns or 80)
        lines = lines if lines > 0 else (size.lines or 24)
    return columns or 80, lines or 25


def cache_key(config_path: str, *, mode: str, language: str, size: tuple[int, int],
              ascii_only: bool, extra: str = "") -> tuple[str, str] | None:
    """(file name, key) of the frame for these inputs; None when the config cannot
    be read (the app reports that itself)."""
    from config.errors import ConfigError
    from config.store import read_regular

    real = os.path.realpath(config_path)
    try:  # a regular file only, at most 1 MiB (+1): a FIFO or /dev/zero never hangs
        raw, st = read_regular(real, real)
        content = sha256(raw).hexdigest()
        file_state: list[Any] = [content, st.st_mode, st.st_uid]
    except FileNotFoundError:
        file_state = ["missing"]
    except (OSError, ConfigError):
        return None
    env = sorted((k, v) for k, v in os.environ.items()
                 if k.startswith(_ENV_PREFIXES) and k not in _ENV_IGNORED)
    material = [FORMAT, code_stamp(), real, file_state, mode, language, list(size),
                ascii_only, env, extra]
    key = sha256(json.dumps(material).encode("utf-8", "surrogateescape")).hexdigest()
    name = f"frame-{sha256(real.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"
    return f"{name}-{mode}.json", key


def _encode_cells(rows: list[list[tuple[str, tuple[int, str, str]]]]) -> list[Any]:
    """Rows as runs of [text, attrs, fg, bg] (one pen per run)."""
    out = []
    for row in rows:
        runs: list[list[Any]] = []
        for ch, pen in row:
            if runs and runs[-1][1:] == [pen[0], pen[1], pen[2]] and ch != "":
                runs[-1][0] += ch
            else:
                runs.append([ch, pen[0], pen[1], pen[2]])
        out.append(runs)
    return out


def _decode_cells(rows: list[Any], width: int, height: int) -> list[list[Any]] | None:
    cells: list[list[Any]] = []
    for runs in rows:
        row: list[Any] = []
        for text, attrs, fg, bg in runs:
            pen = (int(attrs), str(fg), str(bg))
            if text == "":
                row.append(("", pen))
            else:
                row.extend((ch, pen) for ch in text)
        if len(row) != width:
            return None
        cells.append(row)
    return cells if len(cells) == height else None


class Prepaint:
    """A frame cache entry for one start: painted (a hit) or to be written (a miss)."""

    def __init__(self, directory: str, name: str, key: str, size: tuple[int, int],
                 mode: str, fd: int = 2) -> None:
        self.directory, self.name, self.key = directory, name, key
        self.size, self.mode, self.fd = size, mode, fd
        self.encoder: WireEncoder | None = None  # set when the frame was painted
        self.saved_attrs: list[Any] | None = None  # the tty settings before ours
        self.adopted = False  # the console driver took over the terminal
        self.bytes_written = 0
        self.storable = True
        self.screen = ""  # the painted bytes (after the alternate-screen switch)

    @property
    def hit(self) -> bool:
        return self.encoder is not None

    @property
    def path(self) -> str:
        return os.path.join(self.directory, self.name)

    # -- hit ---------------------------------------------------------------------------

    def paint(self) -> bool:
        """Paint the cached start-up screen if there is one for this key; True when
        painted.  The bytes are the ones the earlier session sent for its screen
        (mode sequences aside), so the terminal, its pen and its cursor end up
        exactly as the wire layer recorded them."""
        dfd = open_private_dir(self.directory, create=False)
        if dfd is None:
            return False
        try:
            fd = os.open(self.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
            with os.fdopen(fd, encoding="utf-8") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                    return False
                entry = json.load(fh)
        except (OSError, ValueError):
            return False
        finally:
            os.close(dfd)
        if not isinstance(entry, dict) or entry.get("key") != self.key:
            return False
        width, height = self.size
        try:
            state = dict(entry["state"])
            cells = _decode_cells(state["cells"], width, height)
            if cells is None:
                return False
            state["cells"] = cells
            screen = str(entry["screen"])
            self.screen = screen
            encoder = WireEncoder(width, height, newline=tty_newline(0),
                                  bce=self.mode != "basic")
            encoder.set_wire_state(state)
        except (KeyError, TypeError, ValueError, IndexError):
            return False
        self._quiet_tty()
        try:
            payload = (ALT_SCREEN_ON + screen).encode("utf-8")
            view = memoryview(payload)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            self.encoder = encoder  # let abort() leave the alternate screen
            self.abort()
            return False
        self.bytes_written = len(payload)
        encoder.keep_screen_once = True  # Textual's own ?1049h must not clear it
        self.encoder = encoder
        return True

    def recheck(self, config_path: str, **inputs: Any) -> None:
        """After the app loaded the file: if it changed since the frame was chosen
        (a write in between), take a painted frame back before Textual starts, and
        store nothing under the old key."""
        found = cache_key(config_path, **inputs)
        if found is None or found[1] != self.key:
            self.storable = False  # the screen to come is not this key's
            self.abort()

    def _quiet_tty(self) -> None:
        """Echo and line editing off, as Textual will set them (typed keys wait
        for Textual unseen and unprocessed)."""
        try:
            import termios

            attrs = termios.tcgetattr(0)
            quiet: list[Any] = [list(a) if isinstance(a, list) else a for a in attrs]
            quiet[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN)
            quiet[0] &= ~(termios.IXON | termios.IXOFF | termios.ICRNL | termios.INLCR
                          | termios.IGNCR)
            termios.tcsetattr(0, termios.TCSANOW, quiet)
            self.saved_attrs = attrs
        except Exception:  # termios.error, OSError: not a tty after all
            pass

    def abort(self) -> None:
        """The app did not start: leave the alternate screen, restore the tty."""
        if self.adopted or self.encoder is None:
            return
        self.encoder = None
        try:
            os.write(self.fd, b"\x1b[m\x1b[?25h\x1b[?1049l")
        except OSError:
            pass
        self.restore_tty()

    def restore_tty(self) -> None:
        if self.saved_attrs is None:
            return
        try:
            import termios

            termios.tcsetattr(0, termios.TCSANOW, self.saved_attrs)
        except Exception:  # termios.error, OSError: the tty is gone
            pass

    # -- miss: remember the first frame ------------------------------------------------

    def store(self, screen: str, state: dict[str, Any]) -> None:
        """Keep ``screen`` (the bytes a session sent for its start-up screen, mode
        sequences aside) and the wire state after them as this key's frame."""
        if not self.storable:
            return
        cells = state["cells"]
        width, height = self.size
        if len(cells) != height or any(len(row) != width or None in row for row in cells):
            return
        entry = {"key": self.key, "screen": screen,
                 "state": {**state, "cells": _encode_cells(cells)}}
        write_private(self.directory, self.name,
                      json.dumps(entry, separators=(",", ":")).encode("utf-8"))


def open_private_dir(directory: str, create: bool = True) -> int | None:
    """A descriptor of ``directory`` if it is a directory (not a link) of this user with
    mode 0700 -- created so when missing and ``create`` -- else None (no cache).

    Files in it are then opened relative to the descriptor (``dir_fd``): a directory
    swapped for another one or a link after the check is never written into.  A cache
    under another account's home (root with that account's HOME or XDG_CACHE_HOME,
    ``sudo -E``, ``su -m``) is therefore no cache at all."""
    if create:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError:
            return None
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) != 0o700:
        os.close(fd)
        return None
    return fd


def write_private(directory: str, name: str, data: bytes) -> bool:
    """Replace ``name`` in the private ``directory`` with ``data`` (0600, atomic): a
    new temp file (O_EXCL|O_NOFOLLOW: never an existing file or a link), renamed."""
    dfd = open_private_dir(directory)
    if dfd is None:
        return False
    tmp = f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dfd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        return True
    except OSError:
        try:
            os.unlink(tmp, dir_fd=dfd)
        except OSError:
            pass
        return False  # no cache this time: the next start is a cold one
    finally:
        os.close(dfd)


def append_private(name: str, text: str) -> str | None:
    """Append ``text`` to ``name`` in the frame cache's directory (a private one, see
    :func:`open_private_dir`); its path, or None when there is no such directory."""
    directory = cache_dir()
    if directory is None:
        return None
    dfd = open_private_dir(directory)
    if dfd is None:
        return None
    try:
        fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
        return os.path.join(directory, name)
    except OSError:
        return None
    finally:
        os.close(dfd)


def start(config_path: str, *, mode: str, language: str, ascii_only: bool,
          extra: str = "") -> Prepaint | None:
    """Paint the cached first frame for these inputs if there is one.

    Returns the :class:`Prepaint` (``hit`` tells whether it painted; on a miss the
    console driver stores the first frame in it), or None when there is no cache
    (off, not a terminal, unreadable config).
    """
    directory = cache_dir()
    if directory is None or os.environ.get("TEXTUAL"):  # devtools / debug runs
        return None
    try:
        if not (os.isatty(0) and sys.__stderr__ is not None
                and os.isatty(sys.__stderr__.fileno())):
            return None
        fd = sys.__stderr__.fileno()
    except (OSError, ValueError, AttributeError):
        return None
    size = terminal_size()
    found = cache_key(config_path, mode=mode, language=language, size=size,
                      ascii_only=ascii_only, extra=extra)
    if found is None:
        return None
    name, key = found
    prepaint = Prepaint(directory, name, key, size, mode, fd)
    prepaint.paint()
    return prepaint


__all__ = ["DEFAULT_PEN", "Prepaint", "cache_dir", "cache_key", "start", "terminal_size"]
