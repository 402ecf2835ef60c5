"""The fast path (plain ``get``/``show``/``validate`` without argparse, issue 5)
behaves exactly like the argparse path: for a table of command lines and
config files, ``main(argv)`` and ``main(argv, fast_path=False)`` give
byte-identical stdout, stderr and exit codes.  The table also says which
lines take the fast path, and that is checked, so a fast path that silently
stopped matching (or matched too much) fails here.

Also: the read path names files exactly as ``str(pathlib.Path(path))`` did
(``config.store.shown_path``), and the fast path imports neither argparse
nor gettext nor pathlib (checked without site, so the dev venv's editable
``.pth`` hook, which imports pathlib into every interpreter, does not hide it).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.store import shown_path
from mailconsole.cli import _fast_args, main
from mailconsole.commands import toml_value
from tests.cli.conftest import ROOT, SENTINEL, cli_env

VALID = ('# a comment\n[mail]\nrelay = "external"\nhtml = false\n'
         '[mail.smtp]\nserver = "smtp.example.com:587"\nusername = "pbx"\n'
         f'password = "{SENTINEL}"\ntimeout = 20\n')
FILES = {
    "valid": VALID.encode(),
    "missing": None,
    "malformed": b'[mail]\nrelay = "internal\n',
    "duplicate": b'[mail]\nrelay = "internal"\nrelay = "external"\n',
    "not_utf8": b'[mail]\nsender_name = "M\xfcller"\n',
    "wrong_type": b'[mail]\nhtml = "yes"\n',
    "wrong_table": b"mail = 3\n",
    "password_wrong_type": b'[mail.smtp]\npassword = ["' + SENTINEL.encode() + b'"]\n',
    "invalid": b'[mail]\nrelay = "external"\n',  # no server: validate reports an error
    "unknown_key": b'[mail]\nrelay = "internal"\nfoo = 1\n',
    "directory": b"",  # replaced by a directory
}

C = "{cfg}"  # replaced by the config path
# (argv, takes the fast path)
FAST = [
    (["get", "mail.relay"], True),
    (["get", "mail.smtp.server"], True),
    (["get", "mail.html"], True),
    (["get", "mail.smtp.timeout"], True),
    (["get", "mail.smtp.password"], True),
    (["get", "mail.rely"], True),
    (["get", "nonsense"], True),
    (["get", "show"], True),
    (["show"], True),
    (["show", "--json"], True),
    (["show", "--json", "--json"], True),
    (["validate"], True),
    (["validate", "--json"], True),
    (["--config", C, "get", "mail.relay"], True),
    (["--config=" + C, "show"], True),
    (["show", "--config", C, "--json"], True),
    (["get", "--config", C, "mail.relay"], True),
    (["get", "mail.relay", "--config=" + C], True),
    (["--config", "/nonexistent/x.toml", "validate", "--config", C], True),
    (["--config", C, "--config", "/nonexistent/x.toml", "show"], True),
    (["--config", "get", "get", "mail.relay"], True),  # a file named "get"
]
SLOW = [
    (["get"], False),
    (["get", "mail.relay", "mail.html"], False),
    (["get", ""], False),
    (["show", "extra"], False),
    (["validate", "extra"], False),
    (["--json", "show"], False),
    (["get", "--json", "mail.relay"], False),
    (["show", "--js"], False),
    (["show", "--conf", C], False),
    (["--config"], False),
    (["show", "--config"], False),
    (["--config=", "show"], False),
    (["--config", "-x", "show"], False),
    (["get", "-x"], False),
    (["--", "get", "mail.relay"], False),
    (["get", "--", "mail.relay"], False),
    (["--lang", "de", "get", "mail.relay"], False),
    (["show", "--lang=en"], False),
    (["--basic", "show"], False),
    (["shwo"], False),
    (["show", "-h"], False),
    (["--version"], False),
    (["unset"], False),  # (set would write)
]
# The screen (no command): only the namespace is compared (main() would start it).
SCREEN = [
    ([], True),
    (["--basic"], True),
    (["--rich"], True),
    (["--basic", "--basic"], True),
    (["--config", C], True),
    (["--config=" + C, "--rich"], True),
    (["--rich", "--config", C], True),
    (["--rich", "--basic"], False),
    (["--basic", "show"], False),
    (["show", "--basic"], False),
    (["--lang", "de"], False),
    (["--bas"], False),
    (["--basic", "--lang=de"], False),
    (["--version"], False),
    (["-h"], False),
]


def _argv(template: list[str], cfg: str) -> list[str]:
    return [a.replace(C, cfg) for a in template]


@pytest.fixture
def both(capsys, monkeypatch):
    """Run ``argv`` through main() both ways; return the two (code, out, err)."""

    def run(argv: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
        results = []
        for fast in (True, False):
            capsys.readouterr()
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
            code = main(list(argv), fast_path=fast)
            cap = capsys.readouterr()
            assert SENTINEL not in cap.out + cap.err
            results.append((code, cap.out, cap.err))
        return results[0], results[1]

    return run


def _write(cfg, kind: str) -> None:
    content = FILES[kind]
    if kind == "directory":
        cfg.mkdir()
    elif content is not None:
        cfg.write_bytes(content)
        cfg.chmod(0o600)


@pytest.mark.parametrize("kind", list(FILES))
@pytest.mark.parametrize(("template", "fast"), FAST + SLOW,
                         ids=[" ".join(a) for a, _f in FAST + SLOW])
def test_fast_path_output_is_identical_to_argparse(both, tmp_path, monkeypatch, kind,
                                                   template, fast):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "mail.toml"
    _write(cfg, kind)
    argv = _argv(template, str(cfg))
    assert (_fast_args(argv) is not None) == fast
    with_fast, with_argparse = both(argv)
    assert with_fast == with_argparse


@pytest.mark.parametrize("env", [{"LANG": "de_DE.UTF-8"}, {"LC_ALL": "de_AT"},
                                 {"LANG": "fr_FR.UTF-8"}])
@pytest.mark.parametrize("kind", ["valid", "missing", "malformed", "wrong_type", "invalid"])
@pytest.mark.parametrize("template", [a for a, _f in FAST[:13]], ids=" ".join)
def test_fast_path_is_identical_in_another_language(both, tmp_path, monkeypatch, env, kind,
                                                    template):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    cfg = tmp_path / "mail.toml"
    _write(cfg, kind)
    with_fast, with_argparse = both(_argv(template, str(cfg)))
    assert with_fast == with_argparse


def test_the_table_really_differs_between_files(both, tmp_path):
    """The comparison sees content: German, errors and values do show up."""
    cfg = tmp_path / "mail.toml"
    _write(cfg, "valid")
    (code, out, err), _ = both(["get", "mail.smtp.server"])
    assert (code, out, err) == (0, "smtp.example.com:587\n", "")
    (code, out, _err), _ = both(["validate", "--json"])
    assert code == 0 and json.loads(out)["ok"] is True
    (code, out, err), _ = both(["get", "mail.smtp.password"])
    assert code == 2 and out == "" and "mail.smtp.password" in err


@pytest.mark.parametrize("path", ["mail.toml", "./mail.toml", "a//b/./c/", "/etc/x.toml",
                                  "//srv/x", "///srv/x", "", ".", "..", "../a/..", "./",
                                  "a/.b/c.", "/", "//", "///"])
def test_shown_path_is_str_of_pathlib_path(path):
    assert shown_path(path) == str(PurePosixPath(path))


@given(st.text(alphabet="/.ab", max_size=12))
def test_shown_path_is_str_of_pathlib_path_for_any_path(path):
    assert shown_path(path) == str(PurePosixPath(path))
    assert shown_path(PurePosixPath(path)) == str(PurePosixPath(path))


@given(st.text())
def test_show_quotes_strings_exactly_as_json_dumps(text):
    """`show` prints strings as json.dumps(ensure_ascii=False) did, without json,
    plus DEL, C1 and bidi controls as \\u escapes (config.text.json_text)."""
    from config.text import json_text

    assert toml_value(text) == json_text(json.dumps(text, ensure_ascii=False))
    assert json.loads(toml_value(text)) == text


@pytest.mark.parametrize("text", ["", '"', "\\", "\x00\x1f\x7f\b\f\n\r\t", "ü€😀",
                                  "\u2028\u2029", "\ud800", "a'b"])
def test_show_quotes_special_strings_exactly_as_json_dumps(text):
    from config.text import json_text

    assert toml_value(text) == json_text(json.dumps(text, ensure_ascii=False))


PROBE = """
import sys
from mailconsole.cli import main
code = main({argv!r})
watched = ("argparse", "gettext", "locale", "pathlib", "mailconsole.parser", "json")
loaded = sorted(m for m in watched if m in sys.modules)
import json
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["get", "mail.relay"], ["show"], ["show", "--json"],
                                  ["validate"], ["--config", C, "validate", "--json"]],
                         ids=" ".join)
