"""ruff (the whole tree) and mypy (strict on config/, mailer/ and mailconsole/) run as part of
the suite, with the settings in pyproject.toml, so CI fails on a lint or type error."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    out = run(str(BIN / "ruff"), "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_on_the_domain_layers_finds_nothing():
    out = run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success" in out.stdout, out.stdout  # it checked files, and found nothing
