"""Hostile strings for the property tests of issue 12 (tests/mailer/test_hostile_mail.py,
tests/cli/test_hostile_cli.py): what an attacker with write access to one field
(or to the config file) would type."""

from __future__ import annotations

from hypothesis import strategies as st

from config.model import FIELDS

# Fragments that broke something once, or would if a boundary were missing.
FRAGMENTS = [
    "\r", "\n", "\r\n", "\0", "\t", "\x0b", "\x0c", "\x1b", "\x7f",
    "\x85", "\x9b", "\x9d", "\u2028", "\u2029", "\u202e", "\u2066", "\u200f",
    "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=",
    "=?utf-8?b?DQpSZXBseS1UbzogZXZpbEBldmlsLmV4YW1wbGU=?=",
    "=?utf-8?q?=0A.=0D=0AMAIL_FROM:<x@evil.example>=0D=0A?=",
    "=?", "?=", "=0D=0A",
    "\n.\r\n", "\r\n.\r\n", "\r.\r", ".\n", "\n.\n",
    "MAIL FROM:<spoof@evil.example>", "RCPT TO:<victim@evil.example>", "DATA", "QUIT",
    "Bcc: victim@evil.example", "\r\nBcc: victim@evil.example",
    "\x1b]2;PWNED\x1b\\", "\x1b]52;c;cm0gLXJmIH4K\x1b\\", "\x1b[2J", "\x9b31m",
    '"', "\\", "<", ">", ",", ";", ":", "@", "(", ")", "[", "]", "{", "}", "'", "#",
    "-", " ", "ä", "€", "😀", "a@b.example", "pbx", "x" * 80,
]


def hostile_text(max_parts: int = 6) -> st.SearchStrategy[str]:
    """A string made of hostile fragments and arbitrary short text."""
    part = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4))
    return st.lists(part, max_size=max_parts).map("".join)


# Every text setting a user (or the file) can set, the password aside (its
# own tests: never shown).
TEXT_FIELDS = sorted(p for p, f in FIELDS.items() if f.type is str and not f.secret)

# What a terminal acts on: C0 (TAB and LF are layout), DEL, C1, bidi controls.
UNSAFE = frozenset([*map(chr, range(0x00, 0x09)), *map(chr, range(0x0B, 0x20)), "\x7f",
                    *map(chr, range(0x80, 0xA0)), "\u2028", "\u2029",
                    *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))])