def test_the_fast_path_imports_no_argparse_gettext_or_pathlib(tmp_path, argv):
    cfg = tmp_path / "mail.toml"
    _write(cfg, "valid")

    def probe(argv: list[str]) -> dict:
        # -S: without site, so the editable install's .pth hook (which imports
        # pathlib and re into every interpreter) does not hide an import
        proc = subprocess.run(
            [sys.executable, "-S", "-c", PROBE.format(argv=argv)], capture_output=True,
            text=True, cwd=ROOT, env=cli_env(MAILCONSOLE_CONFIG=str(cfg)), timeout=60)
        assert SENTINEL not in proc.stdout + proc.stderr
        return json.loads(proc.stderr.strip().splitlines()[-1])

    result = probe(_argv(argv, str(cfg)))
    assert result == {"code": 0, "loaded": ["json"] if "--json" in argv else []}
    # the probe can fail: the argparse path imports argparse (and gettext, which
    # argparse imports), German loads the catalog with gettext and locale
    assert probe(["--config", str(cfg), "show", "--lang", "en"])["loaded"] == [
        "argparse", "gettext", "mailconsole.parser"]
    assert probe(["--config", str(cfg), "show", "--lang", "de", "--json"])["loaded"] == [
        "argparse", "gettext", "json", "locale", "mailconsole.parser"]


