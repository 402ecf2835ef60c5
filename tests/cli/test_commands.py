"""Every command of ``mailconsole``, run in-process through ``main()``."""

from __future__ import annotations

import difflib
import tomllib

import pytest

from config.model import FIELDS
from mailconsole import __version__
from mailconsole.parser import build_parser
from tests.cli.conftest import SENTINEL

COMMENTED = """\
# Mail settings of pbx-17 (managed by hand)

[mail]
# which relay: internal or external
relay = "internal"   # trailing comment
sender = "pbx@example.com"

[mail.smtp]
# the provider's relay
server = "smtp.example.com:587"
username = "pbx"
"""


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# --- version / help -----------------------------------------------------------


def test_version_prints_the_package_version(run):
    r = run("--version")
    assert r.code == 0
    assert r.out.strip() == f"mailconsole {__version__}"


@pytest.mark.parametrize("command", [None, "show", "get", "set", "unset", "validate", "apply",
                                     "test-mail", "send", "demo"])
def test_every_command_has_help_with_examples_and_exit_codes(run, command):
    r = run(*([command] if command else []), "--help")
    assert r.code == 0
    assert "examples:" in r.out
    assert "exit codes:" in r.out
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 "):
        assert f"\n  {code}" in r.out


def test_every_subcommand_accepts_config_after_the_command_name(tmp_path, run):
    other = tmp_path / "other.toml"
    r = run("set", "--config", str(other), "mail.sender_name=Other")
    assert r.code == 0
    assert tomllib.loads(other.read_text())["mail"]["sender_name"] == "Other"
    assert run("get", "--config", str(other), "mail.sender_name").out == "Other\n"
    assert run("--config", str(other), "get", "mail.sender_name").out == "Other\n"


def test_the_config_path_comes_from_the_option_then_the_environment(tmp_path, run, cfg,
                                                                    monkeypatch):
    cfg.write_text('[mail]\nsender_name = "from env"\n')
    assert run("get", "mail.sender_name").out == "from env\n"
    monkeypatch.delenv("MAILCONSOLE_CONFIG")
    args = build_parser().parse_args(["show"])
    from mailconsole.cli import config_path

    assert config_path(args) == "/etc/mailconsole/mail.toml"


# --- usage errors: exit 2, one line ---------------------------------------------


@pytest.mark.parametrize("argv", [
    ["bogus"],
    ["show", "--jsn"],
    ["get"],
    ["get", "mail.nope"],
    ["set", "mail.relay"],
    ["set"],
    ["set", "=x"],
    ["unset"],
    ["unset", "mail.smtp.sever"],
    ["test-mail", "--timeout", "soon"],
    ["test-mail", "--timeout", "0"],
    ["--basic", "--rich"],
])
def test_usage_errors_exit_2_with_one_line(run, argv):
    r = run(*argv)
    assert r.code == 2
    assert r.err.count("\n") == 1, r.err
    assert r.err.startswith("mailconsole: ")
    assert "Traceback" not in r.err


def test_an_unknown_key_suggests_the_closest_one(run):
    r = run("get", "mail.smtp.sever")
    assert r.code == 2
    assert "did you mean mail.smtp.server?" in r.err


# --- show ------------------------------------------------------------------------


def test_show_on_a_missing_file_prints_the_defaults_and_writes_nothing(run, cfg):
    r = run("show")
    assert r.code == 0
    assert not cfg.exists()
    assert "does not exist" in r.err
    shown = tomllib.loads(r.out)  # the output is itself valid TOML
    flat = {f"{a}.{b}": v for a, t in shown.items() for b, v in _flatten(t).items()}
    for key, field in FIELDS.items():
        if field.secret:
            assert key not in flat
            assert f"# {key} = (unset)" in r.out
        else:
            assert flat[key] == field.default


def _flatten(table, prefix=""):
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_show_json_gives_every_key_and_the_password_only_as_set(run, cfg):
    cfg.write_text(f'[mail.smtp]\nusername = "pbx"\npassword = "{SENTINEL}"\n')
    data = run("show", "--json").json()
    assert data["exists"] is True
    assert data["file"] == str(cfg)
    assert list(data["settings"]) == list(FIELDS)
    assert data["settings"]["mail.smtp.password"] == "set"
    assert data["settings"]["mail.smtp.username"] == "pbx"
    r = run("show")
    assert "# mail.smtp.password = (set)" in r.out


