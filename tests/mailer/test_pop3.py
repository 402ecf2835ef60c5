"""SMTP after POP3 (M15) against Debian's dovecot started by the test: POP3 with
STLS for security "starttls", POP3S for "tls", plain only when plaintext login is
allowed; then the mail goes out without SMTP AUTH."""

from __future__ import annotations

import pytest

from mailer import send_test_mail
from tests.mailer.conftest import RCPT, settings_for


def _settings(smtp, pop3, pop3_port, **overrides):
    return settings_for(smtp, **{
        "mail.smtp.authentication": False,
        "mail.smtp.username": pop3.user,
        "mail.smtp.password": pop3.password,
        "mail.pop3.enabled": True,
        "mail.pop3.server": f"{pop3.host}:{pop3_port}",
        **overrides,
    })


@pytest.mark.parametrize("tls, port_attr", [("starttls", "pop3_port"),
                                            ("implicit", "pop3s_port")])
def test_smtp_after_pop3_logs_in_encrypted_then_sends_without_auth(
        smtp_server, pop3_server, tls, port_attr, assert_no_secret):
    smtp = smtp_server(tls=tls, auth=False)
    port = getattr(pop3_server, port_attr)
    report = send_test_mail(settings=_settings(smtp, pop3_server, port), recipient=RCPT)

    assert report.ok, report.failure
    logins = pop3_server.wait_for_login(1)
    assert [(x.user, x.port, x.tls) for x in logins] == [(pop3_server.user, port, True)]
    (received,) = smtp.wait_for_messages(1)
    assert received.user is None and smtp.auth_attempts == []
    assert received.rcpt_tos == [RCPT]
    names = [s.name for s in report.steps]
    assert names.index("pop3") < names.index("mail_from")
    assert [s.status for s in report.steps if s.name == "login"] in ([], ["skipped"])
    assert [s.status for s in report.steps if s.name == "pop3"] == ["ok"]
    assert any(t.text.startswith("PASS ") for t in report.transcript if t.direction == "C")
    assert_no_secret(report, pop3_server.log())


def test_a_wrong_pop3_password_is_pop3_login_failed_and_nothing_is_sent(
        smtp_server, pop3_server):
    smtp = smtp_server(tls="starttls", auth=False)
    settings = _settings(smtp, pop3_server, pop3_server.pop3_port,
                         **{"mail.smtp.password": "not-the-password"})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("pop3_login_failed", "pop3")
    assert pop3_server.logins() == []
    assert smtp.messages == [] and smtp.events == []


def test_plain_pop3_is_refused_by_our_rule_unless_plaintext_login_is_allowed(
        smtp_server, pop3_server):
    smtp = smtp_server(tls="none", auth=False)
    report = send_test_mail(settings=_settings(smtp, pop3_server, pop3_server.pop3_port),
                            recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "plaintext_auth_refused"
    assert pop3_server.logins() == [] and smtp.messages == []

    allowed = _settings(smtp, pop3_server, pop3_server.pop3_port,
                        **{"mail.smtp.allow_plaintext_auth": True})
    report = send_test_mail(settings=allowed, recipient=RCPT)
    assert report.ok, report.failure
    logins = pop3_server.wait_for_login(1)
    assert [(x.port, x.tls) for x in logins] == [(pop3_server.pop3_port, False)]
    assert smtp.wait_for_messages(1)[0].tls is False


def test_pop3s_with_an_untrusted_certificate_is_refused_before_the_password(
        smtp_server, pop3_server):
    smtp = smtp_server(tls="implicit", auth=False)
    settings = _settings(smtp, pop3_server, pop3_server.pop3s_port,
                         **{"mail.smtp.ca_file": str(pop3_server.ca.other_ca_file)})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "cert_untrusted"
    assert report.failure.step in ("pop3", "starttls", "certificate")
    assert not any(t.text.startswith(("USER", "PASS")) for t in report.transcript)
    assert pop3_server.logins() == [] and smtp.messages == []
