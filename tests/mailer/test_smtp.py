"""End-to-end sends against the real aiosmtpd capture server on loopback
(tests/servers/smtp.py): implicit TLS, STARTTLS, none; AUTH PLAIN and LOGIN;
the received message is checked (parts, logo, headers, envelope)."""

from __future__ import annotations

import pytest

from config.model import Settings
from mailer import send, send_test_mail
from mailer.message import build_message
from tests.servers.oneshot import OneShotServer

RCPT = "admin@example.org"


def settings_for(server, **overrides) -> Settings:
    return Settings().with_values(server.settings_values(**overrides))


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_the_test_mail_arrives_encrypted_and_authenticated(smtp_server, tls, mechanism):
    server = smtp_server(tls=tls, mechanisms=(mechanism,))
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)

    assert report.ok, report.failure
    assert report.failure is None
    (received,) = server.wait_for_messages(1)
    assert received.tls is True
    assert received.user == server.user
    assert [(a.mechanism, a.ok, a.tls) for a in server.auth_attempts] == [(mechanism, True, True)]
    assert received.mail_from == "pbx@example.com"
    assert received.rcpt_tos == [RCPT]
    assert report.queue_id == received.queue_id


def test_starttls_says_ehlo_again_after_the_handshake_and_sends_nothing_before_it(smtp_server):
    server = smtp_server(tls="starttls")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.ok, report.failure
    ehlos = [e for e in server.events if e.command == "EHLO"]
    assert [e.tls for e in ehlos] == [False, True]
    assert all(e.tls for e in server.events if e.command in ("AUTH", "MAIL", "RCPT", "DATA"))
    names = [s.name for s in report.steps]
    assert names == ["settings", "resolve", "connect", "greeting", "ehlo", "starttls",
                     "certificate", "ehlo", "login", "mail_from", "rcpt_to", "data", "quit"]
    assert all(s.status == "ok" for s in report.steps)


def test_implicit_tls_handshakes_before_the_greeting(smtp_server):
    server = smtp_server(tls="implicit")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.ok, report.failure
    names = [s.name for s in report.steps]
    assert names.index("starttls") < names.index("greeting")
    assert "STARTTLS" not in report.transcript_text()


