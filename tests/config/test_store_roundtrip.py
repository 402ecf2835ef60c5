"""Round trips and leaf edits: comments, order, quoting, newlines and unknown keys stay."""

from __future__ import annotations

import difflib
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.model import FIELDS, Settings
from config.service import SettingsService
from config.template import render_template

RICH = (
    "# Mail settings of the PBX — Grüße aus Köln 📞\r\n"
    "# (hand-edited, keep this header)\r\n"
    "\r\n"
    "[appliance]\r\n"
    "deployment = 'on-premises'   # literal string, two spaces before the comment\r\n"
    "\r\n"
    "[mail]\r\n"
    "relay = \"external\"  # M1\r\n"
    "sender = \"zentrale@bücher.example\"\r\n"
    "sender_name = \"Telefonanlage \\\"Süd\\\"\"\r\n"
    "html = true\r\n"
    "internal = { sendmail = \"/usr/sbin/sendmail\" }  # inline table\r\n"
    "\r\n"
    "# the server, written with dotted keys\r\n"
    "smtp.server = \"smtp.example.com:587\"\r\n"
    "smtp.security   =   \"starttls\"\r\n"
    "smtp.username = \"pbx\"\r\n"
    "smtp.password = \"S3ntinel-Pw-4711\"\r\n"
    "\r\n"
    "[mail.pop3]\r\n"
    "# SMTP after POP3 is off\r\n"
    "enabled = false\r\n"
    "server = \"\"\r\n"
    "\r\n"
    "[vendor.extension]   # a table we do not know\r\n"
    "colour = \"grün\"\r\n"
    "numbers = [1, 2, 3,]\r\n"
    "when = 1979-05-27T07:32:00Z\r\n"
    "\r\n"
    "[[vendor.list]]\r\n"
    "name = 'a'\r\n"
)


@pytest.fixture
def rich(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_bytes(RICH.encode())
    return path


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.ndiff(old.splitlines(True), new.splitlines(True))
            if line[:1] in "+-"]


def test_an_unchanged_file_is_byte_identical_after_load_and_save(rich):
    svc = SettingsService(rich)
    s = svc.load()
    assert s.mail.smtp.server == "smtp.example.com:587" and s.mail.sender_name.endswith('"Süd"')
    assert svc.render(s) == RICH
    assert svc.diff(s) == ""
    assert svc.save(s) is False
    assert rich.read_bytes() == RICH.encode()
    assert not (rich.parent / "mail.toml.bak").exists()


@pytest.mark.parametrize("key, value, line", [
    ("mail.smtp.server", "smtp.example.com:465", 'smtp.server = "smtp.example.com:465"\r\n'),
    ("mail.smtp.security", "tls", 'smtp.security   =   "tls"\r\n'),
    ("appliance.deployment", "cloud",
     "deployment = 'cloud'   # literal string, two spaces before the comment\r\n"),
    ("mail.relay", "internal", 'relay = "internal"  # M1\r\n'),
    ("mail.internal.sendmail", "/usr/lib/sendmail", None),
    ("mail.smtp.username", "zentrale", 'smtp.username = "zentrale"\r\n'),
    ("mail.html", False, "html = false\r\n"),
])
def test_one_edit_changes_exactly_one_line_and_keeps_its_comment(rich, key, value, line):
    svc = SettingsService(rich)
    s = svc.load()
    assert svc.save(s.with_values({key: value}))
    new = rich.read_bytes().decode()
    diff = changed_lines(RICH, new)
    assert len([d for d in diff if d.startswith("-")]) == 1
    assert len([d for d in diff if d.startswith("+")]) == 1
    if line is not None:
        assert diff[-1] == "+ " + line
    assert "\n" not in new.replace("\r\n", "")  # CRLF stays CRLF
    assert SettingsService(rich).load().get(key) == value


def test_a_save_keeps_the_comments_unknown_tables_and_unicode_around_the_value_it_changed(rich):
    svc = SettingsService(rich)
    svc.save(svc.load().with_values({"mail.smtp.username": "zentrale"}))
    new = rich.read_text(encoding="utf-8")
    for fragment in ("Grüße aus Köln 📞", "# the server, written with dotted keys",
                     "[vendor.extension]   # a table we do not know", "colour = \"grün\"",
                     "when = 1979-05-27T07:32:00Z", "[[vendor.list]]"):
        assert fragment in new
    data = tomllib.loads(new)
    assert data["vendor"]["extension"]["numbers"] == [1, 2, 3]


def test_a_missing_key_is_added_inside_its_own_table(rich):
    svc = SettingsService(rich)
    svc.save(svc.load().with_values({"mail.smtp.timeout": 30, "mail.pop3.server": "pop.x.de"}))
    new = rich.read_bytes().decode()
    data = tomllib.loads(new)
    assert data["mail"]["smtp"]["timeout"] == 30 and data["mail"]["pop3"]["server"] == "pop.x.de"
    assert len(changed_lines(RICH, new)) == 3  # one added line, one edited (- and +)


