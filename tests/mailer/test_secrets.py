"""The sentinel password never appears -- plain, base64, or inside the AUTH
PLAIN payload -- in anything the mailer returns, prints or logs, over
successful and failing runs."""

from __future__ import annotations

import base64
import logging

import pytest

from config.model import Settings
from mailer import send_test_mail
from mailer.errors import error_for
from tests.servers.oneshot import OneShotServer

USER = "tester@example.org"


def forms(password: str) -> list[str]:
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return [password, b64(password), b64(f"\0{USER}\0{password}"),
            b64(f"{USER}\0{USER}\0{password}")]


def run_and_collect(settings: Settings, capsys, caplog) -> tuple[object, str]:
    """Send the test mail; return the report and every text it produced."""
    steps = []
    caplog.set_level(logging.DEBUG)
    report = send_test_mail(settings=settings, recipient="admin@example.org",
                            on_step=steps.append)
    out = capsys.readouterr()
    texts = [report.to_json(), repr(report), report.transcript_text(), out.out, out.err,
             caplog.text, repr(steps), repr(settings), report.to_json()]
    error = error_for(report)
    if error is not None:
        texts += [str(error), repr(error), error.message, error.advice]
    return report, "\n".join(texts)


def assert_no_secret(blob: str, password: str) -> None:
    for form in forms(password):
        assert form not in blob, f"secret form {form[:4]}... leaked"


@pytest.mark.parametrize("tls,mechanism", [("starttls", "PLAIN"), ("starttls", "LOGIN"),
                                           ("implicit", "PLAIN"), ("none", "LOGIN")])
def test_a_successful_send_shows_the_password_nowhere(smtp_server, sentinel_password, capsys,
                                                      caplog, tls, mechanism):
    server = smtp_server(tls=tls, mechanisms=(mechanism,))
    settings = Settings().with_values(server.settings_values(
        **{"mail.smtp.allow_plaintext_auth": True}))
    report, blob = run_and_collect(settings, capsys, caplog)
    assert report.ok, report.failure
    assert "<credentials hidden>" in report.transcript_text()
    assert "AUTH" in blob  # the run really logged in: the check is not vacuous
    assert_no_secret(blob, sentinel_password)


def test_a_refused_login_shows_the_password_nowhere(smtp_server, sentinel_password, capsys,
                                                    caplog):
    server = smtp_server(tls="starttls", password="the-server-wants-another")
    settings = Settings().with_values(server.settings_values(
        **{"mail.smtp.password": sentinel_password}))
    report, blob = run_and_collect(settings, capsys, caplog)
    assert report.failure is not None and report.failure.cls == "auth_failed"
    assert_no_secret(blob, sentinel_password)



def fault_settings(server, password: str) -> Settings:
    """STARTTLS with a login against a fault server, password ``password``."""
    return Settings().with_values({
        "mail.relay": "external", "mail.smtp.server": server.address,
        "mail.smtp.security": "starttls", "mail.smtp.ca_file": server.ca_file,
        "mail.smtp.username": USER, "mail.smtp.password": password,
        "mail.smtp.timeout": 5})

def test_a_run_with_injected_starttls_replies_shows_the_password_nowhere(
        fault_server, sentinel_password, capsys, caplog):
    server = fault_server("starttls_injection")
    settings = fault_settings(server, sentinel_password)
    report, blob = run_and_collect(settings, capsys, caplog)
    assert report.ok and report.warnings, report.failure  # sent, with the warning
    assert_no_secret(blob, sentinel_password)


@pytest.mark.parametrize("fault", ["auth_oauth2", "hangup_at_mail", "rcpt_5xx", "data_5xx"])
def test_failing_runs_show_the_password_nowhere(fault_server, sentinel_password, capsys,
                                                caplog, fault):
    server = fault_server(fault)
    settings = fault_settings(server, sentinel_password)
    report, blob = run_and_collect(settings, capsys, caplog)
    assert not report.ok
    assert_no_secret(blob, sentinel_password)


