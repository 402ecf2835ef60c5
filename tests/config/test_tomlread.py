"""config.tomlread (the read path's small TOML reader) never differs from tomllib:
for every document it either returns exactly what ``tomllib.loads`` returns
(same values, types, nesting and key order: compared by ``repr``) or raises
Unsupported, and it raises Unsupported for every document tomllib rejects.
Checked on generated documents inside the subset, on mutations of them, on
random text from TOML's special characters, and on the malformed corpus.
The store falls back to tomllib for Unsupported, so errors keep their
line:col; and the files the store writes are inside the subset (the fast
path is really taken)."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config import store, tomlread
from config.errors import ConfigSyntaxError
from config.model import Settings
from config.template import render_template
from tests.cli.test_fast_path import FILES
from tests.config.test_malformed import CORPUS
from tests.config.test_store_roundtrip import RICH

SUPPORTED: list[int] = []  # how many generated documents the reader accepted


def agrees(text: str) -> bool:
    """The reader agrees with tomllib on ``text``; True if it returned a value."""
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        with pytest.raises(tomlread.Unsupported):
            tomlread.loads(text)
        return False
    try:
        got = tomlread.loads(text)
    except tomlread.Unsupported:
        return False
    assert repr(got) == repr(expected), text
    assert got == expected
    return True


# --- generated documents inside (and at the edges of) the subset -----------

NAMES = ["a", "b", "mail", "smtp", "relay", "x-y", "_", "0", "1a"]
bare = st.sampled_from(NAMES)
basic_chars = st.one_of(
    st.characters(codec="utf-8", exclude_characters='"\\'),
    st.sampled_from(['\\"', "\\\\", "\\b", "\\t", "\\n", "\\f", "\\r", "\\u00e9", "\\u0000",
                     "\\U0001F600", "\\uD800", "\\U00110000", "\\x41", "\\e", "\\", "\t",
                     "'", "#", "=", "[", "\x7f", "\r"]),
)
basic = st.lists(basic_chars, max_size=8).map(lambda parts: '"' + "".join(parts) + '"')
literal = st.text(st.characters(codec="utf-8", exclude_characters="'\n"), max_size=8).map(
    lambda t: "'" + t + "'")
quoted_key = st.one_of(basic, literal)
key_part = st.one_of(bare, bare, bare, quoted_key)
dots = st.sampled_from([".", " . ", ".\t", " ."])
key = st.lists(key_part, min_size=1, max_size=3).flatmap(
    lambda parts: st.lists(dots, min_size=len(parts) - 1, max_size=len(parts) - 1).map(
        lambda ds: "".join(p + d for p, d in zip(parts, [*ds, ""], strict=True))))
digits = st.from_regex(r"\A[+-]?(0|[1-9](_?[0-9]){0,25})\Z")
integer = st.one_of(digits, st.integers().map(str),
                    st.sampled_from(["0x1F", "0o7", "0b1", "007", "1__0", "1_", "+", "-",
                                     "1.5", "1e3", "inf", "nan", "-inf", "1979-05-27",
                                     "07:32:00", "1" * 120]))
value = st.one_of(basic, literal, integer, st.sampled_from(
    ["true", "false", "True", "truex", "[]", "[1, 2]", "{}", "{a = 1}", '"""x"""', "'''y'''",
     '""', "''"]))
ws = st.sampled_from(["", " ", "  ", "\t"])
comment = st.one_of(st.just(""), st.text(st.characters(codec="utf-8", exclude_characters="\n"),
                                         max_size=6).map(lambda t: " #" + t))
kv_line = st.tuples(ws, key, ws, value, ws, comment).map(
    lambda t: f"{t[0]}{t[1]}{t[2]}={t[2]}{t[3]}{t[4]}{t[5]}")
header_line = st.tuples(ws, st.sampled_from(["[", "[[", "[ "]), key,
                        st.sampled_from(["]", "]]", " ]"]), ws, comment).map("".join)
other_line = st.one_of(st.just(""), ws, comment, st.sampled_from(["# comment", "  # x"]))
line = st.one_of(kv_line, kv_line, kv_line, header_line, header_line, other_line)
document = st.tuples(st.lists(line, max_size=12), st.sampled_from(["\n", "\r\n"]),
                     st.booleans()).map(
    lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(document)
@example('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "x:587"\ntimeout = 1_5\n')
@example("a.b = 1\n[a]\n")           # a table made by dotted keys cannot be declared
@example("[a.b]\n[a]\nb = 1\n")      # nor a key replace it
@example("[a]\nb.c = 1\nb.d = 2\n")  # dotted keys may share a namespace in one section
@example("[a]\nb.c = 1\n[a]\n")
@example("a = 1\n[a]\n")
@example("a = 1\na = 2\n")
@example('a = 1\n"a" = 2\n')
@example("a = 'x'\r\n")
@example("a = 1\r")
def test_a_generated_document_reads_exactly_as_tomllib_or_is_unsupported(text):
    SUPPORTED.append(agrees(text))


def test_the_generated_documents_are_often_inside_the_subset():
    """The property above is not vacuous: the reader accepted many documents."""
    if len(SUPPORTED) < 500:
        pytest.skip("run together with the property test")
    assert sum(SUPPORTED) > len(SUPPORTED) // 5


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(document, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3),
                                    st.sampled_from(list('"\'\\[]=.#\n\r\t x0_-+uU{},')
                                                    + ["\x00", "\x1f", "\x7f", "é", "\u2028",
                                                       "\ufeff", "\\u", "'''", '"""'])),
                          min_size=1, max_size=4))
