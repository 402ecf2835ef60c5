"""The headless read commands (`get`, `show`, `validate`) stay light: they never
import the screen (textual, tui), the TLS stack (ssl), the email package, asyncio
or the mailer.  Checked in a fresh interpreter: sys.modules after main() returns,
and the -X importtime log of the real command.  How fast they answer is measured
by bench/cli_speed.py (docs/cli.md), not here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT, SENTINEL, cli_env

FORBIDDEN = ("textual", "tui", "ssl", "_ssl", "email", "asyncio", "mailer")

READ_ONLY = [["get", "mail.relay"], ["show"], ["show", "--json"], ["validate"],
             ["validate", "--json"]]

PROBE = """
import json, sys
{prelude}
from mailconsole.cli import main
code = main({argv!r})
forbidden = {forbidden!r}
bad = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({{"code": code, "bad": bad}}), file=sys.stderr)
"""


def probe(argv, cfg, prelude=""):
    code = PROBE.format(prelude=prelude, argv=argv, forbidden=FORBIDDEN)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=cli_env(MAILCONSOLE_CONFIG=str(cfg)), timeout=60)
    assert SENTINEL not in proc.stdout + proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.fixture
def realistic(cfg):
    cfg.write_text('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "smtp.example.com:587"\n'
                   f'username = "pbx"\npassword = "{SENTINEL}"\n')
    cfg.chmod(0o600)
    return cfg


@pytest.mark.parametrize("argv", READ_ONLY, ids=" ".join)
def test_read_only_commands_import_no_screen_tls_or_email(realistic, argv):
    result = probe(argv, realistic)
    assert result["code"] == 0
    assert result["bad"] == []


@pytest.mark.parametrize("module", ["ssl", "email.message"])
def test_the_check_sees_a_forbidden_module(realistic, module):
    """The probe itself can fail: an ssl or email import is caught."""
    assert module.split(".")[0] in probe(["show"], realistic, prelude=f"import {module}")["bad"]


def test_importtime_log_of_the_real_command_has_no_forbidden_module(realistic):
    for argv in READ_ONLY:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "mailconsole", *argv],
            capture_output=True, text=True, cwd=ROOT,
            env=cli_env(MAILCONSOLE_CONFIG=str(realistic)), timeout=60)
        assert proc.returncode == 0, proc.stderr[-500:]
        names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
                 if line.startswith("import time:") and "|" in line}
        assert "config.model" in names  # the log is what we think it is
        assert not {n for n in names if n.split(".")[0] in FORBIDDEN}, argv
