"""Certificate checks (M13) against the capture server with trustme certificates:
valid, wrong host name, unknown CA, expired, not yet valid -- each its class, with
nothing sent to a server that failed the check; with checks off the mail goes
through and the report says the checks were off."""

from __future__ import annotations

import re

import pytest

from mailer import send_test_mail
from tests.mailer.conftest import RCPT, settings_for

SECURITIES = {"implicit": "tls", "starttls": "starttls"}

CERT_CLASSES = {
    "wrong_host": "cert_hostname",
    "unknown_ca": "cert_untrusted",
    "expired": "cert_expired",
    "not_yet_valid": "cert_expired",
}


@pytest.mark.parametrize("tls", sorted(SECURITIES))
def test_a_valid_certificate_for_the_address_passes_and_no_warning(smtp_server, tls):
    server = smtp_server(tls=tls, cert="valid")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.ok, report.failure
    assert report.warnings == []
    cert_steps = [s for s in report.steps if s.name == "certificate"]
    assert [s.status for s in cert_steps] == ["ok"]
    assert server.wait_for_messages(1)[0].tls is True


@pytest.mark.parametrize("tls", sorted(SECURITIES))
@pytest.mark.parametrize("cert", sorted(CERT_CLASSES))
def test_a_bad_certificate_fails_with_its_class_and_no_credentials_leave(
        smtp_server, tls, cert, sentinel_password, assert_no_secret):
    server = smtp_server(tls=tls, cert=cert)
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.ok is False
    assert report.failure is not None
    assert report.failure.cls == CERT_CLASSES[cert]
    assert report.failure.step in ("starttls", "certificate")
    assert report.failure.message and report.failure.advice
    assert server.auth_attempts == [] and server.messages == []
    # (a second connection fetches the refused certificate for the message: it goes
    # as far as the handshake and says QUIT, never further)
    assert {e.command for e in server.events} <= {"EHLO", "STARTTLS", "QUIT"}
    assert_no_secret(report)


@pytest.mark.parametrize("tls", sorted(SECURITIES))
def test_a_refused_certificate_is_described_by_its_names_and_dates(smtp_server, tls):
    """cert_hostname lists the names the certificate is valid for, cert_expired
    its dates (issue 14), fetched again without checks after the refusal."""
    server = smtp_server(tls=tls, cert="wrong_host")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "cert_hostname"
    assert "made out to wrong-host.example.invalid" in report.failure.message
    server = smtp_server(tls=tls, cert="expired")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "cert_expired"
    assert "made out to 127.0.0.1, localhost" in report.failure.message or \
        "made out to localhost, 127.0.0.1" in report.failure.message
    assert re.search(r"valid from \d{4}-\d\d-\d\d \d\d:\d\d UTC until \d{4}-",
                     report.failure.message), report.failure.message


def test_the_system_store_alone_does_not_trust_the_test_ca(smtp_server):
    server = smtp_server(tls="starttls", cert="valid")
    report = send_test_mail(settings=settings_for(server, **{"mail.smtp.ca_file": ""}),
                            recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "cert_untrusted"


@pytest.mark.parametrize("tls", sorted(SECURITIES))
@pytest.mark.parametrize("cert", sorted(CERT_CLASSES))
def test_with_checks_off_the_mail_goes_through_and_the_report_says_so(smtp_server, tls, cert):
    server = smtp_server(tls=tls, cert=cert)
    settings = settings_for(server, **{"mail.smtp.verify_certificates": False,
                                       "mail.smtp.ca_file": ""})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.ok, report.failure
    (received,) = server.wait_for_messages(1)
    assert received.tls is True and received.user == server.user
    assert any("certificate checks were off" in w for w in report.warnings)
    cert_steps = [s for s in report.steps if s.name == "certificate"]
    assert [(s.status, s.detail) for s in cert_steps] == [
        ("warning", "certificate checks were off")]
