"""examples/ansible/provision-mail.yml run twice with ansible-playbook against
localhost: the first run changes the config (changed=1), the second does not
(changed=0); --check changes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT

PLAYBOOK = ROOT / "examples" / "ansible" / "provision-mail.yml"
SETTINGS = ROOT / "examples" / "ansible" / "mail-settings.toml"


def ansible_playbook() -> str | None:
    here = Path(sys.executable).parent / "ansible-playbook"
    return str(here) if here.exists() else shutil.which("ansible-playbook")


def mailconsole_cmd() -> list[str]:
    script = Path(sys.executable).parent / "mailconsole"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailconsole"]


@pytest.fixture
def play(tmp_path, cfg):
    exe = ansible_playbook()
    if exe is None:
        pytest.skip("ansible-playbook not installed (pip install ansible-core, test extras)")
    home = tmp_path / "ansible"
    home.mkdir()
    (home / "ansible.cfg").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(ROOT),
        ANSIBLE_CONFIG=str(home / "ansible.cfg"),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_REMOTE_TEMP=str(home / "remote-tmp"),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_GATHERING="explicit",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_NOCOWS="1",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
        ANSIBLE_DEPRECATION_WARNINGS="False",
    )
    extra = json.dumps({"mailconsole_cmd": mailconsole_cmd(), "mailconsole_config": str(cfg),
                        "mail_settings_file": str(SETTINGS)})

    def _play(*args: str) -> dict[str, int]:
        proc = subprocess.run([exe, "-i", "localhost,", str(PLAYBOOK), "-e", extra, *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        m = re.search(r"^localhost\s*:\s*(.*)$", proc.stdout, re.M)
        assert m, proc.stdout
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}

    return _play


def test_the_playbook_changes_once_then_reports_ok(play, cfg):
    cfg.write_text('# managed by ansible\n[mail]\nsender_name = "old"\n')
    before = cfg.read_bytes()

    dry = play("--check")
    assert dry["changed"] == 1 and dry["failed"] == 0
    assert cfg.read_bytes() == before

    first = play()
    assert (first["changed"], first["failed"]) == (1, 0)
    data = tomllib.loads(cfg.read_text())
    assert data["mail"]["relay"] == "external"
    assert data["mail"]["smtp"]["server"] == "smtp.example.com:587"
    assert cfg.read_text().startswith("# managed by ansible\n")

    second = play()
    assert (second["changed"], second["failed"]) == (0, 0)
    assert second["ok"] >= 1


def test_the_example_settings_file_is_valid(run, tmp_path):
    r = run("--config", str(tmp_path / "m.toml"), "apply", str(SETTINGS), "--check", "--json")
    assert r.code == 0, r.err
    assert r.json()["changed"] is True
