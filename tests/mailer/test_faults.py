"""Misbehaving servers (tests/servers/faults.py): every fault ends by the deadline
(mail.smtp.timeout) plus one second, with its own failure class, never "sent";
STARTTLS faults never let credentials or the envelope onto the wire."""

from __future__ import annotations

import threading
import time

import pytest

from mailer import send_test_mail
from tests.mailer.conftest import RCPT, settings_for
from tests.servers.faults import INJECTED

DEADLINE = 4  # mail.smtp.timeout for these tests, seconds

# fault -> (failure class, the step it fails in)
FAULT_CLASSES = {
    "hangup_after_greeting": ("connection_lost", "ehlo"),
    "hangup_at_ehlo": ("connection_lost", "ehlo"),
    "hangup_at_mail": ("connection_lost", "mail_from"),
    "hangup_at_rcpt": ("connection_lost", "rcpt_to"),
    "hangup_at_starttls": ("connection_lost", "starttls"),
    "hangup_at_auth": ("connection_lost", "login"),
    "hangup_at_data": ("connection_lost", "data"),
    "hangup_mid_data": ("connection_lost", "data"),
    "greeting_421": ("temporary_failure", "greeting"),
    "rcpt_4xx": ("temporary_failure", "rcpt_to"),
    "rcpt_5xx": ("recipient_refused", "rcpt_to"),
    "relay_denied": ("relay_denied", "rcpt_to"),
    "data_4xx": ("temporary_failure", "data"),
    "data_5xx": ("message_refused", "data"),
    "data_cmd_5xx": ("message_refused", "data"),
    "garbage_greeting": ("protocol_error", "greeting"),
    "garbage_ehlo": ("protocol_error", "ehlo"),
    "long_line": ("protocol_error", "greeting"),
    "endless_continuation": ("protocol_error", "ehlo"),
    "silence": ("timeout", "greeting"),
    "drip": ("timeout", "greeting"),
    "starttls_reset": ("connection_lost", "starttls"),
    "auth_oauth2": ("auth_oauth2_required", "login"),
    "no_auth": ("auth_not_offered", "login"),
}


def _send(server, **overrides):
    settings = settings_for(server, **{"mail.smtp.timeout": DEADLINE,
                                       "mail.smtp.password": overrides.pop("password", "pw"),
                                       **overrides})
    start = time.monotonic()
    report = send_test_mail(settings=settings, recipient=RCPT)
    return report, time.monotonic() - start


@pytest.mark.parametrize("fault", sorted(FAULT_CLASSES))
def test_each_fault_ends_by_the_deadline_with_its_class_and_never_sent(
        fault_server, fault, sentinel_password, assert_no_secret):
    server = fault_server(fault)
    report, elapsed = _send(server, password=sentinel_password)

    cls, step = FAULT_CLASSES[fault]
    assert report.ok is False
    assert report.queue_id == ""
    assert elapsed < DEADLINE + 1
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == (cls, step)
    assert report.failure.message and report.failure.advice
    failed = [s for s in report.steps if s.status == "failed"]
    assert [s.name for s in failed] == [step]
    assert_no_secret(report)


def test_a_tls_reset_during_the_implicit_handshake_fails_fast_without_sending(fault_server):
    server = fault_server("tls_reset")
    report, elapsed = _send(server)
    assert report.ok is False
    assert elapsed < DEADLINE + 1
    assert report.failure.cls in ("connection_lost", "tls_failed")
    assert report.failure.step == "starttls"
    assert server.verbs() == []  # not one SMTP command went out


@pytest.mark.parametrize("fault, cls", [
    ("no_starttls", "starttls_not_offered"),
    ("starttls_454", "starttls_refused"),
])
def test_failed_starttls_never_falls_back_to_plain_text(fault_server, fault, cls):
    server = fault_server(fault)
    report, _ = _send(server, **{"mail.smtp.security": "starttls"})
    assert report.failure is not None and report.failure.cls == cls
    assert report.failure.step == "starttls"
    # nothing after the failed STARTTLS: no AUTH, no MAIL, no RCPT, no DATA
    assert set(server.verbs()) <= {"EHLO", "STARTTLS", "QUIT"}
    sent = [t.text.split(" ")[0].upper() for t in report.transcript if t.direction == "C"]
    assert sent and set(sent) <= {"EHLO", "STARTTLS", "QUIT"}


