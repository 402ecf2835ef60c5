"""The domain layers never import the screen (harlequin's rule)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["config", "config.model", "config.validate",
                                    "config.service", "mailer", "mailer.report"])
def test_domain_module_imports_without_textual(module):
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, f"{module} pulled in {out.stdout} {out.stderr}"
