"""SMTP after POP3 (M15) against Debian's dovecot started by the test: POP3 with
STLS for security "starttls", POP3S for "tls", plain only when plaintext login is
allowed; then the mail goes out without SMTP AUTH."""

from __future__ import annotations

import pytest

from mailer import send_test_mail
from tests.mailer.conftest import RCPT, settings_for
from tests.servers.oneshot import OneShotServer


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


class InjectingPop3Server(OneShotServer):
    """A scripted POP3 server on loopback: answers STLS with "+OK" and, in the
    same packet, answers nobody asked for (``INJECTED``); then a real TLS
    handshake, USER/PASS/QUIT.  ``lines`` records (command, encrypted)."""

    INJECTED = b"-ERR INJECTED-AFTER-STLS\r\n+OK injected\r\n"

    def __init__(self, ca, user: str, password: str) -> None:
        self.ca, self.user, self.password = ca, user, password
        self.lines: list[tuple[str, bool]] = []
        super().__init__()

    def handle(self, conn) -> None:
        conn.settimeout(10)
        buf = b""

        def line(sock) -> str:
            nonlocal buf
            while b"\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    raise EOFError
                buf += chunk
            raw, _nl, buf = buf.partition(b"\n")
            return raw.rstrip(b"\r").decode()

        sock = conn
        try:
            sock.sendall(b"+OK POP3 ready\r\n")
            command = line(sock)
            if command == "CAPA":  # RFC 2449, as dovecot answers it
                sock.sendall(b"+OK\r\nCAPA\r\nUSER\r\nSTLS\r\n.\r\n")
                command = line(sock)
            if command != "STLS":
                return
            self.lines.append(("STLS", False))
            sock.sendall(b"+OK Begin TLS negotiation\r\n" + self.INJECTED)
            sock = self.ca.server_context().wrap_socket(conn, server_side=True)
            buf = b""
            while True:
                command = line(sock)
                verb = command.split(" ", 1)[0].upper()
                self.lines.append((verb, True))
                if verb == "USER":
                    sock.sendall(b"+OK\r\n" if command == f"USER {self.user}" else b"-ERR\r\n")
                elif verb == "PASS":
                    good = command == f"PASS {self.password}"
                    sock.sendall(b"+OK logged in\r\n" if good else b"-ERR auth failed\r\n")
                elif verb == "QUIT":
                    sock.sendall(b"+OK bye\r\n")
                    return
                else:
                    sock.sendall(b"-ERR unknown\r\n")
        except (OSError, EOFError):
            return
        finally:
            sock.close()


def test_answers_injected_after_the_stls_answer_are_ignored_with_a_warning(smtp_server, ca):
    smtp = smtp_server(tls="starttls", auth=False)
    pop3 = InjectingPop3Server(ca, "tester", "pop3-pw-1234")
    try:
        settings = settings_for(smtp, **{
            "mail.smtp.authentication": False, "mail.smtp.username": "tester",
            "mail.smtp.password": "pop3-pw-1234", "mail.pop3.enabled": True,
            "mail.pop3.server": f"127.0.0.1:{pop3.port}", "mail.smtp.timeout": 5})
        report = send_test_mail(settings=settings, recipient=RCPT)
    finally:
        pop3.close()
    # the injected "-ERR" was not read as the answer to USER: the login went on
    assert report.ok, report.failure
    assert pop3.lines == [("STLS", False), ("USER", True), ("PASS", True), ("QUIT", True)]
    assert smtp.wait_for_messages(1)[0].rcpt_tos == [RCPT]
    assert "INJECTED" not in report.transcript_text()
    n = len(InjectingPop3Server.INJECTED)
    assert report.warnings == [
        f"127.0.0.1:{pop3.port} (or something in between) sent {n} bytes after its STLS "
        "answer, before the TLS handshake; they were ignored."]
    assert "data arrived after the STLS answer" in report.transcript_text()
