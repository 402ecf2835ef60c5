"""Concurrent writers through the CLI lose nothing (the store's flock and
reload-under-lock, reached through `mailconsole set`)."""

from __future__ import annotations

import subprocess
import sys
import time

from config.service import SettingsService
from tests.cli.conftest import ROOT, cli_env

ROUNDS = 20
KEYS = {
    "mail.sender_name": "Worker {i}",
    "mail.test_recipient": "r{i}@example.org",
    "mail.pop3.server": "pop{i}.example.org",
    "mail.smtp.timeout": "{t}",
}

WORKER = """
import os, sys, time
from mailconsole.cli import main
key, template, go = sys.argv[1], sys.argv[2], sys.argv[3]
while not os.path.exists(go):
    time.sleep(0.005)
codes = []
for i in range(1, {rounds} + 1):
    codes.append(main(["set", key + "=" + template.format(i=i, t=100 + i)]))
sys.exit(max(codes))
"""

INCREMENTER = """
import os, sys, time
from config.service import SettingsService
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.005)
svc = SettingsService(os.environ["MAILCONSOLE_CONFIG"])
for _ in range({rounds}):
    svc.update(lambda s: {{"mail.smtp.timeout": s.mail.smtp.timeout + 1}})
"""


def start_all(tmp_path, cfg, commands):
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", code, *args, str(go)], cwd=ROOT,
                              env=cli_env(MAILCONSOLE_CONFIG=str(cfg)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for code, args in commands]
    time.sleep(0.5)  # let them all import and wait at the start line
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, out.decode(), err.decode()))
    return results


def test_four_processes_setting_different_keys_lose_nothing(tmp_path, cfg, outputs):
    cfg.write_text("# shared file\n[mail]\n")
    code = WORKER.format(rounds=ROUNDS)
    results = start_all(tmp_path, cfg, [(code, [k, v]) for k, v in KEYS.items()])
    for rc, out, err in results:
        outputs.add(out, err)
        assert rc == 0, err
        assert out.count("saved") == ROUNDS
    final = SettingsService(cfg).load()
    for key, template in KEYS.items():
        assert str(final.get(key)) == template.format(i=ROUNDS, t=100 + ROUNDS)
    assert cfg.read_text().startswith("# shared file\n")


def test_four_processes_incrementing_one_key_lose_no_increment(tmp_path, cfg):
    code = INCREMENTER.format(rounds=25)
    results = start_all(tmp_path, cfg, [(code, [])] * 4)
    assert all(rc == 0 for rc, _, _ in results), results
    assert SettingsService(cfg).load().mail.smtp.timeout == 15 + 4 * 25