def test_show_json_says_unset_for_an_empty_password(run):
    data = run("show", "--json").json()
    assert data["exists"] is False
    assert data["settings"]["mail.smtp.password"] == "unset"


# --- get ------------------------------------------------------------------------


def test_get_prints_plain_values_by_type(run, cfg):
    cfg.write_text('[mail]\nhtml = false\n[mail.smtp]\ntimeout = 30\nserver = "a.example:25"\n')
    assert run("get", "mail.html").out == "false\n"
    assert run("get", "mail.smtp.timeout").out == "30\n"
    assert run("get", "mail.smtp.server").out == "a.example:25\n"
    assert run("get", "mail.relay").out == "internal\n"  # the default


def test_get_refuses_the_password(run, cfg):
    cfg.write_text(f'[mail.smtp]\npassword = "{SENTINEL}"\n')
    r = run("get", "mail.smtp.password")
    assert r.code == 2
    assert r.out == ""
    assert "never printed" in r.err


# --- set / unset ----------------------------------------------------------------


def test_set_parses_values_by_type_and_saves_them(run, cfg):
    r = run("set", "mail.html=false", "mail.smtp.timeout=42", "mail.sender_name=PBX 17")
    assert r.code == 0, r.err
    assert "saved" in r.out
    data = tomllib.loads(cfg.read_text())
    assert data["mail"]["html"] is False
    assert data["mail"]["smtp"]["timeout"] == 42
    assert data["mail"]["sender_name"] == "PBX 17"


def test_a_value_with_an_equals_sign_keeps_it(run, cfg):
    assert run("set", "mail.sender_name=a=b").code == 0
    assert tomllib.loads(cfg.read_text())["mail"]["sender_name"] == "a=b"


def test_set_changes_exactly_one_line_and_keeps_the_comments(run, cfg):
    cfg.write_text(COMMENTED)
    r = run("set", "mail.smtp.server=smtp.example.net:587")
    assert r.code == 0, r.err
    after = cfg.read_text()
    assert changed_lines(COMMENTED, after) == [
        '-server = "smtp.example.com:587"', '+server = "smtp.example.net:587"']
    for comment in ("# Mail settings of pbx-17", "# which relay", "# trailing comment",
                    "# the provider's relay"):
        assert comment in after


def test_setting_the_same_value_again_leaves_the_file_byte_identical(run, cfg):
    cfg.write_text(COMMENTED)
    before = cfg.read_bytes()
    r = run("set", "mail.relay=internal")
    assert r.code == 0
    assert "unchanged" in r.out
    assert cfg.read_bytes() == before


def test_a_bad_value_is_exit_1_and_writes_nothing(run, cfg):
    cfg.write_text(COMMENTED)
    before = cfg.read_bytes()
    for argv in (["mail.smtp.timeout=soon"], ["mail.html=maybe"],
                 ["mail.smtp.server=101.202.303.404"], ["mail.relay=carrier-pigeon"]):
        r = run("set", *argv)
        assert r.code == 1, (argv, r.err)
        assert argv[0].split("=")[0] in r.err
        assert "Traceback" not in r.err
        assert cfg.read_bytes() == before


def test_set_validates_the_result_as_a_whole(run, cfg):
    # external without a server is invalid; together with a server it is fine
    assert run("set", "mail.relay=external").code == 1
    r = run("set", "mail.relay=external", "mail.smtp.server=192.0.2.10:587",
            "mail.smtp.authentication=false")
    assert r.code == 0, r.err


def test_a_password_on_the_command_line_is_refused_and_not_echoed(run, cfg):
    r = run("set", f"mail.smtp.password={SENTINEL}")
    assert r.code == 2
    assert "--password-stdin" in r.err
    assert not cfg.exists()