def test_a_settings_failure_shows_the_password_nowhere(sentinel_password, capsys, caplog):
    settings = Settings().with_values({
        "mail.relay": "external", "mail.smtp.server": "127.0.0.1:9",
        "mail.smtp.security": "none", "mail.smtp.username": USER,
        "mail.smtp.password": sentinel_password})
    report, blob = run_and_collect(settings, capsys, caplog)
    assert report.failure is not None and report.failure.cls == "plaintext_auth_refused"
    assert_no_secret(blob, sentinel_password)


class EchoingServer(OneShotServer):
    """A hostile SMTP server that echoes the AUTH payload and the decoded
    password back in its error reply (so only redaction can save us)."""

    def handle(self, conn) -> None:
        with conn.makefile("rb") as rfile:
            conn.sendall(b"220 echo ESMTP\r\n")
            rfile.readline()
            conn.sendall(b"250-echo\r\n250 AUTH PLAIN\r\n")
            line = rfile.readline().strip()
            payload = line.split()[-1]
            password = base64.b64decode(payload).split(b"\0")[-1]
            conn.sendall(b"535-5.7.8 you sent " + payload + b"\r\n535 5.7.8 password "
                         + password + b" is wrong\r\n")
            rfile.readline()


def test_a_server_echoing_the_credentials_is_redacted(sentinel_password, capsys, caplog):
    server = EchoingServer()
    try:
        settings = Settings().with_values({
            "mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{server.port}",
            "mail.smtp.security": "none", "mail.smtp.allow_plaintext_auth": True,
            "mail.smtp.username": USER, "mail.smtp.password": sentinel_password,
            "mail.smtp.timeout": 5})
        report, blob = run_and_collect(settings, capsys, caplog)
    finally:
        server.close()
    assert report.failure is not None and report.failure.cls == "auth_failed"
    # the whole reply line is withheld (its code stays), not a substring of it
    assert "S: 535-<credentials hidden>\n" in report.transcript_text()
    assert_no_secret(blob, sentinel_password)


def test_the_pop3_login_shows_the_password_nowhere(pop3_server, smtp_server, sentinel_password,
                                                   capsys, caplog):
    smtp = smtp_server(tls="starttls", auth=False)
    for password in (sentinel_password, sentinel_password + "-wrong"):
        settings = Settings().with_values(smtp.settings_values(**{
            "mail.smtp.authentication": False, "mail.pop3.enabled": True,
            "mail.pop3.server": f"{pop3_server.host}:{pop3_server.pop3_port}",
            "mail.smtp.ca_file": pop3_server.ca_file,
            "mail.smtp.username": pop3_server.user, "mail.smtp.password": password}))
        report, blob = run_and_collect(settings, capsys, caplog)
        assert report.ok is (password == sentinel_password), report.failure
        assert "PASS <credentials hidden>" in report.transcript_text()
        assert_no_secret(blob, sentinel_password)
        assert_no_secret(blob, password)


# --- OAuth2: the client secret, every token and their base64/SASL forms ------------------

def oauth_forms(lab, smtp) -> list[str]:
    """Every secret of an OAuth2 run as it could leak: the client secret, each access
    and refresh token the authorization server issued, plain, base64 and inside the
    XOAUTH2 / OAUTHBEARER payloads."""
    from mailer.oauth import oauthbearer, xoauth2
    from tests.servers.oauth import CLIENT_SECRET, MAILBOX

    secrets = [CLIENT_SECRET]
    for token in lab.auth.tokens.values():
        secrets += [token.access_token] + ([token.refresh_token] if token.refresh_token else [])
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    out = []
    for s in secrets:
        out += [s, b64(s), xoauth2(MAILBOX, s), oauthbearer(MAILBOX, s, smtp.host, smtp.port)]
    key_lines = [line for line in lab.private_key.splitlines() if "-----" not in line]
    return out + key_lines[1:3]


@pytest.mark.parametrize("flow,mechanism", [("client_credentials", "XOAUTH2"),
                                            ("jwt_bearer", "OAUTHBEARER")])