# --- test-mail: its plain forms take the fast path too ---------------------------

# (argv, takes the fast path); "{port}" is a closed port on 127.0.0.1
TEST_MAIL = [
    (["test-mail"], True),
    (["test-mail", "--to", "admin@example.org"], True),
    (["test-mail", "--to=admin@example.org"], True),
    (["test-mail", "--json", "--to", "a@example.org"], True),
    (["test-mail", "--to", "a@example.org", "--timeout", "5"], True),
    (["test-mail", "--timeout=600", "--json"], True),
    (["test-mail", "--timeout", "007", "--to", "a@example.org"], True),
    (["--config", C, "test-mail", "--to", "a@example.org", "--config", C], True),
    (["test-mail", "--to", "test-mail"], True),
    (["test-mail", "--to", "a=b@example.org"], True),
    (["test-mail", "--json", "--json", "--to", "a@example.org"], True),
    (["test-mail", "--to", "a@example.org", "--to", "b@example.org"], False),
    (["test-mail", "--timeout", "0"], False),
    (["test-mail", "--timeout", "601"], False),
    (["test-mail", "--timeout", "-5"], False),
    (["test-mail", "--timeout", "+5"], False),
    (["test-mail", "--timeout", "5_0"], False),
    (["test-mail", "--timeout", " 5"], False),
    (["test-mail", "--timeout", "x"], False),
    (["test-mail", "--timeout"], False),
    (["test-mail", "--to"], False),
    (["test-mail", "--to", ""], False),
    (["test-mail", "--to="], False),
    (["test-mail", "--to", "-x"], False),
    (["test-mail", "--t", "a@example.org"], False),
    (["test-mail", "--time", "5"], False),
    (["test-mail", "--json=1"], False),
    (["test-mail", "extra"], False),
    (["--to", "a@example.org", "test-mail"], False),
    (["--json", "test-mail"], False),
    (["get", "--to", "a@example.org", "mail.relay"], False),
    (["show", "--timeout", "5"], False),
    (["test-mail", "--lang", "de", "--to", "a@example.org"], False),
    (["test-mail", "-h"], False),
]


