"""Small parsers of the conversation: the queue id of the answer to the
message, and the escaping of control characters from the other side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.session import printable
from mailer.smtp import queue_id_of


@pytest.mark.parametrize("message, queue_id", [
    ("2.0.0 Ok: queued as 4A11CE", "4A11CE"),            # Postfix
    ("OK id=1abcde-000123-AB", ""),                      # Exim: no "queued as"
    ("Ok queued as <abc.123@mx>", "abc.123@mx"),
    ("Queued As  XYZ-1", "XYZ-1"),
    ("queued asX", ""),
    ("queued as", ""),
    ("İstanbul queued as Q1", "Q1"),                     # lower() changes the length
])
def test_the_queue_id_is_taken_from_queued_as(message, queue_id):
    assert queue_id_of(message) == queue_id


def test_control_characters_from_the_server_are_shown_escaped():
    assert printable("a\x1b[2Jb\x00\x7f\x85\u2028") == "a\\x1b[2Jb\\x00\\x7f\\x85\\u2028"
    assert printable("x\u202eexe.txt\u2066") == "x\\u202eexe.txt\\u2066"  # bidi controls
    assert printable("tab\tand äöü stay") == "tab\tand äöü stay"


@given(st.one_of(st.from_regex(r"[0-9a-f]{8}\.[0-9]+", fullmatch=True),
                 st.from_regex(r"[0-9a-fA-F]{7,9}\.?[0-9٣x]{0,3}\n?", fullmatch=True),
                 st.text(alphabet="0123456789abcdefABCDEF.x٣\n", max_size=14)))
def test_hash_link_names_are_recognised_like_the_openssl_pattern(name):
    import re

    from mailer.wire import _is_hash_name

    assert _is_hash_name(name) == bool(re.match(r"[0-9a-f]{8}\.[0-9]+\Z", name))