def test_password_stdin_reads_one_line_without_the_newline(run, cfg):
    r = run("set", "mail.smtp.username=pbx", "--password-stdin",
            stdin=SENTINEL + "\nsecond line\n")
    assert r.code == 0, r.err
    assert "(set)" in r.out
    data = tomllib.loads(cfg.read_text())
    assert data["mail"]["smtp"]["password"] == SENTINEL
    assert data["mail"]["smtp"]["username"] == "pbx"
    assert run("show", "--json").json()["settings"]["mail.smtp.password"] == "set"


def test_password_stdin_strips_a_crlf(run, cfg):
    assert run("set", "--password-stdin", stdin=SENTINEL + "\r\n").code == 0
    assert tomllib.loads(cfg.read_text())["mail"]["smtp"]["password"] == SENTINEL


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_password_stdin_refuses_empty_input(run, cfg, stdin):
    r = run("set", "--password-stdin", stdin=stdin)
    assert r.code == 2
    assert not cfg.exists()


def test_unset_puts_keys_back_to_their_defaults(run, cfg):
    cfg.write_text(COMMENTED + f'password = "{SENTINEL}"\n')
    r = run("unset", "mail.smtp.username", "mail.smtp.password")
    assert r.code == 0, r.err
    smtp = tomllib.loads(cfg.read_text())["mail"]["smtp"]
    assert smtp.get("username", "") == ""
    assert smtp.get("password", "") == ""
    assert "# the provider's relay" in cfg.read_text()
    assert run("unset", "mail.smtp.username").out.strip().endswith("unchanged")


# --- validate ---------------------------------------------------------------------


def test_validate_a_good_file_is_exit_0(run, cfg):
    cfg.write_text('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "smtp.example.com:587"\n'
                   'authentication = false\n')
    r = run("validate")
    assert r.code == 0, r.out
    data = run("validate", "--json").json()
    assert data["ok"] is True and data["errors"] == 0


def test_validate_reports_errors_with_key_paths_and_exit_1(run, cfg):
    cfg.write_text('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "101.202.303.404"\n')
    r = run("validate")
    assert r.code == 1
    assert "mail.smtp.server" in r.out and "error" in r.out
    data = run("validate", "--json").json()
    assert data["ok"] is False
    assert any(p["key"] == "mail.smtp.server" and p["severity"] == "error"
               for p in data["problems"])


def test_validate_warnings_alone_are_exit_0(run, cfg):
    cfg.write_text('[mail]\nrelay = "internal"\n')
    r = run("validate", "--json")
    assert r.code == 0
    data = r.json()
    assert data["errors"] == 0 and data["warnings"] >= 1
    assert any(p["key"] == "mail.relay" for p in data["problems"])


def test_validate_never_prints_the_password(run, cfg):
    cfg.write_text('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "smtp.example.com"\n'
                   f'security = "none"\nusername = "u"\npassword = "{SENTINEL}"\n')
    cfg.chmod(0o644)  # also the file-mode warning
    run("validate")
    run("validate", "--json")


# --- apply -------------------------------------------------------------------------


