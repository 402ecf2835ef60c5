"""The shipped sshd drop-in and systemd drop-in are accepted by the real tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tui.console.conftest import REPO

SSHD_CONF = REPO / "deploy" / "sshd" / "mailconsole.conf"
GETTY_CONF = REPO / "deploy" / "systemd" / "serial-getty@.service.d" / "mailconsole.conf"
GETTY_UNIT = Path("/lib/systemd/system/serial-getty@.service")


def _directives(text: str) -> dict[str, str]:
    pairs = (line.split(None, 1) for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.lower(): v.strip() for k, v in pairs}


def test_the_sshd_drop_in_forces_the_console_and_forbids_forwarding_and_shells():
    d = _directives(SSHD_CONF.read_text())
    assert d["match"] == "User mailadmin"
    assert d["forcecommand"].split()[0].endswith("/mailconsole")
    assert d["permittty"] == "yes"
    for key in ("allowtcpforwarding", "x11forwarding", "allowagentforwarding", "permittunnel",
                "allowstreamlocalforwarding"):
        assert d[key] == "no", key


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/sshd"),
                    reason="sshd -t needs root and openssh-server")
def test_sshd_accepts_the_drop_in(tmp_path):
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    conf = tmp_path / "sshd_config"
    conf.write_text(f"HostKey {key}\nUsePAM no\n\n" + SSHD_CONF.read_text())
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    run = subprocess.run(["/usr/sbin/sshd", "-t", "-f", str(conf)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # and the effective settings for the admin user are the ones we meant
    run = subprocess.run(["/usr/sbin/sshd", "-T", "-f", str(conf), "-C",
                          "user=mailadmin,host=h,addr=127.0.0.1"],
                         capture_output=True, text=True, check=True)
    eff = _directives(run.stdout)
    assert eff["allowtcpforwarding"] == "no" and eff["x11forwarding"] == "no"
    assert eff["forcecommand"].startswith("/usr/local/bin/mailconsole")
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
    text = GETTY_CONF.read_text()
    exec_lines = re.findall(r"^ExecStart=(.*)$", text, re.M)
    assert exec_lines[0] == "", "the drop-in must reset Debian's ExecStart first"
    assert "--autologin mailadmin" in exec_lines[1]
    assert "TERM=vt100" in text


def test_the_login_shell_runs_the_console_and_nothing_else():
    text = (REPO / "deploy" / "mailconsole-shell").read_text()
    commands = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert commands == ['exec /usr/local/bin/mailconsole --config /etc/mailconsole/mail.toml "$@"']
    assert os.access(REPO / "deploy" / "mailconsole-shell", os.X_OK)
