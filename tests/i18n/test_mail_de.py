"""The German test mail, as the receiving server (the loopback aiosmtpd capture
server of tests/servers/smtp.py) gets it: subject and body German, decoded
from the wire (RFC 2047 subject, quoted-printable/base64 UTF-8 body)."""

from __future__ import annotations

import socket

import pytest

from config.i18n import set_language
from config.model import Settings
from mailer import send_test_mail

RCPT = "admin@example.org"


def _bodies(msg) -> dict[str, str]:
    return {part.get_content_type(): part.get_content()
            for part in msg.walk() if part.get_content_maintype() == "text"}


@pytest.mark.parametrize("html", [False, True])
def test_the_german_test_mail_arrives_in_german(smtp_server, german, html, sentinel_password):
    server = smtp_server(tls="starttls")
    settings = Settings().with_values(server.settings_values(**{"mail.html": html}))
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.ok, report.failure

    (received,) = server.wait_for_messages(1)
    msg = received.message
    host = socket.gethostname()
    assert msg["Subject"] == f"mailconsole-Testmail von {host}"
    bodies = _bodies(msg)
    assert set(bodies) == ({"text/plain", "text/html"} if html else {"text/plain"})
    text = bodies["text/plain"]
    assert text.startswith(f"Dies ist eine Testmail von mailconsole auf {host}. "
                           "Wenn Sie sie lesen können, kann die Appliance")
    for line in ("Mail-Server:", "externer SMTP-Server", "Sicherheit:", "Zertifikate:",
                 "geprüft", "Anmeldung:", "SMTP AUTH als", "Absender:", "HTML-Emails:",
                 "Gesendet am:"):
        assert line in text, line
    assert ("HTML-Emails:" in text) and (("an" if html else "aus") in text.split(
        "HTML-Emails:")[1].split())
    assert "test mail" not in text.lower() and "Sender:" not in text
    if html:
        page = bodies["text/html"]
        assert "Dies ist eine Testmail" in page and "Zertifikate" in page
        assert "geprüft" in page or "gepr&uuml;ft" in page
    assert sentinel_password not in received.data.decode("utf-8", "replace")


def test_the_same_mail_is_english_after_switching_back(smtp_server):
    set_language("de")
    set_language("en")
    server = smtp_server(tls="none", auth=False)
    report = send_test_mail(settings=Settings().with_values(server.settings_values()),
                            recipient=RCPT)
    assert report.ok, report.failure
    (received,) = server.wait_for_messages(1)
    assert received.message["Subject"].startswith("mailconsole test mail from ")
    assert "This is a test mail" in _bodies(received.message)["text/plain"]


def test_the_german_report_steps_and_failure_advice(smtp_server, german):
    """A refused login, diagnosed in German: the step titles and the advice."""
    server = smtp_server(tls="starttls")
    settings = Settings().with_values(server.settings_values(
        **{"mail.smtp.password": "wrong-password-1"}))
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert not report.ok
    assert report.failure.cls == "auth_failed"                       # interface: English
    assert "hat die Anmeldung abgelehnt" in report.failure.message
    assert report.failure.advice.startswith("Prüfen Sie „Benutzername“ und „Passwort“")
    titles = [s.title for s in report.steps]
    assert "Einstellungen prüfen" in titles
    assert any(t.startswith("Mit 127.0.0.1:") and t.endswith(" verbinden") for t in titles)
    assert any(t.startswith("Anmelden als ") for t in titles)
    assert [s.name for s in report.steps][:2] == ["settings", "resolve"]  # names: English
    assert server.messages == []
