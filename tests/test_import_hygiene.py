"""The domain layers never import the screen (harlequin's rule): every module
of config/ and mailer/ is imported in a fresh interpreter and sys.modules is
checked for textual."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[str]:
    names = [package]
    for info in pkgutil.iter_modules([str(ROOT / package)]):
        names.append(f"{package}.{info.name}")
    return names


@pytest.mark.parametrize("module", _modules("config") + _modules("mailer"))
def test_domain_module_imports_without_textual(module):
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, f"{module} pulled in textual: {out.stdout} {out.stderr}"


def test_the_hygiene_check_detects_textual():
    """The check itself can fail: a module that imports textual is caught."""
    code = ("import sys; import textual.app; "
            "sys.exit(1 if any(m.startswith('textual') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 1
