"""The diagnosis against the real servers admins run (issue 14): Debian's
Postfix 3.7 and Exim 4.96, unpacked from their packages and started on
loopback (tests/servers/mta.py), Dovecot 2.3 for Postfix's SASL and for POP3.

Each case asserts the failure class, that the message quotes the server's
reply with its code and names host:port, and that the advice names the setting
to change by the screen's label.  Postfix's own log shows that the client said
QUIT after a refusal ("disconnect ... quit=1", never "lost connection after")."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import mailer.smtp
from config.i18n import _
from config.model import Settings
from mailer import send_test_mail
from mailer.diagnosis import LABEL_KEYS, LABELS, is_temporary
from tests.mailer.conftest import RCPT
from tests.servers.certs import TestCA
from tests.servers.mta import EximServer, PostfixServer, unavailable
from tests.servers.pop3 import Pop3Server, dovecot_available

PASSWORD = "Sentinel-Pw-7f3a9c"
WHY = unavailable()
pytestmark = pytest.mark.skipif(bool(WHY) or not dovecot_available(),
                                reason=WHY or "dovecot is missing")


def label(key: str) -> str:
    name = next(n for n, k in LABEL_KEYS.items() if k == key)
    return _(LABELS[name])


@pytest.fixture(scope="module")
def dovecot(ca: TestCA) -> Iterator[Pop3Server]:
    server = Pop3Server(ca, password=PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postfix(ca: TestCA, dovecot: Pop3Server) -> Iterator[PostfixServer]:
    server = PostfixServer(ca, dovecot).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def exim(ca: TestCA) -> Iterator[EximServer]:
    server = EximServer(ca, password=PASSWORD).start()
    yield server
    server.stop()


def settings(address: str, ca_file: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mail.relay": "external", "mail.sender": "tester@example.org",
        "mail.smtp.server": address, "mail.smtp.security": "starttls",
        "mail.smtp.ca_file": ca_file, "mail.smtp.authentication": True,
        "mail.smtp.username": "tester", "mail.smtp.password": PASSWORD,
        "mail.smtp.timeout": 15,
    }
    values.update(overrides)
    return Settings().with_values(values)


# service -> settings overrides -> (class, step, the setting the advice names first)
POSTFIX_CASES = {
    "defer_unauth_destination": ("mta", {"mail.smtp.authentication": False},
                                 "relay_denied", "rcpt_to", "mail.smtp.authentication"),
    "submission_without_login": ("submission", {"mail.smtp.authentication": False},
                                 "relay_denied", "rcpt_to", "mail.smtp.authentication"),
    "encrypt_level_unencrypted": ("submission", {"mail.smtp.security": "none",
                                                 "mail.smtp.authentication": False},
                                  "starttls_required", "mail_from", "mail.smtp.security"),
    "message_size_limit": ("size", {}, "message_too_big", "mail_from", None),
    "sender_login_mismatch": ("sender_login", {"mail.sender": "pbx@example.com"},
                              "sender_not_owned", "rcpt_to", "mail.sender"),
    "client_reject": ("client", {"mail.smtp.authentication": False},
                      "client_rejected", "rcpt_to", "mail.smtp.server"),
    "wrong_password": ("submission", {"mail.smtp.password": "not-the-password-1"},
                       "auth_failed", "login", "mail.smtp.username"),
    "no_auth_on_port_25": ("mta", {}, "auth_not_offered", "login",
                           "mail.smtp.authentication"),
    "tls_on_the_submission_port": ("submission", {"mail.smtp.security": "tls"},
                                   "tls_on_plain_port", "starttls", "mail.smtp.security"),
}


@pytest.mark.parametrize("case", sorted(POSTFIX_CASES))
def test_postfix_refusals_are_diagnosed_by_what_postfix_says(postfix, case):
    service, overrides, cls, step, key = POSTFIX_CASES[case]
    before = len(postfix.wait_disconnects(0))
    report = send_test_mail(settings=settings(postfix.address(service), postfix.ca_file,
                                              **overrides), recipient=RCPT)
    failure = report.failure
    assert failure is not None and (failure.cls, failure.step) == (cls, step), failure
    assert postfix.address(service) in failure.message
    if key is not None:
        assert f'"{label(key)}"' in failure.advice, failure.advice
    if step in ("mail_from", "rcpt_to", "login"):
        reply = next(s.reply for s in report.steps if s.status == "failed")
        assert reply[:3] in failure.message  # "454 4.7.1 ...", code and all
        # the session's last line: QUIT was said (no "lost connection after RCPT")
        session = postfix.wait_disconnects(before + 1)[-1]
        assert "quit=1" in session, session
    assert not re.search(r"lost connection after (?!CONNECT)", postfix.log())


def test_postfix_relay_access_denied_454_is_not_temporary(postfix):
    report = send_test_mail(settings=settings(postfix.address("mta"), postfix.ca_file, **{
        "mail.smtp.authentication": False}), recipient=RCPT)
    assert report.failure is not None
    assert "454 4.7.1 <admin@example.org>: Relay access denied" in report.failure.message
    assert not is_temporary(report.failure.cls)
    assert "greylisting" not in report.failure.advice


def test_postfix_submission_and_submissions_accept_a_login(postfix):
    for service, security in (("submission", "starttls"), ("submissions", "tls")):
        report = send_test_mail(settings=settings(postfix.address(service), postfix.ca_file,
                                                  **{"mail.smtp.security": security}),
                                recipient=RCPT)
        assert report.ok, report.failure
        assert report.queue_id


def test_postfix_submissions_port_with_starttls_is_found_fast(postfix):
    start = time.monotonic()
    report = send_test_mail(settings=settings(postfix.address("submissions"),
                                              postfix.ca_file), recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "plain_on_tls_port"
    assert time.monotonic() - start < 8
    assert f'"{label("mail.smtp.security")}"' in report.failure.advice


def test_postfix_refuses_a_bare_host_name_and_accepts_our_address_literal(
        postfix, monkeypatch):
    """reject_non_fqdn_helo_hostname: "vm" (what the client sent before) is
    refused; on a host without a dotted name the client now says [127.0.0.1]."""
    overrides = {"mail.smtp.authentication": False}
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    monkeypatch.setattr(mailer.smtp, "local_name", lambda *a, **k: "vm")
    report = send_test_mail(settings=settings(postfix.address("helo"), postfix.ca_file,
                                              **overrides), recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "helo_rejected"
    assert "504 5.5.2 <vm>: Helo command rejected" in report.failure.message
    assert f'"{label("mail.smtp.ehlo_name")}"' in report.failure.advice
    monkeypatch.undo()
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    report = send_test_mail(settings=settings(postfix.address("helo"), postfix.ca_file,
                                              **overrides), recipient=RCPT)
    assert report.ok, report.failure
    assert "helo=<[127.0.0.1]>" in postfix.wait_log(r"helo=<\[127\.0\.0\.1\]>")


def test_postfix_sendmail_without_configuration_is_a_local_fault(postfix, tmp_path):
    """Postfix's sendmail exits 75 on every fatal local error: the advice is
    about the local mail system, never greylisting."""
    empty = tmp_path / "no-postfix-config"
    empty.mkdir()
    path = postfix.sendmail_wrapper(tmp_path / "sendmail", empty)
    report = send_test_mail(settings=Settings().with_values({
        "mail.relay": "internal", "mail.internal.sendmail": str(path)}), recipient=RCPT)
    failure = report.failure
    assert failure is not None and failure.cls == "sendmail_tempfail"
    assert "75" in failure.message and "main.cf" in report.transcript_text()
    assert "local mail system" in failure.advice and "greylisting" not in failure.advice
    assert f'"{label("mail.relay")}"' in failure.advice


def test_postfix_sendmail_with_its_configuration_takes_the_mail(postfix, tmp_path):
    path = postfix.sendmail_wrapper(tmp_path / "sendmail")
    report = send_test_mail(settings=Settings().with_values({
        "mail.relay": "internal", "mail.internal.sendmail": str(path)}), recipient=RCPT)
    assert report.ok, report.failure
    assert "mailq" in report.steps[-1].detail


EXIM_CASES = {
    "relay_not_permitted": ({"mail.smtp.authentication": False}, "relay_denied", "rcpt_to",
                            "mail.smtp.authentication"),
    "incorrect_authentication_data": ({"mail.smtp.password": "not-the-password-1"},
                                      "auth_failed", "login", "mail.smtp.password"),
    "message_size_limit": ({}, "message_too_big", "mail_from", None),
    "auth_only_after_tls": ({"mail.smtp.security": "none",
                             "mail.smtp.allow_plaintext_auth": True},
                            "auth_not_offered", "login", "mail.smtp.security"),
}


@pytest.mark.parametrize("case", sorted(EXIM_CASES))
def test_exim_refusals_are_diagnosed_by_what_exim_says(exim, case):
    overrides, cls, step, key = EXIM_CASES[case]
    if case != "message_size_limit":
        overrides = {**overrides, "mail.html": False}  # fits Exim's 2K size limit
    report = send_test_mail(settings=settings(exim.address, exim.ca_file, **overrides),
                            recipient=RCPT)
    failure = report.failure
    assert failure is not None and (failure.cls, failure.step) == (cls, step), failure
    assert exim.address in failure.message
    if key is not None:
        assert f'"{label(key)}"' in failure.advice, failure.advice


def test_exim_accepts_a_login_after_starttls(exim):
    report = send_test_mail(settings=settings(exim.address, exim.ca_file, **{
        "mail.html": False}), recipient=RCPT)
    assert report.ok, report.failure


# -- SMTP after POP3 against Dovecot: POP3 words ----------------------------------

def _pop3(smtp: Any, pop3_server: str, **overrides: Any) -> Settings:
    return settings(smtp.address, smtp.ca_file, **{
        "mail.smtp.authentication": False, "mail.pop3.enabled": True,
        "mail.pop3.server": pop3_server, **overrides})


def test_pop3_failures_speak_pop3(dovecot, smtp_server, postfix):
    smtp = smtp_server(tls="starttls", auth=False)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    cases = [
        ({"mail.smtp.security": "tls"}, f"127.0.0.1:{dovecot.pop3_port}",
         "pop3_tls_on_plain_port"),
        ({}, f"127.0.0.1:{dovecot.pop3s_port}", "pop3_plain_on_tls_port"),
        ({}, postfix.address("mta"), "pop3_protocol_error"),
        ({}, f"127.0.0.1:{refused_port}", "pop3_refused"),
        ({"mail.smtp.password": "not-the-password-1"}, f"127.0.0.1:{dovecot.pop3_port}",
         "pop3_login_failed"),
    ]
    for overrides, server, cls in cases:
        start = time.monotonic()
        report = send_test_mail(settings=_pop3(smtp, server, **overrides), recipient=RCPT)
        failure = report.failure
        assert failure is not None and (failure.cls, failure.step) == (cls, "pop3"), failure
        assert time.monotonic() - start < 8, cls  # the TLS-first probe, not the timeout
        assert "SMTP port" not in failure.message + failure.advice or cls.endswith("error")
        assert "587" not in failure.advice or cls == "pop3_protocol_error"
        assert f'"{label("mail.pop3.server")}"' in failure.advice, (cls, failure.advice)
        assert server in failure.message


def test_pop3_without_stls_says_so(ca, smtp_server):
    smtp = smtp_server(tls="starttls", auth=False)
    plain = Pop3Server(ca, password=PASSWORD, tls=False).start()
    try:
        report = send_test_mail(settings=_pop3(smtp, f"127.0.0.1:{plain.pop3_port}"),
                                recipient=RCPT)
    finally:
        plain.stop()
    assert report.failure is not None and report.failure.cls == "pop3_stls_not_offered"
    assert "STLS" in report.failure.message
    assert "PASS" not in report.transcript_text()
