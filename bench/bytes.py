#!/usr/bin/env python3
"""Bytes on the wire: mailconsole (basic and rich mode) against `dialog --form`.

Runs each program on a pseudo-terminal of 80x24 that answers no terminal queries (as a
serial line), sends keys, and counts the bytes the program writes for each step:

  first paint    everything until the screen settles after start-up
  focus move     one Tab (dialog: Down, its next-field key)
  char typed     one character typed into a text field
  toggle         Space on a checkbox (dialog --form has none)
  idle           the bytes written during N seconds of doing nothing

Usage:
  .venv/bin/python bench/bytes.py            # table
  .venv/bin/python bench/bytes.py --json     # for tests
  .venv/bin/python bench/bytes.py --only basic --idle 2

Bytes are deterministic for a given screen; times are not, so only the table shows
them.  The pty's output processing is on (as on a real tty): each LF costs CR LF.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"

TAB = b"\t"
DOWN = b"\x1b[B"
SPACE = b" "
CTRL_Q = b"\x11"


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _make_controlling_tty() -> None:  # runs in the child between fork and exec
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtySession:
    """A program on a pseudo-terminal; collects everything it writes."""

    def __init__(self, argv: list[str], env: dict[str, str], *, rows: int = 24,
                 cols: int = 80, cwd: str | None = None) -> None:
        self.master, slave = os.openpty()
        set_winsize(slave, rows, cols)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            preexec_fn=_make_controlling_tty, close_fds=True,
        )
        os.close(slave)
        self.output = bytearray()
        self.first_byte_at: float | None = None
        self.rusage = None
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code once the program ended (reaped here, to keep its rusage)."""
        if self.returncode is None:
            pid, status, rusage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self.proc.returncode = self.returncode
                self.rusage = rusage
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < end:
            self.read(0.05)
        return self.returncode

    def read(self, timeout: float) -> bytes:
        """What arrives within ``timeout`` seconds (b"" on none or EOF)."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program closed the terminal
            return b""
        if data and self.first_byte_at is None:
            self.first_byte_at = time.monotonic()
        self.output += data
        return data

    def settle(self, quiet: float = 0.6, timeout: float = 20.0, *, need_bytes: bool = True
               ) -> bytes:
        """Read until nothing arrived for ``quiet`` seconds (after the first byte if
        ``need_bytes``); return what was read."""
        got = bytearray()
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            data = self.read(0.05)
            now = time.monotonic()
            if data:
                got += data
                last = now
            elif (got or not need_bytes) and now - last >= quiet:
                break
            elif self.poll() is not None:
                break
        return bytes(got)

    def collect(self, seconds: float) -> bytes:
        got = bytearray()
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            got += self.read(min(left, 0.1))
        return bytes(got)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self, quit_keys: bytes = b"", timeout: float = 5.0) -> int | None:
        """Quit with ``quit_keys``; hang up (SIGHUP) if that does not end it."""
        if self.poll() is None and quit_keys:
            try:
                self.send(quit_keys)
            except OSError:
                pass
            self.wait(timeout)
        if self.poll() is None:
            self.proc.send_signal(signal.SIGHUP)
            if self.wait(timeout) is None:
                self.proc.kill()
                self.wait(timeout)
        try:
            os.close(self.master)
        except OSError:
            pass
        return self.returncode


def app_env(term: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEXTUAL", "COLUMNS", "LINES", "NO_COLOR", "COLORTERM"))}
    env.pop("TERM", None)
    if term is not None:
        env["TERM"] = term
    env["PYTHONPATH"] = str(REPO)
    env.setdefault("LANG", "C.UTF-8")
    # No frame cache (tui/console/frame_cache.py) unless asked for: every start is a cold one,
    # and nothing is written to the user's ~/.cache.
    env["MAILCONSOLE_FRAME_CACHE"] = "off"
    env.update(extra or {})
    return env


def app_argv(config: Path, mode: str | None) -> list[str]:
    argv = [str(PYTHON), str(REPO / "bench" / "bytes.py"), "--child", str(config)]
    if mode:
        argv += ["--mode", mode]
    return argv


def child(config: str, mode: str | None) -> int:
    """Run the real app exactly as `mailconsole` does (tui.start.run)."""
    sys.path.insert(0, str(REPO))
    from tui.start import run

    return run(config, mode=mode)


@dataclass
class Result:
    name: str
    steps: dict[str, int] = field(default_factory=dict)
    first_paint_s: float | None = None
    frames: list[bytes] = field(default_factory=list)


def measure_app(mode: str, term: str, *, idle: float, workdir: Path,
                keep_output: bool = False) -> Result:
    """The app in ``mode`` under TERM=``term``: bytes per step."""
    config = workdir / f"mail-{mode}.toml"
    if config.exists():
        config.unlink()
    session = PtySession(app_argv(config, mode), app_env(term), cwd=str(REPO))
    result = Result(f"mailconsole {mode} (TERM={term})")
    try:
        paint = session.settle(quiet=1.5, timeout=30)
        result.steps["first paint"] = len(paint)
        result.frames.append(paint)
        if session.first_byte_at is not None:
            result.first_paint_s = session.first_byte_at - session.started
        # Focus starts on the first field (internal/external); the order is
        # relay -> sender -> sender name -> HTML checkbox.
        for label, keys in (
            ("focus move", TAB),        # relay -> sender (a text field)
            ("(end)", b"\x1b[F"),       # End: to the end of the address (not counted)
            ("char typed", b"x"),       # pbx@example.com -> ...comx (still valid)
            ("focus move 2", TAB),      # -> sender name
            ("focus move 3", TAB),      # -> HTML checkbox
            ("toggle", SPACE),          # tick it
        ):
            session.send(keys)
            got = session.settle(quiet=0.5, timeout=10)
            if not label.startswith("("):
                result.steps[label] = len(got)
            result.frames.append(got)
        result.steps["idle"] = len(session.collect(idle))
    finally:
        session.close(quit_keys=b"\x1b")  # Escape: quit (it asks: unsaved changes)
    if not keep_output:
        result.frames = []
    return result


DIALOG_FIELDS = [
    ("Mail server", "internal"), ("Sender", "noreply@example.com"),
    ("Display name", ""), ("HTML e-mails", "yes"), ("SMTP server", ""),
    ("Security", "STARTTLS"), ("Verify certs", "yes"), ("Authentication", "yes"),
    ("SMTP after POP3", "no"), ("POP3 server", ""), ("User name", ""), ("Password", ""),
]


def measure_dialog(term: str, *, idle: float) -> Result:
    argv = ["dialog", "--title", "Mail-Server", "--form", "Admin > Server > Mail-Server",
            "24", "80", "16"]
    for row, (label, value) in enumerate(DIALOG_FIELDS, start=1):
        argv += [label + ":", str(row), "2", value, str(row), "20", "40", "0"]
    session = PtySession(argv, app_env(term))
    result = Result(f"dialog --form (TERM={term})")
    try:
        paint = session.settle(timeout=10)
        result.steps["first paint"] = len(paint)
        if session.first_byte_at is not None:
            result.first_paint_s = session.first_byte_at - session.started
        # vt100 terminfo puts the keypad in application mode (ESC [ ? 1 h): the
        # terminal then sends ESC O B for Down.
        down = b"\x1bOB" if b"\x1b[?1h" in session.output else DOWN
        for label, keys in (("focus move", down), ("char typed", b"x"),
                            ("focus move 2", down), ("focus move 3", down)):
            session.send(keys)
            result.steps[label] = len(session.settle(quiet=0.5, timeout=10))
        result.steps["idle"] = len(session.collect(idle))
    finally:
        session.close(quit_keys=b"\x1b\x1b")
    return result


COLUMNS = ["first paint", "focus move", "char typed", "focus move 2", "focus move 3",
           "toggle", "idle"]


def run_all(only: str | None, idle: float) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="mailconsole-bytes-") as tmp:
        work = Path(tmp)
        if only in (None, "basic"):
            results.append(measure_app("basic", "vt100", idle=idle, workdir=work))
        if only in (None, "rich"):
            results.append(measure_app("rich", "xterm-256color", idle=idle, workdir=work))
        if only in (None, "dialog") and shutil.which("dialog"):
            results.append(measure_dialog("vt100", idle=idle))
            results.append(measure_dialog("xterm-256color", idle=idle))
    return results


def print_table(results: list[Result], idle: float) -> None:
    head = ["case"] + [c if c != "idle" else f"idle {idle:g}s" for c in COLUMNS] + ["1st byte"]
    rows = [head]
    for r in results:
        cells = [r.name] + [str(r.steps[c]) if c in r.steps else "-" for c in COLUMNS]
        cells.append(f"{r.first_paint_s:.2f}s" if r.first_paint_s is not None else "-")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--only", choices=["basic", "rich", "dialog"])
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds (default 5)")
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.mode)
    results = run_all(args.only, args.idle)
    if args.json:
        print(json.dumps([{"name": r.name, "steps": r.steps, "first_byte_s": r.first_paint_s}
                          for r in results], indent=2))
    else:
        print_table(results, args.idle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
