"""Header and command injection: every bad address, name or subject is
rejected in the settings step, before any connection or program is started."""

from __future__ import annotations

import socket

import pytest

from config.model import Settings
from mailer import send, send_test_mail
from mailer.message import build_message

BAD_ADDRESSES = [
    "t@x.y>\r\nRSET",
    "Bob <bob@x.y>, evil@z.z",
    "alice@example.org)<bob@example.org>",
    "-oQ/tmp/x",
    "a@b.c\r\nDATA",
    "a@b.c\x00",
    "x@y.z\nBcc: victim@example.org",
    "<a@b.c>",
    "a@b.c b@c.d",
]


class Listener:
    """A real TCP listener on loopback that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        try:
            conn, _addr = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.sock.close()


def external(listener, **values) -> Settings:
    base = {"mail.relay": "external",
            "mail.smtp.server": f"127.0.0.1:{listener.port}",
            "mail.smtp.security": "none", "mail.smtp.authentication": False,
            "mail.smtp.timeout": 2}
    base.update(values)
    return Settings().with_values(base)


def assert_rejected_before_connecting(report, listener):
    assert not report.ok
    assert report.failure.cls in ("invalid_address", "invalid_settings")
    assert report.failure.step == "settings"
    assert [s.name for s in report.steps] == ["settings"]
    assert not listener.connected()


@pytest.mark.parametrize("bad", BAD_ADDRESSES)
def test_a_bad_recipient_is_rejected_before_any_connection(listener, bad):
    report = send_test_mail(settings=external(listener), recipient=bad)
    assert_rejected_before_connecting(report, listener)


@pytest.mark.parametrize("bad", BAD_ADDRESSES)
def test_a_bad_envelope_sender_is_rejected_before_any_connection(listener, bad):
    settings = external(listener)
    message = build_message(settings=settings, recipients=["a@example.org"], subject="s",
                            text="t")
    report = send(settings=settings, message=message, sender=bad, recipients=["a@example.org"])
    assert_rejected_before_connecting(report, listener)


@pytest.mark.parametrize("bad", BAD_ADDRESSES)
def test_a_bad_configured_sender_is_rejected_before_any_connection(listener, bad):
    report = send_test_mail(settings=external(listener, **{"mail.sender": bad}),
                            recipient="a@example.org")
    assert_rejected_before_connecting(report, listener)


@pytest.mark.parametrize("name", ["PBX\r\nBcc: victim@example.org", "PBX\x00", "PBX\x1b[2J"])
def test_a_sender_name_with_control_characters_is_rejected(listener, name):
    report = send_test_mail(settings=external(listener, **{"mail.sender_name": name}),
                            recipient="a@example.org")
    assert_rejected_before_connecting(report, listener)


def test_a_bad_address_among_several_recipients_is_rejected(listener):
    settings = external(listener)
    message = build_message(settings=settings, recipients=["a@example.org"], subject="s",
                            text="t")
    report = send(settings=settings, message=message,
                  recipients=["a@example.org", "b@example.org>\r\nRSET"])
    assert_rejected_before_connecting(report, listener)


def test_no_recipient_at_all_is_rejected(listener):
    settings = external(listener)
    message = build_message(settings=settings, recipients=["a@example.org"], subject="s",
                            text="t")
    report = send(settings=settings, message=message, recipients=[])
    assert_rejected_before_connecting(report, listener)


@pytest.mark.parametrize("header", [b"Subject: hi\rRSET", b"Subject: a\x00b",
                                    b"X-Note: \x1b]0;owned\x07"])
def test_a_raw_message_with_control_characters_in_a_header_is_rejected(listener, header):
    raw = b"From: pbx@example.com\r\nTo: a@example.org\r\n" + header + b"\r\n\r\nbody\r\n"
    report = send(settings=external(listener), message=raw, recipients=["a@example.org"])
    assert_rejected_before_connecting(report, listener)


def test_a_dash_sendmail_option_never_reaches_the_program(recording_sendmail):
    settings = Settings().with_values({"mail.relay": "internal",
                                       "mail.internal.sendmail": str(recording_sendmail.path)})
    report = send_test_mail(settings=settings, recipient="-oQ/tmp/x")
    assert report.failure is not None and report.failure.cls == "invalid_address"
    assert recording_sendmail.argv() == []
