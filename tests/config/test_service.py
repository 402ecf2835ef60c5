"""SettingsService: what the TUI and CLI call — diff, update, reset, apply, validation."""

from __future__ import annotations

import os
import tomllib

import pytest

from config.errors import ConfigInvalidError, ConfigSyntaxError, ConfigTypeError
from config.model import REDACTED, Settings
from config.service import CHANGED_MASK, ApplyResult, SettingsService, default_config_path

SENTINEL = "S3ntinel-Pw-4711"
NEW_SECRET = 'n3w-"Secret"\\x'
ORIGINAL = (
    "# mail\n[mail]\nrelay = \"external\"\nsender = \"pbx@customer.example\"\n\n"
    "[mail.smtp]\nserver = \"smtp.example.com:587\"  # provider\nusername = \"pbx\"\n"
    f"password = \"{SENTINEL}\"\n"
)


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text(ORIGINAL)
    path.chmod(0o600)
    return path


def test_the_diff_never_shows_the_old_or_the_new_password(cfg):
    svc = SettingsService(cfg)
    new = svc.load().with_values({"mail.smtp.password": NEW_SECRET,
                                  "mail.smtp.username": "zentrale"})
    diff = svc.diff(new)
    assert SENTINEL not in diff and NEW_SECRET not in diff and "n3w-" not in diff
    assert f'-password = "{REDACTED}"' in diff and f'+password = "{CHANGED_MASK}"' in diff
    assert '+username = "zentrale"' in diff
    assert svc.diff(svc.settings) == ""


