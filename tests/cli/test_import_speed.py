"""`get`, `show` and `validate` start fast: they never import textual,
asyncio or the TLS stack (checked in a fresh interpreter, twice: sys.modules
after main() returns, and the -X importtime log of the real command)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT, SENTINEL, cli_env

FORBIDDEN = ("textual", "ssl", "_ssl", "asyncio", "mailer", "tui")

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
def test_read_only_commands_import_no_tls_asyncio_or_textual(realistic, argv):
    result = probe(argv, realistic)
    assert result["code"] == 0
    assert result["bad"] == []


def test_the_check_sees_a_module_that_imports_ssl(realistic):
    """The probe itself can fail: an ssl import is caught."""
    assert "ssl" in probe(["show"], realistic, prelude="import ssl")["bad"]


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


# --- the installed command and what the plain read commands import -------------

SCRIPT = ROOT / "bin" / "mailconsole"

# Heavy standard-library modules the plain get/show/validate keep out (issue 5):
# each one is milliseconds of start-up against ~15 ms for `python -c pass`.
HEAVY = ("re", "typing", "tomllib", "datetime", "ipaddress", "argparse", "gettext", "locale",
         "pathlib", "collections", "contextlib", "enum", "functools", "string", "json",
         "fcntl", "encodings.idna", "unicodedata", "dataclasses", "inspect", "tomlkit",
         "difflib", "shutil", "mailconsole.parser")


def test_the_command_is_a_plain_script_not_a_console_scripts_wrapper():
    """pip's console_scripts wrapper imports re; our script imports sys and the CLI."""
    import ast
    import os
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "scripts" not in project["project"]
    assert project["tool"]["setuptools"]["script-files"] == ["bin/mailconsole"]
    text = SCRIPT.read_text()
    assert text.startswith("#!python\n")  # pip writes the installing interpreter here
    assert os.access(SCRIPT, os.X_OK)
    imported = sorted(
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names)
    assert imported == ["mailconsole.cli", "sys"]


def imported_by_script(argv, cfg):
    """Modules the script imports (-X importtime), without site: the dev venv's
    editable .pth hook imports pathlib and re into every interpreter."""
    proc = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", str(SCRIPT), *argv], capture_output=True,
        text=True, cwd=ROOT, env=cli_env(MAILCONSOLE_CONFIG=str(cfg)), timeout=60)
    assert SENTINEL not in proc.stdout + proc.stderr
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return proc.returncode, names


@pytest.mark.parametrize("argv", READ_ONLY[:2] + [["validate"]], ids=" ".join)
def test_the_plain_read_commands_import_no_heavy_module(realistic, argv):
    code, names = imported_by_script(argv, realistic)
    assert code == 0
    assert {"config.model", "config.store", "config.tomlread"} <= names  # the log is real
    assert sorted(names & set(HEAVY)) == []


def test_the_heavy_module_check_can_fail(realistic):
    """An IPv6 server needs ipaddress; --lang goes through argparse (re, gettext)."""
    realistic.write_text('[mail.smtp]\nserver = "[2001:db8::1]:587"\n')
    code, names = imported_by_script(["validate", "--lang", "en"], realistic)
    assert code == 0
    assert {"ipaddress", "argparse", "re", "gettext", "mailconsole.parser"} <= names
