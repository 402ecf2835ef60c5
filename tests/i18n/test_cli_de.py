"""The command line in German: messages and help German, the interface
(JSON keys, key paths, severity and failure class names, exit codes) English."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mailconsole.cli import main
from tests.i18n.conftest import ROOT


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_speaks_german_with_lang_de_and_english_without(capsys):
    code, out, _err = run(capsys, "--lang", "de", "validate")
    assert code == 0
    assert "Warnung: mail.relay: der interne Mailserver wird von SPF/DMARC-Filtern" in out
    assert "(extern versenden: mailconsole set mail.relay=external)" in out

    code, out, _err = run(capsys, "validate")
    assert code == 0
    assert "warning: mail.relay: the internal mail server is often blocked" in out


def test_lang_de_after_the_command_works_too(capsys):
    code, out, _err = run(capsys, "validate", "--lang=de")
    assert "Warnung:" in out


def test_json_keys_and_values_that_are_interfaces_stay_english(capsys):
    code, out, _err = run(capsys, "--lang", "de", "validate", "--json")
    data = json.loads(out)
    assert set(data) == {"file", "ok", "errors", "warnings", "problems"}
    (problem,) = data["problems"]
    assert set(problem) >= {"key", "severity", "message", "fix", "fix_label"}
    assert problem["key"] == "mail.relay"
    assert problem["severity"] == "warning"        # an enum, not prose
    assert problem["fix"] == {"mail.relay": "external"}
    # JSON is an interface: its prose is English too, whatever the language
    assert problem["message"].startswith("the internal mail server is often blocked")
    assert problem["fix_label"] == "use an external server"


def test_every_message_inside_json_is_english_with_german_lang_or_environment(
        capsys, monkeypatch, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[mail]\nrelay = "external"\n')
    german = ("der ", "die ", "Warnung", "ä", "ö", "ü", "ß", "nicht ", "wurde")
    for argv in (["--lang", "de", "validate", "--json"], ["validate", "--json", "--lang=de"],
                 ["--lang", "de", "show", "--json"],
                 ["--lang", "de", "apply", str(site), "--check", "--json"]):
        code, out, _err = run(capsys, *argv)
        text = json.dumps(json.loads(out), ensure_ascii=False)
        assert not [w for w in german if w in text], (argv, text)
    # a failure reported as JSON: English in the JSON
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    code, out, _err = run(capsys, "apply", str(site), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert "is required while SMTP authentication is on" in data["error"]
    assert all(p["message"].startswith("is required") for p in data["problems"])
    assert "nötig" not in out
    # without --json the same command speaks German
    code, out, err = run(capsys, "apply", str(site))
    assert code == 1 and "nötig" in err


def test_set_errors_are_german_and_name_english_key_paths(capsys, tmp_path):
    code, _out, err = run(capsys, "--lang", "de", "set", "mail.relay=external")
    assert code == 1
    assert "mail.smtp.server: ist bei einem externen Mailserver nötig" in err
    assert "es wurde nichts geschrieben" in err


def test_an_unknown_key_is_german_with_the_exit_code_unchanged(capsys):
    code, _out, err = run(capsys, "--lang", "de", "get", "mail.nope")
    assert code == 2
    assert "mail.nope: unbekannte Einstellung" in err


def test_help_is_german(capsys):
    code, out, _err = run(capsys, "--lang", "de", "--help")
    assert code == 0
    assert "Die ausgehenden Mails der Appliance einrichten." in out
    assert "Exit-Codes:" in out and "interner Fehler (ein Bug)" in out
    assert "eine Testmail mit den gespeicherten Einstellungen senden" in out


def test_argparse_own_texts_are_german(capsys):
    code, out, _err = run(capsys, "--lang", "de", "--help")
    assert out.startswith("Aufruf: mailconsole ")
    assert "\nOptionen:\n" in out and "diese Hilfe zeigen und beenden" in out
    assert "die Versionsnummer zeigen und beenden" in out
    assert "usage:" not in out and "options:" not in out and "show this help" not in out
    code, out, _err = run(capsys, "--lang", "de", "set", "--help")
    assert "\nArgumente:\n" in out and "positional arguments" not in out


def test_argparse_errors_are_german_and_english_without_lang(capsys):
    code, _out, err = run(capsys, "--lang", "de", "bogus")
    assert code == 2
    assert "ungültige Auswahl: 'bogus' (möglich: 'show'," in err
    assert "siehe 'mailconsole --help'" in err
    code, _out, err = run(capsys, "--lang", "de", "unset")
    assert code == 2 and "diese Argumente fehlen: KEY" in err
    code, _out, err = run(capsys, "--lang", "de", "show", "--bogus")
    assert code == 2 and "unbekannte Argumente: --bogus" in err
    code, _out, err = run(capsys, "bogus")
    assert code == 2 and "invalid choice: 'bogus'" in err


def test_the_argparse_msgids_we_translate_are_argparse_own():
    """mailconsole/argparse_messages.py lists argparse's msgids; a Python whose
    argparse words them differently would silently fall back to English."""
    import argparse
    import inspect

    from mailconsole.argparse_messages import MESSAGES

    source = inspect.getsource(argparse)
    missing = [m for m in MESSAGES if repr(m) not in source and f'"{m}"' not in source]
    assert not missing


def test_lang_from_the_environment_in_a_fresh_process(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "de_DE.UTF-8",
           "MAILCONSOLE_CONFIG": str(tmp_path / "mail.toml"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "mailconsole", "validate"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Warnung: mail.relay:" in result.stdout
    # --lang wins over the environment
    result = subprocess.run([sys.executable, "-m", "mailconsole", "--lang", "en", "validate"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "warning: mail.relay:" in result.stdout