def test_reply_lines_injected_after_the_starttls_answer_are_ignored_with_a_warning(
        fault_server):
    server = fault_server("starttls_injection")
    report, _ = _send(server)
    # the issue: "Reply lines injected after the STARTTLS answer in the same
    # packet are ignored" -- dropped unread, the handshake goes on, the mail is sent
    assert report.ok is True, report.failure
    assert report.queue_id
    assert server.verbs() == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA",
                              "<MESSAGE>", "QUIT"]
    # everything after STARTTLS went over TLS
    after = [r for r in server.received][2:]
    assert after and all(r.tls for r in after)
    # never read as replies: the injected lines are nowhere in the transcript,
    # and the second EHLO's answer is the real server's (its own AUTH line)
    assert "INJECTED" not in report.transcript_text()
    starttls = [s for s in report.steps if s.name == "starttls"]
    assert [s.status for s in starttls] == ["warning"]
    n = len(INJECTED)
    assert report.warnings == [
        f"{server.address} (or something in between) sent {n} bytes after its STARTTLS "
        "answer, before the TLS handshake; they were ignored."]
    assert starttls[0].detail == report.warnings[0]
    assert f"{n} bytes arrived after the STARTTLS answer" in report.transcript_text()


def test_a_clean_starttls_has_no_injection_warning(fault_server):
    server = fault_server(tls="starttls")
    report, _ = _send(server)
    assert report.ok is True, report.failure
    assert report.warnings == []
    assert [s.status for s in report.steps if s.name == "starttls"] == ["ok"]


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_plain_or_starttls_against_an_implicit_tls_port_is_found_in_under_3_seconds(
        smtp_server, security):
    server = smtp_server(tls="implicit")
    report, elapsed = _send(server, **{"mail.smtp.security": security,
                                       "mail.smtp.timeout": 15,
                                       "mail.smtp.allow_plaintext_auth": True})
    assert report.ok is False
    assert report.failure.cls == "plain_on_tls_port"
    assert elapsed < 3
    assert server.messages == [] and server.auth_attempts == []


@pytest.mark.parametrize("tls", ["starttls", "none"])
def test_implicit_tls_against_a_plain_port_is_tls_on_plain_port(smtp_server, tls):
    server = smtp_server(tls=tls)
    report, elapsed = _send(server, **{"mail.smtp.security": "tls"})
    assert report.ok is False
    assert report.failure.cls == "tls_on_plain_port"
    assert elapsed < DEADLINE + 1
    assert server.messages == [] and server.auth_attempts == []


def test_a_closed_port_is_refused(fault_server):
    server = fault_server("silence")
    server.stop()  # the port is free again: nobody listens
    report, elapsed = _send(server)
    assert report.failure is not None and report.failure.cls == "refused"
    assert report.failure.step == "connect"


def test_a_hang_up_after_the_mail_was_queued_still_counts_as_sent(fault_server):
    server = fault_server("hangup_at_quit")
    report, _ = _send(server)
    assert report.ok, report.failure
    assert report.queue_id  # the 250 ... queued as <id> answer to the message
    assert [(s.name, s.status) for s in report.steps][-1] == ("quit", "warning")


@pytest.mark.parametrize("mode, cls", [("silence", "timeout"),
                                       ("endless_continuation", "protocol_error")])
def test_the_deadline_and_caps_also_hold_after_an_implicit_tls_handshake(
        fault_server, mode, cls):
    server = fault_server(mode=mode, tls="implicit")
    report, elapsed = _send(server)
    assert report.failure is not None and report.failure.cls == cls
    assert elapsed < DEADLINE + 1
    assert [s.status for s in report.steps if s.name == "certificate"] == ["ok"]


def test_cancel_ends_a_hanging_send_promptly_with_class_cancelled(fault_server):
    server = fault_server("silence")
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def fire() -> None:
        cancelled_at.append(time.monotonic())
        cancel.set()

    threading.Timer(0.5, fire).start()
    settings = settings_for(server, **{"mail.smtp.timeout": 30, "mail.smtp.password": "pw"})
    start = time.monotonic()
    report = send_test_mail(settings=settings, recipient=RCPT, cancel=cancel)
    ended = time.monotonic()
    assert report.failure is not None and report.failure.cls == "cancelled"
    assert report.failure.step == "greeting"
    assert ended - start < 2.5
    # both transports look at the event at least every 0.1 s (generous bound for load)
    assert ended - cancelled_at[0] < 1.0
