"""The malformed-input corpus: a clear error with file:line:col or the key path,
a non-zero exit code, the file untouched, and never the password in a message."""

from __future__ import annotations

import pytest

from config import store
from config.errors import ConfigError, ConfigSyntaxError, ConfigTypeError
from config.service import SettingsService

SENTINEL = "S3ntinel-Pw-4711"

CORPUS: dict[str, tuple[bytes, type, str]] = {
    # name: (file bytes, error class, fragment that must be in the message)
    "unclosed table header": (b"[mail\nrelay = 'external'\n", ConfigSyntaxError, ":1:"),
    "missing value": (b"[mail]\nrelay =\n", ConfigSyntaxError, ":2:"),
    "unterminated password string": (
        f'[mail.smtp]\nusername = "u"\npassword = "{SENTINEL}\n'.encode(),
        ConfigSyntaxError, ":3:"),
    "duplicate key": (
        f'[mail.smtp]\npassword = "{SENTINEL}"\npassword = "{SENTINEL}"\n'.encode(),
        ConfigSyntaxError, ":3:"),
    "duplicate table": (b"[mail]\nhtml = true\n[mail]\nhtml = false\n",
                        ConfigSyntaxError, ":3:"),
    "dotted key redefines a table": (b"[mail.smtp]\nserver = 'a'\n[mail]\nsmtp.server = 'b'\n",
                                     ConfigSyntaxError, ":4:"),
    "invalid UTF-8": (b"[mail]\nsender_name = \"Gr\xfc\xdfe\"\n", ConfigSyntaxError,
                      ":2:18: the file is not valid UTF-8"),
    "NUL byte": (b"[mail]\nhtml = true\x00\n", ConfigSyntaxError, ":2:"),
    "a 10 MB file": (b"# " + b"x" * (10 * 1024 * 1024) + b"\n", ConfigSyntaxError,
                     "larger than the limit"),
    "number where a string belongs": (b"[mail.smtp]\nserver = 25\n", ConfigTypeError,
                                      "mail.smtp.server: must be a string"),
    "string where a number belongs": (b"[mail.smtp]\ntimeout = '15'\n", ConfigTypeError,
                                      "mail.smtp.timeout: must be a whole number"),
    "string where a boolean belongs": (b"[mail]\nhtml = 'yes'\n", ConfigTypeError,
                                       "mail.html: must be true or false"),
    "password of the wrong type": (
        b"[mail.smtp]\npassword = 47114711471147114711\n", ConfigTypeError,
        "mail.smtp.password: must be a string, not ********"),
    "password as a table": (f'[mail.smtp.password]\nvalue = "{SENTINEL}"\n'.encode(),
                            ConfigTypeError, "mail.smtp.password"),
    "table replaced by a string": (f'[mail]\nsmtp = "{SENTINEL}"\n'.encode(),
                                   ConfigTypeError, "mail.smtp: must be a table"),
    "table replaced by an array": (f'mail = [{{smtp = {{password = "{SENTINEL}"}}}}]\n'.encode(),
                                   ConfigTypeError, "mail: must be a table"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_input_gives_a_clear_error_and_the_file_is_never_written(tmp_path, name):
    raw, klass, fragment = CORPUS[name]
    path = tmp_path / "mail.toml"
    path.write_bytes(raw)
    messages = []
    for attempt in (
        lambda: SettingsService(path).load(),
        lambda: SettingsService(path).update({"mail.smtp.username": "x"}),
        lambda: SettingsService(path).reset(["mail.html"]),
        lambda: SettingsService(path).apply_toml("[mail]\nhtml = false\n"),
    ):
        with pytest.raises(klass) as e:
            attempt()
        messages.append(str(e.value))
        assert isinstance(e.value, ConfigError) and e.value.exit_code != 0
    for message in messages:
        assert message.startswith(str(path)), message
        assert fragment in message, message
        assert SENTINEL not in message and "4711471147" not in message
        assert "\n" not in message
    if klass is ConfigSyntaxError:
        assert messages[0].count(":") >= 3 and e.value.exit_code == 3
    assert path.read_bytes() == raw
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "mail.toml.lock") == \
        ["mail.toml"], "no backup, no temp file"


def test_a_file_just_under_the_size_limit_is_accepted(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_bytes(b"# " + b"x" * (store.MAX_BYTES - 4) + b"\n")
    assert len(path.read_bytes()) <= store.MAX_BYTES
    SettingsService(path).load()


def test_a_directory_in_place_of_the_file_is_a_clear_error(tmp_path):
    (tmp_path / "mail.toml").mkdir()
    with pytest.raises(ConfigError) as e:
        SettingsService(tmp_path / "mail.toml").load()
    assert "directory" in str(e.value)