def test_a_mutated_document_reads_exactly_as_tomllib_or_is_unsupported(text, edits):
    for pos, cut, insert in edits:
        pos = pos % (len(text) + 1)
        text = text[:pos] + insert + text[pos + cut:]
    agrees(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(st.sampled_from(list('ab1"\'\\[]=.#\n\r\t _-+uU{}') + ["\x00", "é"]),
               max_size=40))
def test_random_text_reads_exactly_as_tomllib_or_is_unsupported(text):
    agrees(text)


# --- the corpus and the files the store writes --------------------------------


def _utf8(raw: bytes | None) -> bool:
    """Text the parser can see (the store rejects other bytes before parsing)."""
    if raw is None:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(k for k, v in CORPUS.items() if _utf8(v[0])))
def test_the_malformed_corpus_reads_exactly_as_tomllib_or_is_unsupported(name):
    agrees(CORPUS[name][0].decode("utf-8"))


@pytest.mark.parametrize("name", sorted(k for k, v in FILES.items() if v and _utf8(v)))
def test_the_cli_test_files_read_exactly_as_tomllib_or_are_unsupported(name):
    agrees(FILES[name].decode("utf-8"))  # type: ignore[union-attr]


def test_rich_hand_edited_files_fall_back_to_tomllib():
    """Inline tables, arrays, dates, [[arrays of tables]]: tomllib reads them."""
    with pytest.raises(tomlread.Unsupported):
        tomlread.loads(RICH)
    assert store.parse_data(RICH, "x") == tomllib.loads(RICH)


@pytest.mark.parametrize("settings_", [Settings(), Settings().with_values({
    "mail.relay": "external", "mail.smtp.server": "[2001:db8::1]:587",
    "mail.sender_name": 'Anlage "Süd" \\ \t\x01 😀', "mail.smtp.timeout": 600,
    "mail.smtp.password": "p'w\"\\", "mail.html": False})])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_template_the_store_writes_is_inside_the_subset(settings_, newline):
    text = render_template(settings_).replace("\n", newline)
    assert tomlread.loads(text) == tomllib.loads(text)
    assert Settings.from_mapping(tomlread.loads(text)) == settings_
    assert agrees(text)


def test_an_edited_file_is_inside_the_subset(tmp_path):
    """What `mailconsole set` leaves in a file is read without tomllib."""
    from config.service import SettingsService

    path = tmp_path / "mail.toml"
    svc = SettingsService(path)
    svc.update({"mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
                "mail.smtp.username": "pbx", "mail.smtp.password": "x\\y\"z"})
    svc.update({"mail.sender_name": "Zentrale 'Süd'", "mail.smtp.timeout": 30})
    text = path.read_text()
    assert agrees(text)
    assert tomlread.loads(text)["mail"]["smtp"]["password"] == 'x\\y"z'


# --- the store's fallback -------------------------------------------------------


@pytest.mark.parametrize("text", ["a = 1.5\n", "a = [1]\n", "a = {b = 1}\n", 'a = """x"""\n',
                                  "a = 1979-05-27\n", "a = 0x10\n", "[[a]]\nb = 1\n",
                                  "a.b = 1\n[a.c]\n"])
def test_valid_toml_outside_the_subset_is_read_by_tomllib(text):
    with pytest.raises(tomlread.Unsupported):
        tomlread.loads(text)
    assert store.parse_data(text, "f.toml") == tomllib.loads(text)


@pytest.mark.parametrize(("text", "where"), [
    ('[mail]\nrelay = "internal\n', "f.toml:2:18"),
    ("[mail]\nhtml = true\nhtml = false\n", "f.toml:3:13"),
    ("[mail]\n[mail]\n", "f.toml:2:6"),
    ('a = "\\x41"\n', "f.toml:1:8"),
    ("a = 1\r\n\rb = 2\n", "f.toml:2:1"),
])
def test_invalid_toml_gives_tomllibs_error_position(text, where):
    with pytest.raises(tomlread.Unsupported):
        tomlread.loads(text)
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(ConfigSyntaxError) as e:
        store.parse_data(text, "f.toml")
    assert str(e.value).startswith(where + ": invalid TOML: "), str(e.value)


def test_the_reader_is_used_when_it_can(monkeypatch):
    """parse_data does not call tomllib for a file inside the subset."""
    import sys

    def refuse(text: str) -> None:
        raise AssertionError("tomllib was called")

    fake = type(sys)("tomllib")
    fake.loads = refuse  # type: ignore[attr-defined]
    fake.TOMLDecodeError = tomllib.TOMLDecodeError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tomllib", fake)
    assert store.parse_data('[mail]\nrelay = "external"\n', "f") == {
        "mail": {"relay": "external"}}
    with pytest.raises(AssertionError):
        store.parse_data("a = 1.5\n", "f")


def test_not_a_string_is_unsupported():
    with pytest.raises(tomlread.Unsupported):
        tomlread.loads(b"a = 1")  # type: ignore[arg-type]


@pytest.mark.parametrize("body", ['\\"' * 50_000, "\\t" * 50_000 + "x", 'a\\"b\\\\' * 20_000,
                                  "\\u00e9" * 30_000])
def test_long_strings_full_of_escapes_read_exactly_as_tomllib(body):
    """Each escape is handled once (no rescanning the rest of the line per escape)."""
    text = f'[mail]\nsender_name = "{body}"\n'
    assert agrees(text)
