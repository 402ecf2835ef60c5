"""User errors end in one line and a documented exit code, never a traceback;
a broken file is never written; unexpected errors give exit 70."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

import pytest

from config.errors import ConfigConflictError
from config.service import SettingsService
from tests.cli.conftest import ROOT, SENTINEL, cli_env

GOOD = '# keep me\n[mail]\nsender_name = "x"\n'

# (name, bytes, exit code, text that must be in the one error line)
CORPUS = [
    ("bad_toml", b'[mail]\nrelay = "internal\n', 3, "mail.toml:2:"),
    ("bad_table", b"[mail\nrelay = 1\n", 3, "mail.toml:1:"),
    ("duplicate_key", b'[mail]\nrelay = "internal"\nrelay = "external"\n', 3, "mail.toml:3:"),
    ("duplicate_table", b"[mail]\n[mail]\n", 3, "mail.toml:2:"),
    ("invalid_utf8", b'[mail]\nsender_name = "M\xfcller"\n', 3, "mail.toml:2:"),
    ("wrong_type_bool", b'[mail]\nhtml = "yes"\n', 1, "mail.html"),
    ("wrong_type_int", b"[mail.smtp]\ntimeout = 1.5\n", 1, "mail.smtp.timeout"),
    ("wrong_type_table", b"mail = 3\n", 1, "mail"),
    ("wrong_type_password",
     b"[mail.smtp]\npassword = [\"" + SENTINEL.encode() + b"\"]\n", 1, "mail.smtp.password"),
    ("ten_megabytes", b"# " + b"x" * (10 * 1024 * 1024) + b"\n", 3, "mail.toml"),
]


@pytest.mark.parametrize("name, content, code, needle", CORPUS, ids=[c[0] for c in CORPUS])
@pytest.mark.parametrize("argv", [["show"], ["show", "--json"], ["get", "mail.relay"],
                                  ["validate"], ["validate", "--json"],
                                  ["set", "mail.sender_name=y"], ["unset", "mail.relay"],
                                  ["test-mail", "--to", "a@example.org"]])
def test_a_malformed_config_gives_one_line_its_exit_code_and_stays_untouched(
        run, cfg, name, content, code, needle, argv):
    cfg.write_bytes(content)
    r = run(*argv)
    assert r.code == code, r.err
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    assert needle in lines[0]
    assert "Traceback" not in r.err
    if code == 3 and name != "ten_megabytes":
        assert f"{cfg}:" in lines[0]  # path:line:col
    assert cfg.read_bytes() == content
    if "--json" in argv:
        data = r.json()
        assert data["ok"] is False and data["exit_code"] == code


def test_validate_json_gives_line_and_column_of_a_syntax_error(run, cfg):
    cfg.write_text('[mail]\nrelay = "internal\n')
    data = run("validate", "--json").json()
    assert (data["file"], data["line"]) == (str(cfg), 2)
    assert data["col"] >= 1


def test_a_config_path_that_is_a_directory_is_one_line(run, cfg):
    cfg.mkdir()
    for argv in (["show"], ["set", "mail.html=false"]):
        r = run(*argv)
        assert r.code != 0 and r.err.count("\n") == 1 and str(cfg) in r.err


def test_a_missing_directory_for_set_is_exit_5(run, tmp_path):
    path = tmp_path / "no" / "such" / "mail.toml"
    r = run("--config", str(path), "set", "mail.html=false")
    assert r.code == 5
    assert r.err.count("\n") == 1 and str(path.parent) in r.err


def _read_only_dir_command(directory) -> list[str] | None:
    """A command prefix that runs the CLI with ``directory`` read-only."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return []
    if shutil.which("unshare") and subprocess.run(
            ["unshare", "-m", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-m", "sh", "-c",
                f'mount --bind -o ro "{directory}" "{directory}" && exec "$0" "$@"']
    return None


def test_set_in_a_read_only_directory_is_exit_5_and_the_file_is_intact(cfg, outputs):
    cfg.write_text(GOOD)
    before = cfg.read_bytes()
    prefix = _read_only_dir_command(cfg.parent)
    if prefix is None:
        pytest.skip("cannot make a read-only directory here (root without unshare)")
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "mailconsole", "set", "mail.sender_name=y"],
            capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=60)
    finally:
        cfg.parent.chmod(0o755)
    outputs.add(proc.stdout, proc.stderr)
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.count("\n") == 1 and str(cfg) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert cfg.read_bytes() == before
    assert sorted(p.name for p in cfg.parent.iterdir()) in (
        ["mail.toml"], ["mail.toml", "mail.toml.lock"])


def test_permission_denied_is_one_line_naming_the_file(run, cfg, monkeypatch):
    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self.path))

    monkeypatch.setattr(SettingsService, "load", denied)
    r = run("show")
    assert r.code == 1
    assert r.err == f"mailconsole: {cfg}: Permission denied — run as a user allowed to " \
                    "access it (often root), or pass --config PATH\n"
    monkeypatch.setattr(SettingsService, "update", lambda self, values: denied(self))
    assert run("set", "mail.html=false").code == 5


def test_a_conflict_is_exit_4_with_advice_to_try_again(run, cfg, monkeypatch):
    def conflict(self, values):
        raise ConfigConflictError(str(self.path))

    monkeypatch.setattr(SettingsService, "update", conflict)
    r = run("set", "mail.html=false")
    assert r.code == 4
    assert str(cfg) in r.err and "again" in r.err and r.err.count("\n") == 1


def test_an_unexpected_exception_is_one_line_and_exit_70(run, cfg, monkeypatch):
    cfg.write_text(f'[mail.smtp]\npassword = "{SENTINEL}"\n')

    def boom(self, settings=None):
        raise RuntimeError(f"boom {settings!r} {settings.mail.smtp.password}")

    monkeypatch.setattr(SettingsService, "validate", boom)
    r = run("validate")
    assert r.code == 70
    assert r.err.count("\n") == 1
    # the exception's text holds the password: withheld whole, not masked in place
    assert "internal error: RuntimeError: (text withheld" in r.err and SENTINEL not in r.err
    assert "MAILCONSOLE_DEBUG=1" in r.err
    assert "Traceback" not in r.err
    monkeypatch.setenv("MAILCONSOLE_DEBUG", "1")
    r = run("validate")
    assert r.code == 70
    assert "Traceback (most recent call last)" in r.err
    assert "in boom" in r.err and SENTINEL not in r.err


def test_an_unexpected_exception_without_a_secret_keeps_its_text(run, monkeypatch):
    def boom(self, settings=None):
        raise RuntimeError("boom \x1b]0;title\x07")

    monkeypatch.setattr(SettingsService, "validate", boom)
    r = run("validate")
    assert r.code == 70
    assert "internal error: RuntimeError: boom \\x1b]0;title\\x07" in r.err


def test_ctrl_c_is_exit_130_without_traceback(run, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(SettingsService, "load", interrupted)
    r = run("show")
    assert r.code == 130 and r.err == "mailconsole: interrupted\n"


def test_user_errors_have_no_traceback_in_a_real_process(run_proc, cfg):
    cfg.write_bytes(b'[mail]\nrelay = "internal\n')
    r = run_proc("show")
    assert r.code == 3
    assert r.err.startswith(f"mailconsole: {cfg}:2:") and r.err.count("\n") == 1
    assert run_proc("frobnicate").code == 2
