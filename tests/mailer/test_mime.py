"""mailer.mime writes the mailer's own mails without the email package; the
email package (the receiving side's view) must read back exactly what went
in: names, subject, text, HTML, logo, for any text a user can enter."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from config.model import Settings
from mailer.message import LOGO_PATH, build_test_mail_bytes, compose_message, message_bytes
from mailer.mime import compose, format_date, header

# what check_text lets through: no C0/C1 control characters, no U+2028/2029
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs"),
                             blacklist_characters="\u2028\u2029"), max_size=300)


def _settings(**values) -> Settings:
    base = {"mail.relay": "external", "mail.smtp.server": "smtp.example.net:587",
            "mail.sender": "pbx@example.com"}
    base.update(values)
    return Settings().with_values(base)


def _read(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def _words(text: str) -> str:
    return "".join(text.split())


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _well_formed(raw: bytes) -> None:
    assert all(b < 128 for b in raw)                       # 7-bit
    assert b"\n" not in raw.replace(b"\r\n", b"")           # CRLF only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@examples(max_examples=150, deadline=None)
@given(name=TEXT, subject=TEXT, text=TEXT)
def test_names_subject_and_text_read_back_exactly(name, subject, text):
    raw = compose(sender="pbx@example.com", sender_name=name, recipients=["a@example.org"],
                  subject=subject, text=text, message_id="<1.2@example.com>")
    _well_formed(raw)
    msg = _read(raw)
    (sender,) = msg["From"].addresses
    # (white space in a display name is not kept exactly by the email package's
    # reader: it folds runs into one space and, unlike RFC 2047, puts a space
    # between two encoded words of a phrase; the characters must all be there)
    assert (_words(sender.display_name), sender.addr_spec) == (_words(name), "pbx@example.com")
    assert str(msg["Subject"]).strip() == subject.strip()
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    assert _lf(msg.get_content()) == (body if body.endswith("\n") else body + "\n")


@examples(max_examples=40, deadline=None)
@given(text=TEXT, html=TEXT)
def test_html_and_logo_read_back_exactly(text, html):
    logo = LOGO_PATH.read_bytes()
    raw = compose(sender="pbx@example.com", sender_name="", recipients=["a@example.org"],
                  subject="s", text=text, html=html, logo=logo, logo_cid="<l.1@example.com>",
                  message_id="<1.2@example.com>")
    _well_formed(raw)
    msg = _read(raw)
    plain, related = msg.get_payload()
    html_part, logo_part = related.get_payload()
    body = html.replace("\r\n", "\n").replace("\r", "\n")
    assert _lf(html_part.get_content()) == (body if body.endswith("\n") else body + "\n")
    assert _lf(plain.get_content()).rstrip("\n") == \
        text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    assert logo_part.get_content() == logo
    assert logo_part["Content-ID"] == "<l.1@example.com>"
    assert logo_part.get_content_disposition() == "inline"


@pytest.mark.parametrize("html", [True, False])
def test_the_test_mail_in_any_language_is_7bit_and_reads_back(html, monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "pbx-" + "h" * 60 + ".example.org")
    settings = _settings(**{"mail.html": html, "mail.sender_name": "Zentrale Süd — Ätna"})
    raw = build_test_mail_bytes(settings, "admin@example.org")
    _well_formed(raw)
    msg = _read(raw)
    assert str(msg["Subject"]).endswith("h" * 60 + ".example.org")
    assert msg["From"].addresses[0].display_name == "Zentrale Süd — Ätna"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"].datetime is not None
    assert re.fullmatch(r"<\d+\.\d+\.\d+@example\.com>", msg["Message-ID"])
    assert msg.get_content_type() == ("multipart/alternative" if html else "text/plain")
    assert "smtp.example.net:587" in msg.get_body(("plain",)).get_content()


def test_build_message_is_the_parsed_bytes_and_survives_resending():
    settings = _settings(**{"mail.html": True})
    raw = compose_message(settings=settings, recipients=["a@example.org"], subject="Grüße",
                          text="Zeile 1\n.\n..dots stay\nÜmlaut " + "x" * 120 + "\n")
    msg = _read(raw)
    again = _read(message_bytes(_read(raw)))  # through the generator once more
    for m in (msg, again):
        assert str(m["Subject"]) == "Grüße"
        assert _lf(m.get_body(("plain",)).get_content()) == \
            "Zeile 1\n.\n..dots stay\nÜmlaut " + "x" * 120 + "\n"


def test_header_folds_long_or_non_ascii_values_and_keeps_short_ascii():
    assert header("Subject", "hello") == "Subject: hello"
    folded = header("Subject", "ä" * 100)
    assert all(len(line) <= 78 for line in folded.split("\r\n"))
    assert "ä" not in folded


def test_the_date_is_rfc_5322_in_english_whatever_the_locale():
    from email.utils import parsedate_to_datetime

    when = parsedate_to_datetime(format_date(0))
    assert when.timestamp() == 0
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} "
                        r"\d\d:\d\d:\d\d [+-]\d{4}", format_date())
