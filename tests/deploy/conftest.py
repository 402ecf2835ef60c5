"""mailconsole as deployed: deploy/install on this machine, a real account, a real sshd.

``deployed`` (once per test session) runs ``deploy/install`` as root for a uniquely named
system account (``mcd`` + 8 hex digits), with the program, the login shell, the settings
directory and the drop-ins in a temporary tree (``--prefix``/``--bin-dir``/...; every
other step -- useradd, /etc/shells, the home with ``~/.ssh/authorized_keys`` -- is the
real one), and ``deploy/uninstall --purge`` at the end.  ``sshd`` is Debian's OpenSSH on
a loopback port whose configuration includes the installed drop-in exactly as Debian's
sshd_config includes ``sshd_config.d/*.conf`` (at its top), with key login.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tui.console.conftest import REPO, bench

SSHD = "/usr/sbin/sshd"
INSTALL = REPO / "deploy" / "install"
UNINSTALL = REPO / "deploy" / "uninstall"

needs_root_and_sshd = [
    pytest.mark.slow,
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0, reason="deploy/install and sshd need root"),
    pytest.mark.skipif(not (os.path.exists(SSHD) and shutil.which("ssh")
                            and shutil.which("ssh-keygen") and shutil.which("useradd")),
                       reason="needs openssh-server, openssh-client and useradd"),
]


@dataclass
class Deployed:
    base: Path          # the temporary tree (world-readable, as /opt and /etc are)
    user: str
    uid: int
    home: Path
    config: Path        # <config-dir>/mail.toml
    shell: Path         # the installed login shell
    sshd_dropin: Path
    getty_dropin: Path
    client_key: Path
    options: list[str]  # the install options (the same for uninstall)
    install_output: str
    install_seconds: float


def run_install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(INSTALL), *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def deployed() -> Iterator[Deployed]:
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("deploy/install needs root and useradd")
    base = Path(tempfile.mkdtemp(prefix="mailconsole-deploy-", dir="/tmp"))
    base.chmod(0o755)  # the account reaches the program and its settings through it
    user = "mcd" + secrets.token_hex(4)
    keydir = base / "client"
    keydir.mkdir(mode=0o700)
    key = keydir / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    options = ["--user", user, "--prefix", str(base / "opt"), "--bin-dir", str(base / "bin"),
               "--sbin-dir", str(base / "sbin"), "--config-dir", str(base / "etc"),
               "--sshd-dir", str(base / "sshd_config.d"), "--systemd-dir", str(base / "systemd"),
               "--no-reload"]
    started = time.monotonic()
    run = run_install(*options, "--authorized-keys", f"{key}.pub")
    seconds = time.monotonic() - started
    try:
        assert run.returncode == 0, run.stdout + run.stderr
        entry = pwd.getpwnam(user)
        yield Deployed(
            base=base, user=user, uid=entry.pw_uid, home=Path(entry.pw_dir),
            config=base / "etc" / "mail.toml", shell=base / "sbin" / "mailconsole-shell",
            sshd_dropin=base / "sshd_config.d" / "mailconsole.conf",
            getty_dropin=base / "systemd" / "serial-getty@.service.d" / "mailconsole.conf",
            client_key=key, options=options, install_output=run.stdout,
            install_seconds=seconds)
    finally:
        for pid in user_processes_of(user):  # a failed test may leave a session behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        kept = base / "etc" / "mail.toml"
        kept.write_text("[mail]\n")
        gone = subprocess.run([str(UNINSTALL), *options], capture_output=True, text=True,
                              timeout=120)
        try:
            # deploy/uninstall took everything away but the settings, now root's
            assert gone.returncode == 0, gone.stdout + gone.stderr
            try:
                pwd.getpwnam(user)
                raise AssertionError(f"the account {user} is still there")
            except KeyError:
                pass
            leftovers = [p for p in ("opt", "bin/mailconsole", "sbin/mailconsole-shell",
                                     "sshd_config.d/mailconsole.conf",
                                     "systemd/serial-getty@.service.d") if (base / p).exists()]
            assert not leftovers, leftovers
            assert f"{base}/sbin/mailconsole-shell" not in Path("/etc/shells").read_text()
            assert kept.read_text() == "[mail]\n" and kept.stat().st_uid == 0
            assert kept.parent.stat().st_uid == 0
            again = subprocess.run([str(UNINSTALL), *options, "--purge"], capture_output=True,
                                   text=True, timeout=120)
            assert again.returncode == 0 and not kept.parent.exists(), again.stdout  # --purge
        finally:
            shutil.rmtree(base, ignore_errors=True)


def user_processes_of(user: str) -> list[int]:
    """Processes running as ``user`` (real uid), from /proc; zombies (ended, not yet
    reaped by their parent) do not count."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
                found.append(int(entry))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sshd:
    """Debian's sshd on 127.0.0.1:<free port>, including the installed drop-in."""

    def __init__(self, deployed: Deployed) -> None:
        self.deployed = deployed
        self.dir = Path(tempfile.mkdtemp(prefix="sshd-", dir=deployed.base))
        self.port = _free_port()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(self.dir / "host_key")], check=True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        self.conf = self.dir / "sshd_config"
        self.conf.write_text(
            # as Debian's /etc/ssh/sshd_config: the drop-ins first
            f"Include {deployed.sshd_dropin.parent}/*.conf\n"
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.dir / 'host_key'}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes yes\n"
            f"AllowUsers {deployed.user}\nLogLevel VERBOSE\n"
            "Subsystem sftp /usr/lib/openssh/sftp-server\n"  # as Debian's
        )
        subprocess.run([SSHD, "-t", "-f", str(self.conf)], check=True)
        self.log_path = self.dir / "sshd.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("sshd did not start: " + self.log_path.read_text())

    def effective(self, user: str) -> dict[str, str]:
        """``sshd -T`` for a connection of ``user``: directive -> value."""
        out = subprocess.run([SSHD, "-T", "-f", str(self.conf), "-C",
                              f"user={user},host=h,addr=127.0.0.1"],
                             capture_output=True, text=True, check=True).stdout
        pairs = (line.split(None, 1) for line in out.splitlines() if line.strip())
        return {p[0].lower(): (p[1] if len(p) > 1 else "") for p in pairs}

    def ssh_argv(self, *command: str, tty: bool = True) -> list[str]:
        return ["ssh", "-t" if tty else "-T", "-i", str(self.deployed.client_key),
                "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", f"{self.deployed.user}@127.0.0.1", *command]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture
def sshd(deployed: Deployed) -> Iterator[Sshd]:
    server = Sshd(deployed)
    try:
        yield server
    finally:
        server.stop()


def ssh_session(sshd: Sshd, term: str = "vt100") -> bench.PtySession:
    """``ssh -t ADMIN@127.0.0.1`` on an 80x24 pseudo-terminal (the admin's terminal)."""
    env = {"PATH": "/usr/bin:/bin", "TERM": term, "LANG": "C.UTF-8",
           "HOME": str(sshd.dir)}
    return bench.PtySession(sshd.ssh_argv(), env, rows=24, cols=80)
