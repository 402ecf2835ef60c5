"""deploy/systemd/mailconsole-queue.{service,timer}: systemd accepts them, and they run
`mailconsole queue run` as the admin user every minute."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICE = REPO / "deploy" / "systemd" / "mailconsole-queue.service"
TIMER = REPO / "deploy" / "systemd" / "mailconsole-queue.timer"


def settings_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if "=" in line and not line.startswith("#"))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_queue_service_and_timer(tmp_path):
    """systemd-analyze checks that ExecStart's program exists: a stand-in replaces
    /usr/local/bin/mailconsole."""
    stand_in = tmp_path / "mailconsole"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    for unit in (SERVICE, TIMER):
        (tmp_path / unit.name).write_text(
            unit.read_text().replace("/usr/local/bin/mailconsole", str(stand_in)))
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    run = subprocess.run(["systemd-analyze", "verify", SERVICE.name, TIMER.name],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    for unit in (SERVICE, TIMER):
        assert unit.name not in run.stdout + run.stderr  # no warning about our units


def test_the_service_runs_one_pass_of_the_queue_as_the_admin_user():
    service = settings_of(SERVICE)
    assert service["ExecStart"] == ("/usr/local/bin/mailconsole --config "
                                    "/etc/mailconsole/mail.toml queue run")
    assert service["Type"] == "oneshot"
    assert service["User"] == "mailadmin"
    assert service["ReadWritePaths"] == "/var/spool/mailconsole"  # the default queue.dir
    assert service["ProtectSystem"] == "strict"
    timer = settings_of(TIMER)
    assert timer["OnUnitActiveSec"] == "1min"  # the first retry is due after a minute
    assert timer["WantedBy"] == "timers.target"
