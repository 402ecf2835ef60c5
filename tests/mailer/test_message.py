"""Building mails (M6): parts, inline logo by Content-ID, headers, and the
test mail's facts -- never the password."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.model import Settings
from mailer import build_test_message
from mailer.message import (
    LOGO_PATH,
    AddressError,
    build_message,
    check_address,
    message_bytes,
    recipients_from_headers,
)

PASSWORD = "Sentinel-Pw-7f3a9c"


def external(**values) -> Settings:
    base = {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.net:587",
        "mail.smtp.username": "pbx@example.net", "mail.smtp.password": PASSWORD,
    }
    base.update(values)
    return Settings().with_values(base)


def test_html_on_is_alternative_of_text_and_related_html_with_the_logo():
    msg = build_test_message(external(**{"mail.html": True}), "admin@example.org")
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, logo = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert logo.get_content_type() == "image/png"
    assert logo.get_content() == LOGO_PATH.read_bytes()
    cid = logo["Content-ID"]
    assert cid.startswith("<") and cid.endswith(">")
    assert f'src="cid:{cid[1:-1]}"' in html.get_content()
    assert "http://" not in html.get_content() and "https://" not in html.get_content()


def test_html_off_is_plain_text_only():
    msg = build_test_message(external(**{"mail.html": False}), "admin@example.org")
    assert msg.get_content_type() == "text/plain"
    assert not msg.is_multipart()
    assert b"image/png" not in message_bytes(msg)


def test_headers_from_date_message_id_and_display_name():
    settings = external(**{"mail.sender": "alerts@example.com", "mail.sender_name": "PBX Süd"})
    msg = build_test_message(settings, "admin@example.org")
    parsed = message_from_bytes(message_bytes(msg), policy=policy.default)
    (sender,) = parsed["From"].addresses
    assert sender.addr_spec == "alerts@example.com"
    assert sender.display_name == "PBX Süd"
    assert parsed["To"].addresses[0].addr_spec == "admin@example.org"
    assert parsed["Date"].datetime is not None
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["Subject"]


def test_wire_format_uses_crlf_and_is_7bit():
    raw = message_bytes(build_test_message(external(**{"mail.sender_name": "Zürich"}),
                                           "admin@example.org"))
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(b < 128 for b in raw)


@pytest.mark.parametrize("html", [True, False])
def test_the_test_mail_states_its_origin_and_never_the_password(html):
    settings = external(**{"mail.html": html})
    raw = message_bytes(build_test_message(settings, "admin@example.org"))
    decoded = message_from_bytes(raw, policy=policy.default)
    text = decoded.get_body(("plain",)).get_content()
    for fact in ("smtp.example.net:587", "STARTTLS", "Host name", "Sent at", "external"):
        assert fact in text
    blobs = [raw, text.encode()]
    if html:
        blobs.append(decoded.get_body(("html",)).get_content().encode())
    for blob in blobs:
        assert PASSWORD.encode() not in blob
        assert base64.b64encode(PASSWORD.encode()) not in blob


def test_the_internal_relay_test_mail_names_sendmail():
    text = build_test_message(Settings(), "admin@example.org").get_body(("plain",)).get_content()
    assert "/usr/sbin/sendmail" in text


@pytest.mark.parametrize("bad", [
    "t@x.y>\r\nRSET", "Bob <bob@x.y>, evil@z.z", "alice@example.org)<bob@example.org>",
    "-oQ/tmp/x", "a@b@c", "", " a@b.c", "a@b.c\n", "a\x00@b.c", "a@-b.c", "a..b@c.d",
    "\"quoted\"@example.org", "a@b.c\x1b[2J",
])
def test_check_address_rejects_everything_but_one_bare_address(bad):
    with pytest.raises(AddressError):
        check_address(bad)


def test_check_address_accepts_plain_and_idn_addresses():
    assert check_address("first.last+tag@example.org") == "first.last+tag@example.org"
    assert check_address("a@bücher.example") == "a@xn--bcher-kva.example"


def test_subject_with_newline_is_rejected():
    with pytest.raises(AddressError):
        build_message(settings=Settings(), recipients=["a@example.org"], subject="hi\nBcc: x@y.z",
                      text="body")


def test_recipients_from_headers_for_dash_t_callers():
    msg = build_message(settings=Settings(), recipients=["a@example.org", "b@example.org"],
                        subject="s", text="t")
    msg["Cc"] = "Carol <c@example.org>"
    assert recipients_from_headers(msg) == ["a@example.org", "b@example.org", "c@example.org"]


@given(st.text())
def test_escape_is_html_escape_with_quotes(text):
    import html

    from mailer.message import escape

    assert escape(text) == html.escape(text, quote=True)