def test_apply_check_changes_nothing_and_reports_the_diff(run, cfg, tmp_path):
    cfg.write_text(COMMENTED)
    before = cfg.read_bytes()
    site = tmp_path / "site.toml"
    site.write_text('[mail.smtp]\nserver = "relay.example.org:465"\nsecurity = "tls"\n')
    r = run("apply", str(site), "--check", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["changed"] is True and data["check"] is True
    assert '+server = "relay.example.org:465"' in data["diff"]
    assert cfg.read_bytes() == before


def test_apply_twice_reports_changed_then_unchanged(run, cfg, tmp_path):
    cfg.write_text(COMMENTED)
    site = tmp_path / "site.toml"
    site.write_text('[mail.smtp]\nserver = "relay.example.org:587"\n')
    first = run("apply", str(site), "--json")
    assert first.code == 0 and first.json()["changed"] is True
    after_first = cfg.read_text()
    assert changed_lines(COMMENTED, after_first) == [
        '-server = "smtp.example.com:587"', '+server = "relay.example.org:587"']
    assert "# trailing comment" in after_first
    second = run("apply", str(site), "--json")
    assert second.code == 0 and second.json() == {
        "changed": False, "check": False, "diff": "", "file": str(cfg)}
    assert run("apply", str(site), "--check", "--json").json()["changed"] is False
    assert cfg.read_text() == after_first


def test_apply_text_output_says_what_happened(run, cfg, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[mail]\nsender_name = "PBX"\n')
    assert "would change" in run("apply", str(site), "--check").out
    assert run("apply", str(site)).out.strip().endswith("changed")
    assert run("apply", str(site)).out.strip().endswith("no change")


def test_apply_redacts_the_password_in_diff_and_json(run, cfg, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text(f'[mail.smtp]\nusername = "pbx"\npassword = "{SENTINEL}"\n')
    r = run("apply", str(site), "--json")
    assert r.code == 0, r.err
    assert "password" in r.json()["diff"]
    assert tomllib.loads(cfg.read_text())["mail"]["smtp"]["password"] == SENTINEL
    run("apply", str(site), "--check")
    run("show")
    run("show", "--json")


def test_apply_reads_standard_input_with_a_dash(run, cfg):
    r = run("apply", "-", "--json", stdin='[mail]\nsender_name = "stdin"\n')
    assert r.code == 0, r.err
    assert r.json()["changed"] is True
    assert tomllib.loads(cfg.read_text())["mail"]["sender_name"] == "stdin"


@pytest.mark.parametrize("content, code, needle", [
    (b'[mail]\nrelay = "internal\n', 3, "site.toml:2:"),
    (b'[mail]\nrelay = "a"\nrelay = "b"\n', 3, "site.toml:3:"),
    (b'[mail]\nsender_name = "\xff"\n', 3, "site.toml:2:"),
    (b'[mail]\nhtml = "yes"\n', 1, "mail.html"),
    (b'[mail]\nrelya = "internal"\n', 1, "mail.relya"),
    (b'[mail]\nrelay = "carrier-pigeon"\n', 1, "mail.relay"),
    (b'[mail.smtp]\npassword = 7\n', 1, "mail.smtp.password"),
])
def test_a_bad_apply_file_changes_nothing(run, cfg, tmp_path, content, code, needle):
    cfg.write_text(COMMENTED)
    before = cfg.read_bytes()
    site = tmp_path / "site.toml"
    site.write_bytes(content)
    r = run("apply", str(site), "--json")
    assert r.code == code, r.err
    assert needle in r.err
    assert r.err.count("\n") >= 1 and "Traceback" not in r.err
    data = r.json()  # scripts can still parse stdout
    assert data["changed"] is False and data["exit_code"] == code
    assert cfg.read_bytes() == before


def test_apply_a_missing_file_is_one_line(run, tmp_path):
    r = run("apply", str(tmp_path / "nope.toml"))
    assert r.code == 1
    assert "nope.toml" in r.err and r.err.count("\n") == 1


# --- TUI and demo are started lazily with the right arguments --------------------


def test_bare_mailconsole_starts_the_tui_with_path_mode_and_language(run, monkeypatch, cfg):
    import types

    calls = []
    fake = types.ModuleType("tui.start")
    fake.run = lambda path, mode=None, lang=None: calls.append((path, mode, lang)) or 0
    monkeypatch.setitem(__import__("sys").modules, "tui.start", fake)
    assert run("--basic", "--lang", "de").code == 0
    assert run().code == 0
    assert run("--rich", "--config", "/x.toml").code == 0
    assert calls == [(str(cfg), "basic", "de"), (str(cfg), None, None), ("/x.toml", "rich", None)]


def test_demo_calls_run_demo(run, monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("mailconsole.demo")
    fake.run_demo = lambda mode=None, lang=None: calls.append((mode, lang)) or 0
    monkeypatch.setitem(__import__("sys").modules, "mailconsole.demo", fake)
    assert run("demo", "--basic").code == 0
    assert run("--rich", "demo").code == 0
    assert calls == [("basic", None), ("rich", None)]


def test_lang_sets_the_language_before_anything_is_printed(run, monkeypatch):
    import mailconsole.cli as cli

    chosen = []
    real = cli.set_language
    monkeypatch.setattr(cli, "set_language", lambda lang=None: chosen.append(lang) or real(lang))
    assert run("--lang", "de", "get", "mail.relay").code == 0
    assert run("get", "--lang=en", "mail.relay").code == 0
    assert run("get", "mail.relay").code == 0
    assert chosen == ["de", "en", None]