ALL_LINES = FAST + SLOW + TEST_MAIL + SCREEN


@pytest.mark.parametrize(("template", "fast"), ALL_LINES,
                         ids=[" ".join(a) or "(none)" for a, _f in ALL_LINES])
def test_the_fast_namespace_is_the_one_argparse_builds(tmp_path, template, fast, capsys):
    from mailconsole.parser import parse_args

    argv = _argv(template, str(tmp_path / "mail.toml"))
    args = _fast_args(argv)
    assert (args is not None) == fast
    if args is not None:
        assert vars(args) == vars(parse_args(argv))


def _refused_config(cfg) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg.write_text(f'[mail]\nrelay = "external"\n[mail.smtp]\nserver = "127.0.0.1:{port}"\n'
                   'security = "none"\nauthentication = false\n')
    cfg.chmod(0o600)


def _without_durations(result: tuple[int, str, str]) -> tuple[int, str, str]:
    import re

    code, out, err = result
    out = re.sub(r"\(\d+\.\d\d s\)", "(D s)", out)
    out = re.sub(r'"(duration|elapsed|seconds|started|at|time)": [0-9.e-]+', r'"\1": D', out)
    return code, out, err


@pytest.mark.parametrize("template", [a for a, _f in TEST_MAIL], ids=" ".join)
def test_test_mail_gives_the_same_output_on_both_paths(both, tmp_path, monkeypatch, template):
    """A refused connection (no network, no waiting) and a missing recipient."""
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "mail.toml"
    _refused_config(cfg)
    with_fast, with_argparse = both(_argv(template, str(cfg)))
    assert _without_durations(with_fast) == _without_durations(with_argparse)
    assert with_fast[0] in ((0, 2) if "-h" in template else (1, 2))


def test_the_test_mail_comparison_sees_the_report(both, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused_config(tmp_path / "mail.toml")
    (code, out, err), _ = both(["test-mail", "--to", "a@example.org", "--json"])
    assert code == 1 and json.loads(out)["failure"]["cls"] == "refused"
    assert err.startswith("mailconsole: test mail failed at connect: refused")
    (code, out, err), _ = both(["test-mail"])
    assert code == 2 and "--to" in err


def test_test_mail_on_the_fast_path_imports_no_argparse(tmp_path):
    cfg = tmp_path / "mail.toml"
    _refused_config(cfg)
    code = ("import sys\nfrom mailconsole.cli import main\n"
            "code = main(['test-mail', '--to', 'a@example.org'])\n"
            "print(code, sorted(m for m in ('argparse', 'mailconsole.parser', 'gettext')"
            " if m in sys.modules), file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=cli_env(MAILCONSOLE_CONFIG=str(cfg)), timeout=60)
    assert proc.stderr.strip().splitlines()[-1] == "1 []", proc.stderr
    slow = code.replace("'--to', 'a@example.org'", "'--to=a@example.org', '--lang', 'en'")
    proc = subprocess.run([sys.executable, "-S", "-c", slow], capture_output=True, text=True,
                          cwd=ROOT, env=cli_env(MAILCONSOLE_CONFIG=str(cfg)), timeout=60)
    assert proc.stderr.strip().splitlines()[-1] == \
        "1 ['argparse', 'gettext', 'mailconsole.parser']", proc.stderr