def test_a_missing_table_is_appended_without_touching_the_rest(tmp_path):
    path = tmp_path / "mail.toml"
    original = "# only a comment\n[mail]\nsender = \"a@b.example\" # mine\n"
    path.write_text(original)
    svc = SettingsService(path)
    svc.save(svc.load().with_values({"mail.pop3.server": "pop.b.example",
                                     "appliance.deployment": "cloud"}))
    new = path.read_text()
    assert new.startswith(original)
    assert tomllib.loads(new) == {"mail": {"sender": "a@b.example",
                                           "pop3": {"server": "pop.b.example"}},
                                  "appliance": {"deployment": "cloud"}}


def test_a_missing_file_is_created_from_the_commented_template(tmp_path):
    path = tmp_path / "mail.toml"
    svc = SettingsService(path)
    assert svc.load() == Settings() and not path.exists()  # loading never writes
    assert svc.save(svc.settings.with_values({"mail.sender": "pbx@customer.example"}))
    text = path.read_text()
    assert Settings.from_mapping(tomllib.loads(text)).mail.sender == "pbx@customer.example"
    for key, f in FIELDS.items():
        leaf = key.rsplit(".", 1)[1]
        assert f"\n{leaf} = " in text
        assert f.help.split()[0] in text  # the manual's meaning is the comment
    assert "(M7)" in text and "[mail.smtp]" in text


def test_the_template_alone_holds_every_default():
    assert Settings.from_mapping(tomllib.loads(render_template())) == Settings()


_values = {
    "mail.sender": st.from_regex(r"\A[a-z]{1,8}@[a-z]{1,8}\.example\Z"),
    "mail.sender_name": st.text(max_size=20),
    "mail.smtp.server": st.text(max_size=20),
    "mail.smtp.password": st.text(max_size=20),
    "mail.smtp.timeout": st.integers(-5, 10**6),
    "mail.html": st.booleans(),
    "mail.internal.sendmail": st.text(max_size=12),
    "mail.pop3.server": st.text(alphabet="ab'\"\\#=[]{} \t\u00e9", max_size=10),
    "appliance.deployment": st.sampled_from(["cloud", "on-premises"]),
}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(sorted(_values)), st.none(), min_size=1).flatmap(
    lambda d: st.fixed_dictionaries({k: _values[k] for k in d})))
def test_any_edit_round_trips_exactly_and_leaves_unrelated_lines_alone(tmp_path_factory, edit):
    path = tmp_path_factory.mktemp("rt") / "mail.toml"
    path.write_bytes(RICH.encode())
    svc = SettingsService(path)
    wanted = svc.load().with_values(edit)
    text = svc.render(wanted)
    assert tomllib.loads(text)["vendor"] == tomllib.loads(RICH)["vendor"]
    path.write_text(text, newline="")
    assert SettingsService(path).load() == wanted
    changed = {k for k, v in edit.items() if Settings.from_mapping(tomllib.loads(RICH)).get(k) != v}
    assert len([d for d in changed_lines(RICH, text) if d.startswith("-")]) <= len(changed)


LAYOUTS = [
    '[mail.smtp]\nserver = "a"\n[vendor]\nx = 1\n[mail.pop3]\nserver = "p"\n',
    '[mail.smtp]\nserver = "a"\n[vendor]\nx = 1\n[mail]\nhtml = true\n',
    'mail.smtp.server = "a"\n[mail.pop3]\nserver = "p"\n',
    '[mail]\nsmtp.server = "a"\n[mail.pop3]\nserver = "p"\n',
    'mail = { smtp = { server = "a" } }\n',
    '[appliance]\n[mail]\n[mail.smtp]\n',
    '',
    '\n\n# only a comment, no newline at the end',
]
EDITS = {"mail.smtp.username": "u", "mail.relay": "external", "mail.pop3.enabled": True,
         "mail.smtp.timeout": 20, "appliance.deployment": "cloud",
         "mail.internal.sendmail": "/x"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_edits_land_in_the_right_table_whatever_the_layout(tmp_path, layout):
    path = tmp_path / "mail.toml"
    path.write_text(layout)
    svc = SettingsService(path)
    base = svc.load()
    for key, value in [*EDITS.items(), ("all", None)]:
        wanted = base.with_values(EDITS if key == "all" else {key: value})
        text = svc.render(wanted)
        assert Settings.from_mapping(tomllib.loads(text)) == wanted
        assert tomllib.loads(text).get("vendor") == tomllib.loads(layout).get("vendor")
