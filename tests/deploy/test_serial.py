"""The serial console as deployed: the installed serial-getty drop-in's agetty line
(autologin of deploy/install's account, TERM=vt100) on a real pseudo-terminal pair,
its output drained at 9600 baud (960 bytes/s, as a serial line delivers it).

Line noise while an edit is unsaved -- lone C1 bytes, random bytes >= 0x80, cut-off
escape sequences, NUL and BREAK -- one run at a time: after each, the console is alive
and Ctrl+L repaints the whole screen; at the end the unsaved edit is still on screen.
Then the line drops (the master side closes: SIGHUP to the getty's session): the
console ends within 2 s and the file is as it was.  tests/tui/console/test_line.py has
the end of input without SIGHUP (a session of its own).

Prints the counts (bytes injected, runs, survivals) and the times for docs/console.md.
"""

from __future__ import annotations

import os
import pwd
import random
import re
import select
import shlex
import subprocess
import termios
import threading
import time

from tests.deploy.conftest import Deployed, needs_root_and_sshd, user_processes_of
from tests.tui.console.conftest import bench, screen_of

pytestmark = needs_root_and_sshd

BAUD = 9600
BYTES_PER_SECOND = BAUD // 10  # 8N1: ten bits a byte
CTRL_L = b"\x0c"


