"""Which language is used: --lang, else LC_ALL / LC_MESSAGES / LANG, else
English; an unknown or uninstalled locale falls back to English and crashes
nothing (this machine has only the C and C.UTF-8 system locales, so
de_DE.UTF-8 itself is "not installed" here, and must still give German)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from config.i18n import _, current_language, language_from_environment, set_language
from tests.i18n.conftest import ROOT

GERMAN_FIELD = "ist keine bekannte Einstellung"


@pytest.mark.parametrize(("env", "expected"), [
    ({"LANG": "de_DE.UTF-8"}, "de"),
    ({"LANG": "de_AT"}, "de"),
    ({"LANG": "de"}, "de"),
    ({"LANG": "de_DE.UTF-8@euro"}, "de"),
    ({"LC_MESSAGES": "de_DE.UTF-8", "LANG": "en_US.UTF-8"}, "de"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "de_DE.UTF-8"}, "en"),
    ({"LC_ALL": "de_CH.UTF-8", "LC_MESSAGES": "en_US"}, "de"),
    ({"LANG": "xx_YY"}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LANG": ""}, "en"),
    ({}, "en"),
])
def test_the_language_comes_from_lc_all_then_lc_messages_then_lang(env, expected):
    assert language_from_environment(env) == expected


@pytest.mark.parametrize("lang", ["xx", "xx_YY", "fr", "", "de_DE.UTF-8", "DE", "en"])
def test_set_language_accepts_anything_and_falls_back_to_english(lang):
    got = set_language(lang)
    assert got in ("en", "de") and got == current_language()
    expected = "de" if lang.lower().startswith("de") else "en"
    assert got == expected
    text = _("is not a known setting")
    assert text == (GERMAN_FIELD if expected == "de" else "is not a known setting")


def test_a_missing_catalog_directory_falls_back_to_english(monkeypatch, tmp_path):
    import config.i18n as i18n

    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "nowhere")
    assert set_language("de") == "de"
    assert _("is not a known setting") == "is not a known setting"


def test_no_code_calls_locale_setlocale():
    """locale.setlocale raises locale.Error for a locale not installed on the
    machine; translation does not need it, so nothing may call it."""
    calls = []
    for top in ("config", "mailer", "tui", "mailconsole"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "setlocale":
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not calls


def _cli(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MAILCONSOLE_CONFIG": str(tmp_path / "mail.toml"), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "mailconsole", *args], cwd=ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env", [{"LANG": "xx_YY"}, {"LC_ALL": "xx_YY.UTF-8"},
                                 {"LANG": "xx_YY.ISO-8859-15@nonsense"},
                                 {"LC_ALL": "C", "LANG": "de_DE.UTF-8"}])
def test_an_unknown_or_uninstalled_locale_crashes_nothing_and_speaks_english(env, tmp_path):
    result = _cli("get", "mail.nope", env=env, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "unknown setting" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_uninstalled_german_locale_still_gives_german(tmp_path):
    """de_DE.UTF-8 is not a system locale on the test machine (only C/C.UTF-8):
    the catalog is ours, so German works anyway."""
    result = _cli("get", "mail.nope", env={"LANG": "de_DE.UTF-8"}, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "unbekannte Einstellung" in result.stderr
    assert "Traceback" not in result.stderr
