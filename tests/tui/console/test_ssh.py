"""End to end over SSH: Debian's OpenSSH sshd on loopback with deploy/sshd/mailconsole.conf's
Match block (ForceCommand), `ssh -tt` inside tmux at 80x24, keys as an admin types them.

1. change the sender, save (the diff is shown and confirmed), quit: the file on disk has
   the new sender and keeps its comments;
2. edit the sender, then kill the ssh client (the connection drops): the console ends and
   the file is byte-identical to before.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from config.service import SettingsService
from tests.tui.console.conftest import REPO, bench

SSHD = "/usr/sbin/sshd"
MAILCONSOLE = REPO / ".venv" / "bin" / "mailconsole"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0, reason="sshd with its privilege separation needs root"),
    pytest.mark.skipif(not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("tmux")
                            and shutil.which("ssh-keygen")),
                       reason="needs openssh-server, openssh-client and tmux"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _match_block(config: Path) -> str:
    """deploy/sshd/mailconsole.conf for the test: our user, our mailconsole, our file."""
    text = (REPO / "deploy" / "sshd" / "mailconsole.conf").read_text()
    user = os.environ.get("USER") or "root"
    text = text.replace("Match User mailadmin", f"Match User {user}")
    text, n = re.subn(r"ForceCommand .*", f"ForceCommand {MAILCONSOLE} --config {config}", text)
    assert n == 1
    return text


class Sshd:
    def __init__(self, tmp: Path, config: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp / "host_key")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp / "client_key")], check=True)
        shutil.copy(tmp / "client_key.pub", tmp / "authorized_keys")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        conf = tmp / "sshd_config"
        conf.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {tmp / 'host_key'}\n"
            f"PidFile {tmp / 'sshd.pid'}\nAuthorizedKeysFile {tmp / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            "StrictModes no\nUsePAM no\nLogLevel ERROR\n"
            # the frame cache (tui/console/frame_cache.py) in the test's directory, not ~/.cache
            f"SetEnv PATH=/usr/bin:/bin MAILCONSOLE_FRAME_CACHE={tmp / 'frames'}\n\n"
            f"{_match_block(config)}"
        )
        subprocess.run([SSHD, "-t", "-f", str(conf)], check=True)
        self.log = open(tmp / "sshd.log", "wb")  # closed in stop()
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("sshd did not start: " + (tmp / "sshd.log").read_text())

    def ssh_command(self) -> str:
        return (f"exec ssh -tt -i {self.tmp / 'client_key'} -p {self.port} "
                "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                "-o BatchMode=yes -o LogLevel=ERROR "
                f"{os.environ.get('USER') or 'root'}@127.0.0.1")

    def children(self) -> list[int]:
        """Processes below our sshd (its sessions and what they run)."""
        parents = {pid: ppid for pid, (ppid, _state) in bench.process_table().items()}
        found: list[int] = []
        frontier = [self.proc.pid]
        while frontier:
            pid = frontier.pop()
            kids = [p for p, pp in parents.items() if pp == pid]
            found += kids
            frontier += kids
        return found

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


class Tmux:
    """A private tmux server (own socket) with one 80x24 window."""

    def __init__(self, tmp: Path) -> None:
        self.sock = str(tmp / "tmux.sock")

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.sock, *args], check=True,
                              capture_output=True, text=True).stdout

    def start(self, command: str) -> int:
        self.run("new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command)
        self.run("set-option", "-t", "t", "remain-on-exit", "on")
        return int(self.run("list-panes", "-t", "t", "-F", "#{pane_pid}").strip())

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_for(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not on screen:\n{screen}")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def pane_dead(self) -> bool:
        return self.run("list-panes", "-t", "t", "-F", "#{pane_dead}").strip() == "1"

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True)


@pytest.fixture
def ssh_setup(tmp_path):
    config = tmp_path / "mail.toml"
    service = SettingsService(config)
    service.save(service.load().with_values({"mail.sender": "old@example.com"}))
    sshd = Sshd(tmp_path, config)
    tmux = Tmux(tmp_path)
    try:
        yield sshd, tmux, config
    finally:
        tmux.kill()
        sshd.stop()


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_over_ssh_a_saved_sender_reaches_the_file_and_a_dropped_connection_changes_nothing(
        ssh_setup):
    sshd, tmux, config = ssh_setup

    # -- 1. edit, save with the diff confirmed, quit ------------------------------------
    tmux.start(sshd.ssh_command())
    tmux.wait_for(r"Sender address")
    tmux.keys("Tab")                      # internal/external -> sender (text selected)
    time.sleep(0.3)
    tmux.keys("new@example.com", literal=True)
    tmux.wait_for(r"new@example\.com")
    tmux.keys("C-s")                      # save: shows the diff and asks
    screen = tmux.wait_for(r"\+\s*sender\s*=\s*\"new@example\.com\"")
    assert re.search(r"-\s*sender\s*=\s*\"old@example\.com\"", screen), screen
    assert config.read_text().count("old@example.com") == 1  # nothing written yet
    tmux.keys("y")                        # confirm
    assert _wait(lambda: "new@example.com" in config.read_text(), 10), tmux.screen()
    tmux.keys("C-q")                      # quit (nothing unsaved)
    assert _wait(tmux.pane_dead, 10), tmux.screen()
    text = config.read_text()
    assert 'sender = "new@example.com"' in text
    assert "# Sender (From) address" in text  # comments kept
    tmux.kill()

    # -- 2. edit without saving, then the connection drops -----------------------------
    before = config.read_bytes()
    tmux = Tmux(sshd.tmp)
    ssh_pid = tmux.start(sshd.ssh_command())
    tmux.wait_for(r"Sender address")
    tmux.keys("Tab")
    time.sleep(0.3)
    tmux.keys("dropped@example.com", literal=True)
    tmux.wait_for(r"dropped@example\.com")
    assert any("mailconsole" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
               for p in sshd.children() if Path(f"/proc/{p}").exists())
    os.kill(ssh_pid, signal.SIGKILL)      # the client dies: the TCP connection drops
    assert _wait(lambda: not sshd.children(), 15), "the remote console did not end"
    assert config.read_bytes() == before
    assert not list(config.parent.glob("*.tmp*")), "no half-written temp file left"
