"""``main(process=True)`` — what the ``mailconsole`` script and ``python -m
mailconsole`` call — runs a one-shot command without the cyclic garbage
collector and freezes what is alive at the end (the process exits next; issue
3's benchmark).  A plain ``main()`` (tests, callers that go on running) leaves
the collector alone.  Checked in a fresh interpreter each time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT, cli_env

PROBE = """
import gc, json, sys
from mailconsole.cli import main
code = main({argv!r}{extra})
print(json.dumps({{"code": code, "enabled": gc.isenabled(),
                   "frozen": gc.get_freeze_count()}}), file=sys.stderr)
"""


def run(argv, extra, cfg):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, extra=extra)], capture_output=True,
        text=True, cwd=ROOT, env=cli_env(MAILCONSOLE_CONFIG=str(cfg)), timeout=60)
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["get", "mail.relay"], ["show", "--json"], ["validate"],
                                  ["test-mail"]], ids=" ".join)
def test_process_mode_disables_and_freezes(cfg, argv):
    result = run(argv, ", process=True", cfg)
    # test-mail without a recipient is a usage error (2) raised by the command
    assert result["code"] == (2 if argv == ["test-mail"] else 0)
    assert result["enabled"] is False
    assert result["frozen"] > 0


@pytest.mark.parametrize("argv", [["get", "mail.relay"], ["validate"]], ids=" ".join)
def test_plain_main_leaves_the_collector_alone(cfg, argv):
    result = run(argv, "", cfg)
    assert result == {"code": 0, "enabled": True, "frozen": 0}


def test_the_script_and_dash_m_use_process_mode():
    assert "main(process=True)" in (ROOT / "bin" / "mailconsole").read_text()
    assert "main(process=True)" in (ROOT / "mailconsole" / "__main__.py").read_text()
