"""Fixtures for the translation tests.

The compiled catalog (config/locale/de/LC_MESSAGES/mailconsole.mo) is a build
product of the install; if it is missing or older than the .po (someone edited
the .po and did not reinstall), it is rebuilt once here the same way, so the
German tests test the .po in the tree.  Every test ends in English, non-ASCII
mode, so no other test sees German.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from config.i18n import set_ascii, set_language

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "config" / "locale" / "de" / "LC_MESSAGES" / "mailconsole.po"


def load_i18n_script() -> ModuleType:
    """scripts/i18n (a file without .py) as a module: the tests extract exactly
    as the helper script does."""
    path = ROOT / "scripts" / "i18n"
    loader = importlib.machinery.SourceFileLoader("mailconsole_i18n_script", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def i18n_script() -> ModuleType:
    return load_i18n_script()


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalog(i18n_script: ModuleType) -> None:
    mo = PO.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < PO.stat().st_mtime:
        i18n_script.compile_catalogs()


@pytest.fixture(autouse=True)
def _back_to_english():
    """Start and end every test in English, ASCII mode off."""
    set_language("en")
    set_ascii(False)
    yield
    set_language("en")
    set_ascii(False)


@pytest.fixture
def german():
    """German for this test (reset to English afterwards by _back_to_english)."""
    assert set_language("de") == "de"
    return "de"
