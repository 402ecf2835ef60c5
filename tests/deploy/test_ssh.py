"""End to end over SSH, as deployed: deploy/install's account, login shell and sshd drop-in,
Debian's sshd on loopback, the OpenSSH client with a key on an 80x24 pseudo-terminal
(TERM=vt100: basic mode), keys as an admin types them.

1. the screen appears; the sender is changed and saved (the diff is shown and
   confirmed): the file has the account as owner and mode 0600; Ctrl+Q ends the SSH
   session (the client exits 0);
2. an edit, then the client is killed (the connection drops): every process of the
   account ends and the file is byte-identical, no temp file left;
3. without a terminal, `ssh ADMIN@host show` prints the settings (also `get KEY`,
   `validate`); anything else (a shell command, sftp) is refused in one line, exit 2.

Each test prints what went over the terminal (bytes, seconds) for docs/console.md.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import stat
import subprocess
import time

import pytest

from tests.deploy.conftest import (
    Deployed,
    Sshd,
    needs_root_and_sshd,
    ssh_session,
    user_processes_of,
)
from tests.tui.console.conftest import bench, screen_of

pytestmark = needs_root_and_sshd

TAB, CTRL_Q, CTRL_S = b"\t", b"\x11", b"\x13"


def _screen(session: bench.PtySession) -> str:
    return "\n".join(screen_of(bytes(session.output), width=80, height=24))


def wait_screen(session: bench.PtySession, pattern: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        session.read(0.1)
        screen = _screen(session)
        if re.search(pattern, screen):
            return screen
        if session.poll() is not None:
            break
    raise AssertionError(f"{pattern!r} not on screen (exit {session.poll()}):\n{screen}\n"
                         f"{bytes(session.output)[-400:]!r}")


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _step(session: bench.PtySession, log: list[str], name: str, keys: bytes,
          pattern: str) -> str:
    before, started = len(session.output), time.monotonic()
    session.send(keys)
    screen = wait_screen(session, pattern)
    session.settle(quiet=0.3, timeout=5, need_bytes=False)
    log.append(f"{name}: {len(keys)} B sent, {len(session.output) - before} B back, "
               f"on screen after {time.monotonic() - started:.2f} s")
    return screen


def test_the_deployed_account_edits_saves_with_its_owner_and_quitting_ends_ssh(
        deployed: Deployed, sshd: Sshd):
    assert sshd.effective(deployed.user)["forcecommand"] == str(deployed.shell)
    deployed.config.write_text('# the sender\n[mail]\nsender = "old@example.com"\n')
    os.chown(deployed.config, deployed.uid, pwd.getpwnam(deployed.user).pw_gid)
    os.chmod(deployed.config, 0o640)  # the save keeps the file's mode
    log: list[str] = []
    session = ssh_session(sshd)
    try:
        wait_screen(session, r"Sender address\s+old@example\.com")
        session.settle(quiet=0.5, timeout=10, need_bytes=False)
        first = session.first_byte_at - session.started if session.first_byte_at else -1
        log.append(f"login to first byte {first:.2f} s; first screen "
                   f"{len(session.output)} B in {time.monotonic() - session.started:.2f} s")
        assert max(session.output) < 0x80, "basic mode over SSH with TERM=vt100: ASCII"
        _step(session, log, "Tab", TAB, r"Sender address")
        _step(session, log, "type new@example.com", b"new@example.com",
              r"Sender address\s+new@example\.com")
        screen = _step(session, log, "Ctrl+S", CTRL_S,
                       r"old@example\.com -> new@example\.com"
                       r"|\+\s*sender\s*=\s*\"new@example\.com\"")
        assert "old@example.com" in deployed.config.read_text(), "nothing written yet"
        confirm = b"s" if "Save (s)" in screen else b"y"  # the dialog's save key
        _step(session, log, "confirm", confirm, r"Sender address")
        assert _wait(lambda: "new@" in deployed.config.read_text(), 10), _screen(session)
        st = deployed.config.stat()
        assert (st.st_uid, st.st_gid) == (deployed.uid, pwd.getpwnam(deployed.user).pw_gid), \
            "saved by the account, owned by it"
        assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
        assert deployed.config.read_text() == '# the sender\n[mail]\nsender = "new@example.com"\n'
        backup = deployed.config.with_name("mail.toml.bak")
        assert backup.stat().st_uid == deployed.uid and stat.S_IMODE(backup.stat().st_mode) == 0o640
        before, started = len(session.output), time.monotonic()
        session.send(CTRL_Q)
        code = session.wait(10)
        log.append(f"Ctrl+Q: session ended after {time.monotonic() - started:.2f} s, "
                   f"{len(session.output) - before} B back, ssh exit {code}")
        assert code == 0, bytes(session.output)[-300:]
        assert _wait(lambda: not user_processes_of(deployed.user), 5)
    finally:
        session.close()
    print("\n[ssh save]", "; ".join(log))


def test_a_dropped_connection_ends_the_console_and_leaves_the_file_as_it_was(
        deployed: Deployed, sshd: Sshd):
    subprocess.run(["su", deployed.user, "-c", "show"], check=True, capture_output=True)
    deployed.config.write_text('[mail]\nsender = "kept@example.com"\n')
    os.chown(deployed.config, deployed.uid, pwd.getpwnam(deployed.user).pw_gid)
    os.chmod(deployed.config, 0o600)
    before = deployed.config.read_bytes()
    session = ssh_session(sshd)
    try:
        wait_screen(session, r"Sender address\s+kept@example\.com")
        session.send(TAB)
        session.settle(quiet=0.3, timeout=5)
        session.send(b"dropped@example.com")
        wait_screen(session, r"dropped@example\.com")
        assert user_processes_of(deployed.user), "the console runs as the account"
        started = time.monotonic()
        os.kill(session.proc.pid, signal.SIGKILL)  # the client dies: the TCP connection drops
        assert _wait(lambda: not user_processes_of(deployed.user), 10), \
            "the remote console did not end"
        ended = time.monotonic() - started
    finally:
        session.close()
    assert deployed.config.read_bytes() == before
    leftovers = [p.name for p in deployed.config.parent.iterdir()
                 if p.name not in ("mail.toml", "mail.toml.lock", "mail.toml.bak")]
    assert not leftovers, leftovers
    print(f"\n[ssh drop] the account's processes ended {ended:.2f} s after the client died")


def test_without_a_terminal_only_the_read_only_commands_run(deployed: Deployed, sshd: Sshd):
    deployed.config.write_text('[mail]\nsender = "ro@example.com"\n')
    os.chown(deployed.config, deployed.uid, pwd.getpwnam(deployed.user).pw_gid)
    before = deployed.config.read_bytes()

    def ssh(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(sshd.ssh_argv(*command, tty=False), capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)

    show = ssh("show")
    assert show.returncode == 0, show.stderr
    assert 'mail.sender = "ro@example.com"' in show.stdout
    assert '"mail.sender": "ro@example.com"' in ssh("show", "--json").stdout
    get = ssh("get", "mail.sender")
    assert (get.returncode, get.stdout) == (0, "ro@example.com\n"), get
    assert ssh("validate").returncode in (0, 1)
    for refused in (("set", "mail.sender=x@example.com"), ("cat", "/etc/passwd"),
                    ("show;id",), ("get", "--config", "/etc/shadow"), ()):
        run = ssh(*refused)
        assert run.returncode == 2, (refused, run)
        assert run.stdout == "", (refused, run.stdout)
        assert "needs a terminal" in run.stderr and len(run.stderr.splitlines()) == 1, run
    sftp = subprocess.run(["ssh", *sshd.ssh_argv(tty=False)[1:-1], "-s",
                           f"{deployed.user}@127.0.0.1", "sftp"], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert sftp.returncode == 2, sftp
    assert deployed.config.read_bytes() == before


@pytest.mark.parametrize("command", ["su {user} -c 'get mail.sender'"])
def test_su_runs_the_login_shell_with_the_same_rules(deployed: Deployed, command: str):
    deployed.config.write_text('[mail]\nsender = "su@example.com"\n')
    os.chown(deployed.config, deployed.uid, pwd.getpwnam(deployed.user).pw_gid)
    run = subprocess.run(command.format(user=deployed.user), shell=True, capture_output=True,
                         text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (run.returncode, run.stdout) == (0, "su@example.com\n"), run
    shell = subprocess.run(["su", deployed.user, "-c", "id"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
    assert shell.returncode == 2 and "uid=" not in shell.stdout, shell
