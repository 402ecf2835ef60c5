"""The internal relay (M1) through a real sendmail-compatible program: Debian's
msmtp delivering to the capture server; the exact argument list; EX_TEMPFAIL,
a failing msmtp and a missing sendmail give their classes."""

from __future__ import annotations

from config.model import Settings
from mailer import send_test_mail
from tests.mailer.conftest import RCPT
from tests.servers.sendmail import TEMPFAIL_MESSAGE


def _internal(path) -> Settings:
    return Settings().with_values({"mail.relay": "internal",
                                   "mail.sender": "pbx@example.com",
                                   "mail.internal.sendmail": str(path)})


def test_msmtp_delivers_the_test_mail_to_the_smtp_server(smtp_server, msmtp_sendmail):
    server = smtp_server(tls="starttls")
    report = send_test_mail(settings=_internal(msmtp_sendmail(server)), recipient=RCPT)

    assert report.ok, report.failure
    assert report.relay == "internal"
    assert [(s.name, s.status) for s in report.steps if s.name == "sendmail"] == [
        ("sendmail", "ok")]
    (received,) = server.wait_for_messages(1)
    assert received.mail_from == "pbx@example.com"
    assert received.rcpt_tos == [RCPT]
    assert received.tls is True and received.user == server.user
    assert received.message["To"] is not None and RCPT in received.message["To"]


def test_sendmail_gets_an_argument_list_and_the_message_on_stdin(recording_sendmail):
    report = send_test_mail(settings=_internal(recording_sendmail.path), recipient=RCPT)
    assert report.ok, report.failure
    assert recording_sendmail.argv() == ["-i", "-f", "pbx@example.com", "--", RCPT]
    body = recording_sendmail.stdin()
    assert b"\nSubject: " in body or body.startswith(b"Subject: ")
    assert b"\r\n.\r\n" not in body  # no SMTP dot-termination on the pipe


def test_ex_tempfail_is_a_fault_of_the_local_mail_system_with_sendmails_message(
        tempfail_sendmail):
    report = send_test_mail(settings=_internal(tempfail_sendmail), recipient=RCPT)
    assert report.ok is False
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("sendmail_tempfail", "sendmail")
    assert "local mail system" in report.failure.advice and "mailq" in report.failure.advice
    assert "greylisting" not in report.failure.advice
    shown = report.failure.message + report.transcript_text() + "".join(
        s.reply + s.detail for s in report.steps)
    assert TEMPFAIL_MESSAGE in shown


def test_a_missing_sendmail_is_sendmail_missing(missing_sendmail):
    report = send_test_mail(settings=_internal(missing_sendmail), recipient=RCPT)
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("sendmail_missing", "sendmail")
    assert str(missing_sendmail) in report.failure.message


def test_msmtp_that_cannot_reach_its_server_is_sendmail_tempfail(
        smtp_server, msmtp_sendmail):
    server = smtp_server(tls="starttls")
    path = msmtp_sendmail(server)
    server.stop()  # msmtp finds nobody listening and exits 75 (EX_TEMPFAIL)
    report = send_test_mail(settings=_internal(path), recipient=RCPT)
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("sendmail_tempfail", "sendmail")
    assert "Connection refused" in report.transcript_text() + report.failure.message


def test_msmtp_refused_by_its_server_is_sendmail_failed(smtp_server, msmtp_sendmail):
    server = smtp_server(tls="starttls")
    path = msmtp_sendmail(server, password="not-the-password")  # msmtp exits 77
    report = send_test_mail(settings=_internal(path), recipient=RCPT)
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("sendmail_failed", "sendmail")
    assert server.messages == [] and [a.ok for a in server.auth_attempts] == [False]
