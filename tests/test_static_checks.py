"""ruff (the whole tree, RUF100 included: no unused noqa), mypy (strict on
config/, mailer/, mailconsole/ and tui/) and import-linter (the layers mailconsole >
tui > mailer > config) run as part of the suite, with the settings in
pyproject.toml, so CI fails on a lint error, a type error or an import against
the layers."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    out = run(str(BIN / "ruff"), "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_reports_unused_noqa_comments():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "RUF100" in lint["select"]


def test_mypy_strict_on_every_package_finds_nothing():
    out = run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success" in out.stdout, out.stdout  # it checked files, and found nothing
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    assert set(files) >= {"config", "mailer", "mailconsole", "tui"}


def test_the_import_layers_are_kept():
    out = run(str(BIN / "lint-imports"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout, out.stdout


def test_the_import_layers_check_can_fail(tmp_path):
    """A config module that imports the mailer breaks the contract."""
    for package in ("config", "mailer", "tui", "mailconsole"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "config" / "bad.py").write_text("import mailer\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    out = subprocess.run([str(BIN / "lint-imports")], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env={"PYTHONPATH": str(tmp_path)})
    assert out.returncode != 0, out.stdout + out.stderr
    assert "config.bad -> mailer" in out.stdout, out.stdout
