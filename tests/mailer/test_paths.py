"""The two transports give the same Report: the blocking path of the sync API
(mailer.blocking) and the asyncio path of the async API (mailer.aio) are run
against the same loopback server, one after the other, and their reports are
compared field by field — steps (name, status, title, reply, detail), failure
(class, message, advice, step), warnings and every transcript line — after
taking out what must differ between two sends (queue ids, timings, the size
of a freshly built message)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

import mailer
from tests.mailer.conftest import RCPT, settings_for

# A server that hangs up right after writing leaves a race in the kernel: the
# next recv() sees its FIN (a clean end) or, once our command drew its RST,
# ECONNRESET.  Either is "connection_lost"; only this note differs.
_RESET_NOTE = re.compile(r"connection error: (ConnectionResetError|BrokenPipeError)")
_VARYING = [
    (re.compile(r"queued as \S+"), "queued as <id>"),
    (re.compile(r"queue id \S+"), "queue id <id>"),
    (re.compile(r"\d+ bytes"), "<n> bytes"),
    (re.compile(r"SIZE=\d+"), "SIZE=<n>"),
]

# faults whose whole report is compared (the ones that take the full deadline
# are covered for class and step by test_faults.py on both paths)
FAULTS = [
    "hangup_after_greeting", "hangup_at_ehlo", "hangup_at_mail", "hangup_at_rcpt",
    "hangup_at_starttls", "hangup_at_auth", "hangup_at_data", "hangup_mid_data",
    "hangup_at_quit", "greeting_421", "rcpt_4xx", "rcpt_5xx", "relay_denied", "data_4xx",
    "data_5xx", "data_cmd_5xx", "garbage_greeting", "garbage_ehlo", "long_line",
    "endless_continuation", "starttls_reset", "tls_reset", "no_starttls", "starttls_454",
    "starttls_injection", "auth_oauth2", "no_auth",
]


def _normal(text: str) -> str:
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def comparable(report: mailer.Report) -> dict[str, Any]:
    f = report.failure
    return {
        "ok": report.ok,
        "steps": [(s.name, s.status, _normal(s.title), _normal(s.reply), _normal(s.detail))
                  for s in report.steps],
        "failure": None if f is None else (f.cls, _normal(f.message), f.advice, f.step),
        "transcript": [(t.direction, _normal(t.text)) for t in report.transcript
                       if not _RESET_NOTE.fullmatch(t.text)],
        "warnings": report.warnings,
        "relay": report.relay, "server": report.server, "recipients": report.recipients,
    }


def both(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    sync = mailer.send_test_mail(settings=settings, recipient=RCPT)
    via_asyncio = asyncio.run(mailer.send_test_mail_async(settings=settings, recipient=RCPT))
    return comparable(sync), comparable(via_asyncio)


@pytest.mark.parametrize("fault", FAULTS)
def test_every_fault_gives_the_same_report_on_both_paths(fault_server, fault):
    server = fault_server(fault)
    extra = {"mail.smtp.security": "starttls"} if fault == "no_starttls" else {}
    sync, via_asyncio = both(settings_for(server, **{"mail.smtp.timeout": 4,
                                                     "mail.smtp.password": "pw-1234", **extra}))
    assert len(sync["transcript"]) >= 2, sync  # it did get past connecting
    assert sync == via_asyncio


@pytest.mark.parametrize("tls, overrides", [
    ("starttls", {}),
    ("implicit", {}),
    ("starttls", {"mail.smtp.verify_certificates": False}),
    ("none", {"mail.smtp.authentication": False}),
])
def test_a_good_send_gives_the_same_report_on_both_paths(smtp_server, tls, overrides):
    server = smtp_server(tls=tls, auth=tls != "none")
    sync, via_asyncio = both(settings_for(server, **overrides))
    assert sync["ok"] is True
    assert sync == via_asyncio
    assert len(server.wait_for_messages(2)) == 2


@pytest.mark.parametrize("server_tls, security, cert", [
    ("starttls", "starttls", "unknown_ca"),    # cert_untrusted
    ("starttls", "tls", "valid"),              # tls_on_plain_port
    ("implicit", "starttls", "valid"),         # plain_on_tls_port (the 2 s probe)
])
def test_tls_failures_give_the_same_report_on_both_paths(smtp_server, server_tls, security,
                                                         cert):
    server = smtp_server(tls=server_tls, cert=cert)
    sync, via_asyncio = both(settings_for(server, **{"mail.smtp.security": security}))
    assert sync["ok"] is False
    assert sync == via_asyncio


def test_smtp_after_pop3_gives_the_same_report_on_both_paths(smtp_server, pop3_server):
    smtp = smtp_server(tls="starttls", auth=False)
    settings = settings_for(smtp, **{
        "mail.smtp.authentication": False, "mail.smtp.username": pop3_server.user,
        "mail.smtp.password": pop3_server.password, "mail.pop3.enabled": True,
        "mail.pop3.server": f"{pop3_server.host}:{pop3_server.pop3_port}"})
    sync, via_asyncio = both(settings)
    assert sync["ok"] is True
    assert sync == via_asyncio


def test_the_comparison_sees_a_difference():
    """The check itself can fail: two different reports do not compare equal."""
    a = mailer.Report(ok=False, failure=mailer.Failure("timeout", "m", "a", "greeting"))
    b = mailer.Report(ok=False, failure=mailer.Failure("connection_lost", "m", "a", "greeting"))
    assert comparable(a) != comparable(b)
