"""Self-tests: each loopback test server behaves as its docstring says (stdlib clients)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import pytest


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "pbx@example.com"
    msg["To"] = "admin@example.org"
    msg["Subject"] = "self-test"
    msg.set_content("hello\n.leading dot\n")
    return msg


def test_the_starttls_server_records_the_envelope_tls_and_user(smtp_server, ca):
    server = smtp_server(tls="starttls", user="u1@example.org", password="pw-1")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # AUTH only after STARTTLS by default
        client.starttls(context=ca.client_context())
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"]
        client.login("u1@example.org", "pw-1")
        client.send_message(_message(), "env-from@example.com", ["rcpt@example.org"])
    (got,) = server.wait_for_messages(1)
    assert got.mail_from == "env-from@example.com"
    assert got.rcpt_tos == ["rcpt@example.org"]
    assert got.tls is True
    assert got.user == "u1@example.org"
    assert got.message["Subject"] == "self-test"
    assert ".leading dot" in got.message.get_content()
    assert got.queue_id
    assert server.commands() == ["EHLO", "EHLO", "AUTH", "MAIL", "RCPT", "DATA"]
    assert [e.tls for e in server.events] == [False, True, True, True, True, True]


def test_the_implicit_tls_server_speaks_tls_from_the_first_byte(smtp_server, ca):
    server = smtp_server(tls="implicit", password="pw")
    with smtplib.SMTP_SSL(server.host, server.port, timeout=5,
                          context=ca.client_context()) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        client.login(server.user, "pw")
        client.send_message(_message())
    (got,) = server.wait_for_messages(1)
    assert got.tls is True and got.user == server.user


def test_a_wrong_password_is_refused_with_535_and_recorded_without_it(smtp_server, ca):
    server = smtp_server(tls="starttls", password="right")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=ca.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            client.login(server.user, "wrong-pw-xyz")
    assert err.value.smtp_code == 535
    assert server.auth_attempts  # smtplib tries each offered mechanism in turn
    assert all(not a.ok and a.tls and a.login == server.user for a in server.auth_attempts)
    assert "MAIL" not in server.commands()
    assert "wrong-pw-xyz" not in repr(server.auth_attempts)


def test_the_plain_server_offers_auth_without_tls_when_allowed(smtp_server):
    server = smtp_server(tls="none", password="pw")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        assert client.has_extn("auth")
        client.login(server.user, "pw")
        client.send_message(_message())
    (got,) = server.wait_for_messages(1)
    assert got.tls is False and got.user == server.user


def test_auth_false_offers_no_auth(smtp_server):
    server = smtp_server(tls="none", auth=False)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        client.send_message(_message())
    assert server.wait_for_messages(1)[0].user is None


@pytest.mark.parametrize("cert, reason", [
    ("valid", None),
    ("wrong_host", "IP address mismatch"),
    ("expired", "certificate has expired"),
    ("not_yet_valid", "certificate is not yet valid"),
    ("unknown_ca", "unable to get local issuer certificate"),
])
def test_each_certificate_fails_verification_for_its_own_reason(smtp_server, ca, cert, reason):
    server = smtp_server(tls="implicit", cert=cert)
    ctx = ca.client_context()
    if reason is None:
        with smtplib.SMTP_SSL("127.0.0.1", server.port, timeout=5, context=ctx) as c:
            assert c.noop()[0] == 250
        return
    with pytest.raises(ssl.SSLCertVerificationError) as err:
        smtplib.SMTP_SSL("127.0.0.1", server.port, timeout=5, context=ctx)
    assert reason in str(err.value)
