"""deploy/install and what it installs: the account, the login shell, the settings
directory, the sshd and serial-getty drop-ins (accepted by the real sshd and systemd);
a second run changes nothing; deploy/uninstall takes it away."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import (
    Deployed,
    Sshd,
    needs_root_and_sshd,
    run_install,
)
from tests.tui.console.conftest import REPO

SSHD_CONF = REPO / "deploy" / "sshd" / "mailconsole.conf"
GETTY_CONF = REPO / "deploy" / "systemd" / "serial-getty@.service.d" / "mailconsole.conf"
GETTY_UNIT = Path("/lib/systemd/system/serial-getty@.service")
SHELL = REPO / "deploy" / "mailconsole-shell"


def _directives(text: str) -> dict[str, str]:
    pairs = (line.split(None, 1) for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.lower(): v.strip() for k, v in pairs}


def test_the_sshd_drop_in_forces_the_login_shell_and_forbids_forwarding():
    d = _directives(SSHD_CONF.read_text())
    assert d["match"] == "User mailadmin"
    assert d["forcecommand"] == "/usr/local/sbin/mailconsole-shell"
    assert d["permittty"] == "yes"
    for key in ("allowtcpforwarding", "x11forwarding", "allowagentforwarding", "permittunnel",
                "allowstreamlocalforwarding", "permituserrc"):
        assert d[key] == "no", key


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/sshd"),
                    reason="sshd -t needs root and openssh-server")
def test_sshd_accepts_the_drop_in_and_applies_it_to_the_admin_only(tmp_path):
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    conf = tmp_path / "sshd_config"
    conf.write_text(f"HostKey {key}\nUsePAM no\n\n" + SSHD_CONF.read_text())
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    run = subprocess.run(["/usr/sbin/sshd", "-t", "-f", str(conf)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run(["/usr/sbin/sshd", "-T", "-f", str(conf), "-C",
                          "user=mailadmin,host=h,addr=127.0.0.1"],
                         capture_output=True, text=True, check=True)
    eff = _directives(run.stdout)
    assert eff["allowtcpforwarding"] == "no" and eff["x11forwarding"] == "no"
    assert eff["forcecommand"] == "/usr/local/sbin/mailconsole-shell"
    other = subprocess.run(["/usr/sbin/sshd", "-T", "-f", str(conf), "-C",
                            "user=someone,host=h,addr=127.0.0.1"],
                           capture_output=True, text=True, check=True)
    assert _directives(other.stdout).get("forcecommand", "none") == "none", "others untouched"


@pytest.mark.skipif(not (shutil.which("systemd-analyze") and GETTY_UNIT.exists()),
                    reason="needs systemd-analyze and Debian's serial-getty@.service")
def test_systemd_accepts_the_serial_getty_drop_in(tmp_path):
    shutil.copy(GETTY_UNIT, tmp_path / GETTY_UNIT.name)
    dropins = tmp_path / "serial-getty@ttyS9.service.d"
    dropins.mkdir()
    shutil.copy(GETTY_CONF, dropins / GETTY_CONF.name)
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    run = subprocess.run(["systemd-analyze", "verify", "serial-getty@ttyS9.service"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mailconsole.conf" not in run.stdout + run.stderr  # no warning about our file


def test_the_getty_drop_in_resets_execstart_and_logs_the_admin_in_under_vt100():
    text = GETTY_CONF.read_text()
    exec_lines = re.findall(r"^ExecStart=(.*)$", text, re.M)
    assert exec_lines[0] == "", "the drop-in must reset Debian's ExecStart first"
    assert "--autologin mailadmin" in exec_lines[1]
    assert "TERM=vt100" in text


def _shell_requests(tmp_path: Path, *argv: str, original: str | None = None) -> list[str]:
    """What the login shell executes for ``argv`` (and SSH_ORIGINAL_COMMAND): the shell
    with mailconsole replaced by a stand-in that prints its arguments."""
    fake = tmp_path / "mailconsole"
    fake.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    fake.chmod(0o755)
    shell = tmp_path / "shell"
    shell.write_text(re.sub(r"(?m)^MAILCONSOLE=.*$", f"MAILCONSOLE={fake}", SHELL.read_text()))
    env = {"PATH": "/usr/bin:/bin"}
    if original is not None:
        env["SSH_ORIGINAL_COMMAND"] = original
    out = subprocess.run(["/bin/sh", str(shell), *argv], capture_output=True, text=True,
                         env=env, check=True).stdout
    return out.split("|")[:-1]


@pytest.mark.parametrize(("argv", "original", "runs"), [
    ((), None, []),                                           # login (serial console)
    (("-c", "/usr/local/sbin/mailconsole-shell"), None, []),  # ForceCommand, ssh -t
    (("-c", "x"), "show", ["show"]),
    (("-c", "x"), "show --json", ["show", "--json"]),
    (("-c", "x"), "validate  --json", ["validate", "--json"]),
    (("-c", "x"), "get mail.smtp.server", ["get", "mail.smtp.server"]),
    (("-c", "x"), "get --config=/etc/shadow", []),
    (("-c", "x"), "get mail.sender extra", []),
    (("-c", "x"), "get *", []),
    (("-c", "x"), "show; id", []),
    (("-c", "x"), "set mail.sender=a@b.c", []),
    (("-c", "x"), "bash", []),
    (("-c", "x"), "internal-sftp", []),
    (("-c", "get mail.relay"), None, ["get", "mail.relay"]),  # su ADMIN -c '...'
    (("-c", "rm -rf /"), None, []),
])
def test_the_login_shell_runs_the_screen_or_a_read_only_command_never_a_command_line(
        tmp_path, argv, original, runs):
    args = _shell_requests(tmp_path, *argv, original=original)
    assert args == ["--config", "/etc/mailconsole/mail.toml", *runs]


def test_the_login_shell_is_executable_and_plain_sh():
    assert os.access(SHELL, os.X_OK)
    assert SHELL.read_text().startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(SHELL)], check=True)


# -- deploy/install as root --------------------------------------------------------

class TestInstalled:
    pytestmark = needs_root_and_sshd

    def test_the_account_has_the_login_shell_and_no_password(self, deployed: Deployed):
        entry = pwd.getpwnam(deployed.user)
        assert entry.pw_shell == str(deployed.shell)
        assert entry.pw_uid < 1000, "a system account"
        assert str(deployed.shell) in Path("/etc/shells").read_text().splitlines()
        shadow = subprocess.run(["getent", "shadow", deployed.user], capture_output=True,
                                text=True, check=True).stdout.split(":")
        assert shadow[1] == "*", "no password, not locked (key login works)"
        keys = deployed.home / ".ssh" / "authorized_keys"
        assert keys.stat().st_uid == entry.pw_uid and stat.S_IMODE(keys.stat().st_mode) == 0o600
        assert stat.S_IMODE(keys.parent.stat().st_mode) == 0o700

    def test_the_settings_directory_belongs_to_the_account(self, deployed: Deployed):
        st = deployed.config.parent.stat()
        assert st.st_uid == deployed.uid and stat.S_IMODE(st.st_mode) == 0o750

    def test_the_installed_files_name_the_account_and_the_paths(self, deployed: Deployed):
        shell = deployed.shell.read_text()
        assert f"MAILCONSOLE={deployed.base}/bin/mailconsole\n" in shell
        assert f"CONFIG={deployed.config}\n" in shell
        assert stat.S_IMODE(deployed.shell.stat().st_mode) == 0o755
        d = _directives(deployed.sshd_dropin.read_text())
        assert d["match"] == f"User {deployed.user}"
        assert d["forcecommand"] == str(deployed.shell)
        assert f"--autologin {deployed.user} " in deployed.getty_dropin.read_text()
        link = deployed.base / "bin" / "mailconsole"
        assert os.readlink(link) == f"{deployed.base}/opt/bin/mailconsole"
        # the program runs as the account (not from root's home or this checkout)
        run = subprocess.run(["su", "-s", "/bin/sh", deployed.user, "-c",
                              f"{link} get mail.relay --config {deployed.base}/none.toml"],
                             capture_output=True, text=True, timeout=60)
        assert (run.returncode, run.stdout) == (0, "internal\n"), run
        assert "site-packages" in subprocess.run(
            [f"{deployed.base}/opt/bin/python", "-c", "import tui.console.driver as m; "
             "print(m.__file__)"], capture_output=True, text=True, check=True,
            cwd="/").stdout

    def test_the_real_sshd_applies_the_installed_drop_in(self, deployed: Deployed,
                                                         sshd: Sshd):
        eff = sshd.effective(deployed.user)
        assert eff["forcecommand"] == str(deployed.shell)
        assert eff["allowtcpforwarding"] == "no" and eff["permittty"] == "yes"

    def test_a_second_install_changes_nothing(self, deployed: Deployed):
        before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in
                  (deployed.shell, deployed.sshd_dropin, deployed.getty_dropin)}
        run = run_install(*deployed.options)
        assert run.returncode == 0, run.stderr
        assert "nothing to change" in run.stdout, run.stdout
        assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in before}

    def test_install_repairs_a_changed_mode_and_shell(self, deployed: Deployed):
        deployed.config.parent.chmod(0o777)
        subprocess.run(["usermod", "-s", "/bin/bash", deployed.user], check=True)
        run = run_install(*deployed.options)
        assert run.returncode == 0, run.stderr
        assert stat.S_IMODE(deployed.config.parent.stat().st_mode) == 0o750
        assert pwd.getpwnam(deployed.user).pw_shell == str(deployed.shell)
        assert "nothing to change" not in run.stdout
