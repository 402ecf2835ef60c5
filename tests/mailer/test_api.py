"""The public API: keyword-only, blocking, live steps in order, cancellation
(a threading.Event, set from another thread) ending with class "cancelled" and
a closed socket; a send inside a running event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

import mailer
from config.model import Settings
from mailer import Report, send, send_test_mail
from mailer.diagnosis import CLASSES
from mailer.report import STEP_NAMES
from tests.servers.oneshot import OneShotServer

ROOT = Path(__file__).resolve().parents[2]
RCPT = "admin@example.org"


class SilentServer(OneShotServer):
    """Accepts one connection, says nothing, and records when the client hangs up."""

    def __init__(self) -> None:
        self.accepted = threading.Event()
        self.closed_by_client = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        self.accepted.set()
        conn.settimeout(20)
        try:
            if conn.recv(1) == b"":
                self.closed_by_client.set()
        except OSError:
            self.closed_by_client.set()

    def settings(self) -> Settings:
        return Settings().with_values({
            "mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{self.port}",
            "mail.smtp.security": "none", "mail.smtp.authentication": False,
            "mail.smtp.timeout": 30})


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def test_the_api_is_keyword_only():
    with pytest.raises(TypeError):
        send_test_mail(Settings(), RCPT)  # type: ignore[misc]
    with pytest.raises(TypeError):
        send(Settings(), b"", None, [RCPT])  # type: ignore[misc]


def test_on_step_reports_each_step_running_then_finished_in_order(smtp_server):
    server = smtp_server(tls="starttls")
    seen = []
    report = send_test_mail(settings=Settings().with_values(server.settings_values()),
                            recipient=RCPT, on_step=seen.append)
    assert report.ok, report.failure
    pairs = list(zip(seen[0::2], seen[1::2], strict=True))
    assert all(a.status == "running" and b.status == "ok" and a.name == b.name
               for a, b in pairs)
    assert [a.name for a, _b in pairs] == [s.name for s in report.steps]
    assert all(s.name in STEP_NAMES and s.title for s in report.steps)
    assert all(s.duration >= 0 for s in report.steps)
    data = next(s for s in report.steps if s.name == "data")
    assert server.messages[0].queue_id in data.reply


def test_the_sync_api_works_from_inside_a_running_event_loop(smtp_server):
    server = smtp_server(tls="starttls")
    settings = Settings().with_values(server.settings_values())

    async def handler() -> Report:
        return send_test_mail(settings=settings, recipient=RCPT)

    assert asyncio.run(handler()).ok


def test_a_threading_event_cancels_the_sync_send_and_closes_the_socket(silent):
    cancel = threading.Event()
    steps = []
    threading.Thread(target=lambda: (silent.accepted.wait(10), time.sleep(0.3),
                                     cancel.set()), daemon=True).start()
    started = time.monotonic()
    report = send_test_mail(settings=silent.settings(), recipient=RCPT, cancel=cancel,
                            on_step=steps.append)
    assert time.monotonic() - started < 5
    assert report.failure is not None and report.failure.cls == "cancelled"
    assert report.failure.step == "greeting"
    assert steps[-1].status == "failed"
    assert silent.closed_by_client.wait(5)


def test_a_cancel_set_before_the_call_sends_nothing(silent):
    cancel = threading.Event()
    cancel.set()
    report = send_test_mail(settings=silent.settings(), recipient=RCPT, cancel=cancel)
    assert report.failure is not None and report.failure.cls == "cancelled"
    assert not silent.accepted.is_set()


def test_a_broken_callback_does_not_break_the_send(smtp_server):
    server = smtp_server(tls="starttls")

    def explode(step):
        raise RuntimeError("callback bug")

    report = send_test_mail(settings=Settings().with_values(server.settings_values()),
                            recipient=RCPT, on_step=explode)
    assert report.ok, report.failure


def test_every_failure_class_of_the_issue_has_message_and_advice():
    required = {
        "dns", "refused", "connect_timeout", "tls_on_plain_port", "plain_on_tls_port",
        "starttls_not_offered", "starttls_refused", "cert_untrusted", "cert_hostname",
        "cert_expired", "auth_failed", "auth_oauth2_required", "auth_not_offered",
        "plaintext_auth_refused", "pop3_login_failed", "sender_refused", "recipient_refused",
        "relay_denied", "message_refused", "temporary_failure", "sendmail_missing",
        "sendmail_failed", "timeout", "connection_lost", "protocol_error", "cancelled",
        "invalid_settings", "invalid_address",
    }
    assert required <= set(CLASSES)
    for cls in CLASSES:
        message, advice = mailer.diagnosis.describe(cls, {"server": "s:1", "host": "s"})
        assert message and advice and "{" not in message + advice, cls


def test_unknown_host_is_dns_and_closed_port_is_refused():
    dns = send_test_mail(settings=Settings().with_values({
        "mail.relay": "external", "mail.smtp.server": "no-such-host.invalid:25",
        "mail.smtp.security": "none", "mail.smtp.authentication": False,
        "mail.smtp.timeout": 10}), recipient=RCPT)
    assert dns.failure is not None and dns.failure.cls == "dns"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # bound, never listening: connection refused
    refused = send_test_mail(settings=Settings().with_values({
        "mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{port}",
        "mail.smtp.security": "none", "mail.smtp.authentication": False}), recipient=RCPT)
    assert refused.failure is not None and refused.failure.cls == "refused"
    assert refused.failure.step == "connect"


def test_a_sync_send_from_inside_a_coroutine_runs_without_suspending(smtp_server):
    """send() inside a running loop uses the blocking path in that thread: no
    nested loop, no helper thread, and the report is complete."""
    server = smtp_server(tls="implicit")
    settings = Settings().with_values(server.settings_values())

    async def handler() -> tuple[Report, int]:
        before = threading.active_count()
        report = send_test_mail(settings=settings, recipient=RCPT)
        return report, threading.active_count() - before

    report, extra_threads = asyncio.run(handler())
    assert report.ok, report.failure
    assert extra_threads <= 0


class StallAfterStarttls:
    """Offers STARTTLS, answers 220, then never speaks TLS (reads and waits)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.closed_by_client = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(20)
        with conn, conn.makefile("rb") as rfile:
            try:
                conn.sendall(b"220 stall ESMTP\r\n")
                rfile.readline()
                conn.sendall(b"250-stall\r\n250 STARTTLS\r\n")
                rfile.readline()
                conn.sendall(b"220 go ahead\r\n")
                while conn.recv(4096):  # the ClientHello; never answered
                    pass
                self.closed_by_client.set()
            except OSError:
                self.closed_by_client.set()

    def settings(self, timeout: int) -> Settings:
        return Settings().with_values({
            "mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{self.port}",
            "mail.smtp.security": "starttls", "mail.smtp.authentication": False,
            "mail.smtp.verify_certificates": False, "mail.smtp.timeout": timeout})


@pytest.fixture
def stall():
    server = StallAfterStarttls()
    yield server
    server.sock.close()


def test_a_cancel_during_the_tls_handshake_ends_promptly_and_closes_the_socket(stall):
    cancel = threading.Event()
    fired: list[float] = []
    threading.Timer(0.5, lambda: (fired.append(time.monotonic()), cancel.set())).start()
    report = send_test_mail(settings=stall.settings(30), recipient=RCPT, cancel=cancel)
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("cancelled", "starttls")
    assert time.monotonic() - fired[0] < 1.0
    assert stall.closed_by_client.wait(5)


def test_a_handshake_that_never_ends_stops_at_the_deadline(stall):
    started = time.monotonic()
    report = send_test_mail(settings=stall.settings(2), recipient=RCPT)
    assert report.failure is not None
    assert (report.failure.cls, report.failure.step) == ("timeout", "starttls")
    assert 1.9 < time.monotonic() - started < 3.5