def test_an_oauth2_send_shows_no_secret_or_token(oauth_lab, tmp_path, capsys, caplog, flow,
                                                 mechanism):
    smtp = oauth_lab.smtp(mechanisms=(mechanism,))
    settings = Settings().with_values(oauth_lab.settings_values(flow, smtp))
    steps: list[object] = []
    caplog.set_level(logging.DEBUG, logger="mailer")  # not the test servers' own
    report = send_test_mail(settings=settings, recipient="admin@example.org",
                            on_step=steps.append, token_file=str(tmp_path / "t.json"))
    assert report.ok, report.failure
    assert f"AUTH {mechanism} <credentials hidden>" in report.transcript_text()
    out = capsys.readouterr()
    blob = "\n".join([report.to_json(), repr(report), report.transcript_text(), out.out,
                      out.err, caplog.text, repr(steps), repr(settings)])
    forms = oauth_forms(oauth_lab, smtp)
    assert len(oauth_lab.auth.tokens) == 1  # a token really was issued and used
    for form in forms:
        assert form not in blob, f"secret form {form[:6]}... leaked"


def test_a_refused_and_renewed_token_shows_no_token(oauth_lab, tmp_path, capsys, caplog):
    smtp = oauth_lab.smtp()
    settings = Settings().with_values(oauth_lab.settings_values("client_credentials", smtp))
    tokens = str(tmp_path / "t.json")
    send_test_mail(settings=settings, recipient="admin@example.org", token_file=tokens)
    oauth_lab.auth.revoke_access_tokens()
    caplog.set_level(logging.DEBUG, logger="mailer")  # not the test servers' own
    report = send_test_mail(settings=settings, recipient="admin@example.org",
                            token_file=tokens)
    assert report.ok and len(oauth_lab.auth.tokens) == 2
    out = capsys.readouterr()
    blob = "\n".join([report.to_json(), report.transcript_text(), out.out, out.err,
                      caplog.text])
    for form in oauth_forms(oauth_lab, smtp):
        assert form not in blob


class EchoingOAuthServer(OneShotServer):
    """A hostile server that answers AUTH XOAUTH2 with the payload and the decoded
    token in its error replies."""

    def handle(self, conn) -> None:
        with conn.makefile("rb") as rfile:
            conn.sendall(b"220 echo ESMTP\r\n")
            rfile.readline()
            conn.sendall(b"250-echo\r\n250 AUTH XOAUTH2\r\n")
            payload = rfile.readline().strip().split()[-1]
            token = base64.b64decode(payload).split(b"Bearer ")[1].split(b"\x01")[0]
            conn.sendall(b"334 " + base64.b64encode(b'{"status":"401","token":"' + token
                                                     + b'"}') + b"\r\n")
            rfile.readline()
            conn.sendall(b"535-5.7.8 you sent " + payload + b"\r\n535 5.7.8 token " + token
                         + b" is bad\r\n")
            rfile.readline()


def test_a_server_echoing_the_token_is_redacted(oauth_lab, tmp_path, capsys, caplog):
    server = EchoingOAuthServer()
    try:
        settings = Settings().with_values({
            **oauth_lab.settings_values("client_credentials", oauth_lab.smtp()),
            "mail.smtp.server": f"127.0.0.1:{server.port}", "mail.smtp.security": "none",
            "mail.smtp.allow_plaintext_auth": True, "mail.smtp.timeout": 5})
        caplog.set_level(logging.DEBUG, logger="mailer")  # not the test servers' own
        report = send_test_mail(settings=settings, recipient="admin@example.org",
                                token_file=str(tmp_path / "t.json"))
    finally:
        server.close()
    assert report.failure is not None and report.failure.cls == "oauth_token_refused"
    # the whole reply line is withheld (its code stays), not a substring of it
    assert "S: 535-<credentials hidden>\n" in report.transcript_text()
    out = capsys.readouterr()
    blob = "\n".join([report.to_json(), report.transcript_text(), out.out, out.err,
                      caplog.text, report.failure.message])
    smtp_like = type("S", (), {"host": "127.0.0.1", "port": server.port})
    for form in oauth_forms(oauth_lab, smtp_like):
        assert form not in blob