class SerialLine:
    """The master side of a pty, read at 9600 baud by a thread; the slave side is the
    'serial port' agetty opens."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        bench.set_winsize(slave, 0, 0)  # a serial line reports no size
        self.tty = os.ttyname(slave)
        os.close(slave)
        self.output = bytearray()
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self.closed:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 96)  # 0.1 s of line time
            except OSError:  # EIO while nobody has the slave open (agetty's vhangup)
                time.sleep(0.05)
                continue
            with self.lock:
                self.output += data
            time.sleep(len(data) / BYTES_PER_SECOND)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def size(self) -> int:
        with self.lock:
            return len(self.output)

    def screen(self) -> str:
        with self.lock:
            out = bytes(self.output)
        return "\n".join(screen_of(out, width=80, height=24))

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not on the serial screen:\n{screen}")

    def quiet(self, seconds: float = 0.6, timeout: float = 20) -> None:
        """Wait until nothing arrived for ``seconds``."""
        deadline = time.monotonic() + timeout
        last, seen = time.monotonic(), self.size()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.size()
            if now != seen:
                last, seen = time.monotonic(), now
            elif time.monotonic() - last >= seconds:
                return

    def close(self) -> None:
        """Close the master side (after the reader let go of it: a descriptor another
        thread is blocked reading stays open)."""
        if self.closed:
            return
        self.closed = True
        self.thread.join(5)
        try:
            os.close(self.master)
        except OSError:
            pass


def getty_argv(deployed: Deployed, tty: str) -> list[str]:
    """The installed drop-in's ExecStart (the second one; the first resets Debian's),
    unescaped as systemd does, on ``tty`` with TERM=vt100 and 9600 baud."""
    lines = re.findall(r"^ExecStart=(.*)$", deployed.getty_dropin.read_text(), re.M)
    assert lines[0] == "" and lines[1].startswith("-/sbin/agetty ")
    argv = shlex.split(lines[1][1:].replace("\\\\", "\\"))
    assert argv[-2:] == ["-", "$TERM"], argv
    assert f"--autologin={deployed.user}" in argv or deployed.user in argv
    i = argv.index("--keep-baud")
    argv[i + 1] = str(BAUD)
    return [*argv[:-2], "--noclear", tty[len("/dev/"):], "vt100"]


def _noise(rng: random.Random, kind: str) -> list[bytes]:
    """One run of noise: a list of writes (each reaches the app as a read of its own)."""
    if kind == "lone C1":
        return [bytes([rng.choice((0x85, 0x9B, 0x80, 0x9F, 0x8F, 0x90))]) for _ in range(8)]
    if kind == "random high":
        return [bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randrange(1, 64)))
                for _ in range(4)]
    if kind == "cut-off escape":
        return [rng.choice((b"\x1b[", b"\x1b[1;", b"\x1b[?10", b"\x1bO", b"\x1b[2",
                            b"\x1b]0;ti", b"\x1bP", b"\x1b[<0;", b"\xc3", b"\xe2\x82"))
                for _ in range(6)]
    if kind == "NUL/BREAK":
        return [b"\x00" * rng.randrange(1, 8) for _ in range(4)]
    raise AssertionError(kind)


KINDS = ("lone C1", "random high", "cut-off escape", "NUL/BREAK")
RUNS = 12


def test_serial_console_survives_line_noise_and_a_dropped_line_changes_nothing(
        deployed: Deployed):
    gid = pwd.getpwnam(deployed.user).pw_gid
    deployed.config.write_text('[mail]\nsender = "serial@example.com"\n')
    os.chown(deployed.config, deployed.uid, gid)
    os.chmod(deployed.config, 0o600)
    before = deployed.config.read_bytes()
    line = SerialLine()
    getty = subprocess.Popen(getty_argv(deployed, line.tty),
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                             start_new_session=True)
    log: list[str] = []
    try:
        started = time.monotonic()
        line.wait_for(r"Sender address\s+serial@example\.com", timeout=60)
        line.quiet()
        log.append(f"getty to settled first screen {time.monotonic() - started:.1f} s, "
                   f"{line.size()} B (banner and login included) at {BAUD} baud")
        assert user_processes_of(deployed.user), "the console runs as the account"
        line.send(b"\t")  # to the sender address (its text selected)
        line.quiet(0.4)
        line.send(b"\x1b[F")  # End
        line.quiet(0.4)
        line.send(b"-edited")
        line.wait_for(r"serial@example\.com-edited")
        line.send(b"\t\t")  # on to the HTML check box: noise typed there edits nothing
        line.quiet(0.4)
        rng = random.Random(13)
        injected = survived = 0
        for run in range(RUNS):
            kind = KINDS[run % len(KINDS)]
            for chunk in _noise(rng, kind):
                if kind == "NUL/BREAK":
                    termios.tcsendbreak(line.master, 0)  # a pty ignores it; NULs stand in
                line.send(chunk)
                injected += len(chunk)
                time.sleep(0.02)
            line.quiet(0.4)
            mark = line.size()
            line.send(CTRL_L)
            line.quiet(0.5)
            with line.lock:
                repaint = bytes(line.output[mark:])
            alive = getty.poll() is None and bool(user_processes_of(deployed.user))
            if alive and b"\x1b[2J" in repaint and len(repaint) > 500:
                survived += 1
            else:
                raise AssertionError(f"run {run} ({kind}) killed the console:\n"
                                     f"{line.screen()}\n{repaint[-300:]!r}")
        screen = line.screen()
        for _ in range(3):  # noise may have opened the help (F1 is ESC O P): close it
            if "(Esc)" not in screen or "Cancel" in screen:
                break
            line.send(b"\x1b")
            line.quiet(0.5)
            screen = line.screen()
        assert "[modified]" in screen and "serial@example.com-edited" in screen, screen
        assert "Traceback" not in screen
        log.append(f"noise: {RUNS} runs ({', '.join(KINDS)}), {injected} B injected, "
                   f"{survived} survived, the unsaved edit kept")
        # the line drops: the master side closes (the kernel hangs the session up)
        line.close()
        dropped = time.monotonic()
        ended = None
        while time.monotonic() - dropped < 5:
            if not user_processes_of(deployed.user):
                ended = time.monotonic() - dropped
                break
            time.sleep(0.05)
        assert ended is not None and ended < 2.0, ended
        log.append(f"line dropped: the console ended after {ended:.2f} s")
    finally:
        line.close()
        if getty.poll() is None:
            getty.kill()
        getty.wait(5)
    assert deployed.config.read_bytes() == before
    print("\n[serial]", "; ".join(log))