def test_a_password_in_a_dotted_or_inline_key_is_redacted_in_the_diff(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text(f'[mail]\nrelay = "internal"\nsmtp = {{ password = "{SENTINEL}", '
                    'username = "u" }\n')
    svc = SettingsService(path)
    diff = svc.diff(svc.load().with_values({"mail.smtp.username": "v"}))
    assert diff and SENTINEL not in diff


def test_update_validates_the_whole_result_and_refuses_errors_without_writing(cfg):
    svc = SettingsService(cfg)
    with pytest.raises(ConfigInvalidError) as e:
        svc.update({"mail.smtp.server": "101.202.303.404:88"})
    assert "303 > 255" in str(e.value) and e.value.exit_code == 1
    assert SENTINEL not in str(e.value)
    assert cfg.read_text() == ORIGINAL


def test_update_writes_one_line_and_reports_whether_anything_changed(cfg):
    svc = SettingsService(cfg)
    s, changed = svc.update({"mail.smtp.server": "smtp.example.com:465",
                             "mail.smtp.security": "tls"})
    assert changed and s.mail.smtp.security == "tls"
    text = cfg.read_text()
    assert 'server = "smtp.example.com:465"  # provider' in text
    assert svc.settings == s
    assert svc.update({"mail.smtp.security": "tls"}) == (s, False)


def test_update_refuses_an_unknown_key_or_a_wrong_type_naming_the_key(cfg):
    svc = SettingsService(cfg)
    with pytest.raises(ConfigTypeError) as e:
        svc.update({"mail.smtp.port": 25})
    assert "mail.smtp.port" in str(e.value)
    with pytest.raises(ConfigTypeError) as e:
        svc.update({"mail.smtp.password": 12345678})
    assert "12345678" not in str(e.value) and "mail.smtp.password" in str(e.value)
    assert cfg.read_text() == ORIGINAL


def test_reset_refuses_a_result_that_does_not_validate(cfg):
    svc = SettingsService(cfg)
    with pytest.raises(ConfigInvalidError) as e:
        svc.reset(["mail.smtp.server"])  # the relay is still external
    assert "mail.smtp.server" in str(e.value)
    assert cfg.read_text() == ORIGINAL


def test_reset_keeps_the_line_and_its_comment(cfg):
    svc = SettingsService(cfg)
    s, changed = svc.reset(["mail.relay", "mail.smtp.server"])
    assert changed and s.mail.relay == "internal" and s.mail.smtp.server == ""
    assert 'server = ""  # provider' in cfg.read_text()
    with pytest.raises(ConfigTypeError):
        svc.reset(["no.such.key"])


def test_apply_merges_a_partial_file_and_is_idempotent(cfg):
    svc = SettingsService(cfg)
    doc = "[mail.smtp]\nserver = 'smtp.example.com:465'\nsecurity = 'tls'\n"
    check = svc.apply_toml(doc, check=True)
    assert isinstance(check, ApplyResult) and check.changed
    assert "+security = \"tls\"" in check.diff
    assert cfg.read_text() == ORIGINAL  # --check changes nothing
    first = svc.apply_toml(doc)
    assert first.changed and first.settings.mail.smtp.security == "tls"
    second = svc.apply_toml(doc)
    assert (second.changed, second.diff) == (False, "")
    assert svc.apply_toml(doc, check=True).changed is False


def test_apply_refuses_unknown_keys_wrong_types_and_bad_toml_naming_the_source(cfg):
    svc = SettingsService(cfg)
    with pytest.raises(ConfigTypeError) as e:
        svc.apply_toml("[mail.smtp]\nsrever = 'x'\n", source="site.toml")
    assert str(e.value).startswith("site.toml: mail.smtp.srever")
    with pytest.raises(ConfigTypeError) as e:
        svc.apply_toml(f"[mail.smtp]\npassword = ['{SENTINEL}']\n", source="site.toml")
    assert SENTINEL not in str(e.value)
    with pytest.raises(ConfigSyntaxError) as e:
        svc.apply_toml("[mail\n", source="site.toml")
    assert str(e.value).startswith("site.toml:1:")
    with pytest.raises(ConfigInvalidError):
        svc.apply_toml("[mail.smtp]\nserver = '101.202.303.404:88'\n")
    assert cfg.read_text() == ORIGINAL


def test_apply_to_a_missing_file_creates_it_from_the_template(tmp_path):
    svc = SettingsService(tmp_path / "mail.toml")
    r = svc.apply_toml("[mail]\nsender = 'pbx@customer.example'\n")
    assert r.changed and (tmp_path / "mail.toml").exists()
    assert svc.apply_toml("[mail]\nsender = 'pbx@customer.example'\n").changed is False


def test_validate_warns_when_the_file_with_the_password_is_world_readable(cfg):
    svc = SettingsService(cfg)
    s = svc.load()
    assert svc.validate(s) == []
    cfg.chmod(0o644)
    assert [p.key for p in svc.validate(s)] == ["mail.smtp.password"]


def test_nothing_the_service_returns_shows_the_password(cfg):
    svc = SettingsService(cfg)
    s = svc.load()
    assert s.mail.smtp.password == SENTINEL
    assert SENTINEL not in repr(s) and SENTINEL not in str(s)
    assert SENTINEL not in repr(svc.validate(s))


def test_the_default_path_comes_from_the_environment(monkeypatch, tmp_path):
    assert default_config_path() == tmp_path / "mail.toml"
    monkeypatch.delenv("MAILCONSOLE_CONFIG")
    assert str(default_config_path()) == "/etc/mailconsole/mail.toml"


def test_the_service_reads_what_it_wrote(cfg):
    svc = SettingsService(cfg)
    s = svc.load().with_values({"mail.sender_name": "Zentrale \"Süd\" #1 'x' \\ ü"})
    svc.save(s)
    assert Settings.from_mapping(tomllib.loads(cfg.read_text())) == s
    assert SettingsService(cfg).load() == s
    assert os.stat(cfg).st_mode & 0o777 == 0o600


def test_a_short_or_multi_line_password_is_redacted_in_the_diff(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text('[mail.smtp]\npassword = """pw"""\n')
    svc = SettingsService(path)
    diff = svc.diff(svc.load().with_values({"mail.smtp.password": "q1"}))
    assert '-password = "********"' in diff and f'+password = "{CHANGED_MASK}"' in diff
    assert '"""pw' not in diff and '"q1"' not in diff