def test_received_html_mail_has_text_html_and_the_inline_logo(smtp_server):
    server = smtp_server(tls="starttls")
    report = send_test_mail(settings=settings_for(server, **{"mail.html": True}), recipient=RCPT)
    assert report.ok, report.failure
    msg = server.wait_for_messages(1)[0].message
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, logo = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert logo.get_content_type() == "image/png"
    cid = logo["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert logo.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    assert msg["From"].addresses[0].addr_spec == "pbx@example.com"
    assert msg["To"].addresses[0].addr_spec == RCPT
    assert msg["Date"] and msg["Message-ID"]
    assert server.address in plain.get_content()
    assert "STARTTLS" in plain.get_content()


def test_received_plain_mail_is_text_only_without_logo(smtp_server):
    server = smtp_server(tls="starttls")
    settings = settings_for(server, **{"mail.html": False, "mail.sender_name": "PBX Hall 3"})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.ok, report.failure
    msg = server.wait_for_messages(1)[0].message
    assert msg.get_content_type() == "text/plain"
    assert not msg.is_multipart()
    assert msg["From"].addresses[0].display_name == "PBX Hall 3"


def test_the_envelope_is_the_one_passed_not_the_headers(smtp_server):
    server = smtp_server(tls="starttls")
    settings = settings_for(server)
    message = build_message(settings=settings, recipients=["shown@example.org"],
                            subject="Envelope", text="hello\n.\n..dots stay\n")
    message["Bcc"] = "hidden@example.org"
    report = send(settings=settings, message=message, sender="bounce@example.com",
                  recipients=["real@example.org", "second@example.org"])
    assert report.ok, report.failure
    received = server.wait_for_messages(1)[0]
    assert received.mail_from == "bounce@example.com"
    assert received.rcpt_tos == ["real@example.org", "second@example.org"]
    assert "Bcc" not in received.message
    body = received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "hello\n.\n..dots stay\n" in body


def test_unencrypted_send_without_login(smtp_server):
    server = smtp_server(tls="none", auth=False)
    settings = settings_for(server, **{"mail.smtp.authentication": False})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.ok, report.failure
    assert server.wait_for_messages(1)[0].tls is False
    assert [s.status for s in report.steps if s.name == "login"] == ["skipped"]


def test_login_over_plain_text_is_refused_by_our_rule_before_connecting(smtp_server):
    server = smtp_server(tls="none")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert not report.ok
    assert report.failure.cls == "plaintext_auth_refused"
    assert server.events == [] and server.auth_attempts == []


def test_login_over_plain_text_works_when_explicitly_allowed(smtp_server):
    server = smtp_server(tls="none")
    settings = settings_for(server, **{"mail.smtp.allow_plaintext_auth": True})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.ok, report.failure
    assert server.auth_attempts[0].tls is False


def test_wrong_password_is_auth_failed_and_nothing_is_sent(smtp_server):
    server = smtp_server(tls="starttls")
    settings = settings_for(server, **{"mail.smtp.password": "wrong-password-123"})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert not report.ok
    assert report.failure.cls == "auth_failed"
    assert report.failure.step == "login"
    assert "MAIL" not in server.commands()
    assert server.messages == []


def test_certificate_checks_off_sends_and_warns(smtp_server):
    server = smtp_server(tls="starttls", cert="unknown_ca")
    settings = settings_for(server, **{"mail.smtp.verify_certificates": False})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.ok, report.failure
    assert "certificate checks were off" in report.warnings
    (cert_step,) = [s for s in report.steps if s.name == "certificate"]
    assert cert_step.status == "warning"


def test_unknown_ca_is_refused_with_checks_on(smtp_server):
    server = smtp_server(tls="starttls", cert="unknown_ca")
    report = send_test_mail(settings=settings_for(server), recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "cert_untrusted"
    assert "AUTH" not in server.commands()


def test_server_without_auth_gives_auth_not_offered(smtp_server):
    server = smtp_server(tls="starttls", auth=False)
    settings = settings_for(server, **{"mail.smtp.authentication": True,
                                       "mail.smtp.username": "u",
                                       "mail.smtp.password": "some-password"})
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.failure is not None and report.failure.cls == "auth_not_offered"
    assert "MAIL" not in server.commands()


def _hashed_dir(tmp_path, ca_file=None):
    """A directory in OpenSSL's hashed layout holding ``ca_file`` (or nothing)."""
    import shutil
    import subprocess

    directory = tmp_path / "capath"
    directory.mkdir(parents=True)
    if ca_file is not None:
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", ca_file],
                                capture_output=True, text=True, check=True).stdout.strip()
        shutil.copy(ca_file, directory / f"{digest}.0")
    else:
        (directory / "00000000.0").write_text("")
    return str(directory)


@pytest.mark.skipif(__import__("shutil").which("openssl") is None, reason="needs openssl")
def test_the_system_store_is_used_through_its_hashed_directory(smtp_server, tmp_path,
                                                               monkeypatch):
    """Verification without ca_file trusts exactly what the system directory holds."""
    from mailer import wire

    server = smtp_server(tls="starttls")
    settings = settings_for(server, **{"mail.smtp.ca_file": ""})
    for trusted in (True, False):
        capath = _hashed_dir(tmp_path / str(trusted), server.ca_file if trusted else None)
        monkeypatch.setattr(wire, "_hashed_capath", lambda capath=capath: capath)
        wire._tls_context.cache_clear()
        report = send_test_mail(settings=settings, recipient=RCPT)
        if trusted:
            assert report.ok, report.failure
        else:
            assert report.failure is not None and report.failure.cls == "cert_untrusted"
    wire._tls_context.cache_clear()


class CramMd5Server(OneShotServer):
    """A scripted plain-text SMTP server offering only AUTH CRAM-MD5; it checks
    the HMAC of its challenge with the expected password."""

    CHALLENGE = b"<1896.697170952@mx.test.invalid>"

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.result: list[str] = []
        super().__init__()

    def handle(self, conn) -> None:
        import base64
        import hashlib
        import hmac

        with conn.makefile("rb") as rfile:
            def reply(line: bytes) -> None:
                conn.sendall(line + b"\r\n")

            reply(b"220 cram ESMTP")
            rfile.readline()
            reply(b"250-cram\r\n250 AUTH CRAM-MD5")
            if rfile.readline().strip() != b"AUTH CRAM-MD5":
                return
            reply(b"334 " + base64.b64encode(self.CHALLENGE))
            answer = base64.b64decode(rfile.readline().strip()).decode()
            user, _sp, digest = answer.partition(" ")
            good = hmac.new(self.password.encode(), self.CHALLENGE, hashlib.md5).hexdigest()
            ok = user == self.user and hmac.compare_digest(digest, good)
            self.result.append("ok" if ok else "bad")
            reply(b"235 2.7.0 ok" if ok else b"535 5.7.8 bad")
            for line in iter(rfile.readline, b""):
                verb = line[:4].upper()
                if verb == b"DATA":
                    reply(b"354 go")
                    for body in iter(rfile.readline, b""):
                        if body == b".\r\n":
                            break
                    reply(b"250 2.0.0 queued as CRAM1")
                elif verb == b"QUIT":
                    reply(b"221 bye")
                    return
                else:
                    reply(b"250 ok")


@pytest.mark.parametrize("password,ok", [("cram-secret-1", True), ("wrong-secret-2", False)])
def test_cram_md5_is_used_when_it_is_the_only_mechanism(password, ok):
    server = CramMd5Server("u@example.org", "cram-secret-1")
    try:
        settings = Settings().with_values({
            "mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{server.port}",
            "mail.smtp.security": "none", "mail.smtp.allow_plaintext_auth": True,
            "mail.smtp.username": "u@example.org", "mail.smtp.password": password,
            "mail.smtp.timeout": 5})
        report = send_test_mail(settings=settings, recipient=RCPT)
    finally:
        server.close()
    assert server.result == ["ok" if ok else "bad"]
    assert report.ok is ok, report.failure
    if ok:
        assert report.queue_id == "CRAM1"
    else:
        assert report.failure.cls == "auth_failed"
    assert password not in report.to_json()
