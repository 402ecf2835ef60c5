"""Self-tests: each loopback test server behaves as its docstring says (stdlib clients)."""

from __future__ import annotations

import poplib
import smtplib
import socket
import ssl
import subprocess
import time
from email.message import EmailMessage

import pytest


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "pbx@example.com"
    msg["To"] = "admin@example.org"
    msg["Subject"] = "self-test"
    msg.set_content("hello\n.leading dot\n")
    return msg


def test_the_starttls_server_records_the_envelope_tls_and_user(smtp_server, ca):
    server = smtp_server(tls="starttls", user="u1@example.org", password="pw-1")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # AUTH only after STARTTLS by default
        client.starttls(context=ca.client_context())
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"]
        client.login("u1@example.org", "pw-1")
        client.send_message(_message(), "env-from@example.com", ["rcpt@example.org"])
    (got,) = server.wait_for_messages(1)
    assert got.mail_from == "env-from@example.com"
    assert got.rcpt_tos == ["rcpt@example.org"]
    assert got.tls is True
    assert got.user == "u1@example.org"
    assert got.message["Subject"] == "self-test"
    assert ".leading dot" in got.message.get_content()
    assert got.queue_id
    assert server.commands() == ["EHLO", "EHLO", "AUTH", "MAIL", "RCPT", "DATA"]
    assert [e.tls for e in server.events] == [False, True, True, True, True, True]


def test_the_implicit_tls_server_speaks_tls_from_the_first_byte(smtp_server, ca):
    server = smtp_server(tls="implicit", password="pw")
    with smtplib.SMTP_SSL(server.host, server.port, timeout=5,
                          context=ca.client_context()) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        client.login(server.user, "pw")
        client.send_message(_message())
    (got,) = server.wait_for_messages(1)
    assert got.tls is True and got.user == server.user


def test_a_wrong_password_is_refused_with_535_and_recorded_without_it(smtp_server, ca):
    server = smtp_server(tls="starttls", password="right")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=ca.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            client.login(server.user, "wrong-pw-xyz")
    assert err.value.smtp_code == 535
    assert server.auth_attempts  # smtplib tries each offered mechanism in turn
    assert all(not a.ok and a.tls and a.login == server.user for a in server.auth_attempts)
    assert "MAIL" not in server.commands()
    assert "wrong-pw-xyz" not in repr(server.auth_attempts)


def test_the_plain_server_offers_auth_without_tls_when_allowed(smtp_server):
    server = smtp_server(tls="none", password="pw")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        assert client.has_extn("auth")
        client.login(server.user, "pw")
        client.send_message(_message())
    (got,) = server.wait_for_messages(1)
    assert got.tls is False and got.user == server.user


def test_auth_false_offers_no_auth(smtp_server):
    server = smtp_server(tls="none", auth=False)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        client.send_message(_message())
    assert server.wait_for_messages(1)[0].user is None


@pytest.mark.parametrize("cert, reason", [
    ("valid", None),
    ("wrong_host", "IP address mismatch"),
    ("expired", "certificate has expired"),
    ("not_yet_valid", "certificate is not yet valid"),
    ("unknown_ca", "unable to get local issuer certificate"),
])
def test_each_certificate_fails_verification_for_its_own_reason(smtp_server, ca, cert, reason):
    server = smtp_server(tls="implicit", cert=cert)
    ctx = ca.client_context()
    if reason is None:
        with smtplib.SMTP_SSL("127.0.0.1", server.port, timeout=5, context=ctx) as c:
            assert c.noop()[0] == 250
        return
    with pytest.raises(ssl.SSLCertVerificationError) as err:
        smtplib.SMTP_SSL("127.0.0.1", server.port, timeout=5, context=ctx)
    assert reason in str(err.value)


# --- the fault server ---------------------------------------------------------------

def _connect(server, timeout=3.0):
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    return sock, sock.makefile("rb")


def test_the_fault_server_walks_a_client_through_starttls_and_auth(fault_server, ca):
    server = fault_server(None)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=ca.client_context())
        client.login("user", "pw-never-recorded")
        client.send_message(_message(), "a@example.com", ["b@example.org"])
    assert server.verbs()[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"]
    assert "mail FROM:<a@example.com>" in " ".join(server.commands)
    assert not any("pw-never-recorded" in c for c in server.commands)
    assert [r.tls for r in server.received][:3] == [False, False, True]


@pytest.mark.parametrize("fault, code", [
    ("rcpt_4xx", 450), ("rcpt_5xx", 550), ("relay_denied", 554),
])
def test_rcpt_faults_answer_their_code(fault_server, fault, code):
    server = fault_server(fault, tls="none")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        client.mail("a@example.com")
        got, text = client.rcpt("b@example.org")
    assert got == code
    if fault == "relay_denied":
        assert text.startswith(b"5.7.1 <b@example.org>: Relay access denied")


@pytest.mark.parametrize("fault, code", [("data_4xx", 451), ("data_5xx", 554),
                                         ("data_cmd_5xx", 554)])
def test_data_faults_answer_their_code(fault_server, fault, code):
    server = fault_server(fault, tls="none")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPDataError) as err:
            client.sendmail("a@example.com", ["b@example.org"], b"Subject: x\r\n\r\nhi\r\n")
    assert err.value.smtp_code == code


@pytest.mark.parametrize("fault, verb", [
    ("hangup_at_ehlo", "ehlo"), ("hangup_at_mail", "mail"), ("hangup_at_rcpt", "rcpt"),
    ("hangup_mid_data", "data"),
])
def test_hangups_close_the_connection_at_their_command(fault_server, fault, verb):
    server = fault_server(fault, tls="none", offer_auth=False)
    client = smtplib.SMTP(server.host, server.port, timeout=5)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.ehlo()
        client.mail("a@example.com")
        client.rcpt("b@example.org")
        client.data(b"Subject: x\r\n\r\n" + b"line\r\n" * 1000)
    assert server.verbs()[-1] == verb.upper()


def test_hangup_after_greeting_and_421(fault_server):
    for fault, first in (("hangup_after_greeting", b"220 "), ("greeting_421", b"421 4.3.2")):
        server = fault_server(fault)
        sock, rfile = _connect(server)
        assert rfile.readline().startswith(first)
        assert rfile.readline() == b""  # closed
        sock.close()


def test_garbage_long_line_and_endless_continuation(fault_server):
    server = fault_server("garbage_greeting")
    sock, rfile = _connect(server)
    assert rfile.readline().startswith(b"HTTP/1.1 400")
    sock.close()
    server = fault_server("long_line")
    sock, rfile = _connect(server)
    assert len(rfile.readline()) == 9006
    sock.close()
    server = fault_server("endless_continuation")
    sock, rfile = _connect(server)
    rfile.readline()
    sock.sendall(b"EHLO me\r\n")
    lines = [rfile.readline() for _ in range(5000)]
    assert all(line.startswith(b"250-") for line in lines)
    sock.close()


def test_silence_and_drip(fault_server):
    server = fault_server("silence")
    sock, _ = _connect(server, timeout=1.0)
    with pytest.raises(socket.timeout):
        sock.recv(10)
    sock.close()
    server = fault_server("drip")
    sock, _ = _connect(server, timeout=2.5)
    start = time.monotonic()
    got = b""
    while len(got) < 3:
        got += sock.recv(10)
    assert got[:3] == b"220"
    assert time.monotonic() - start >= 1.5  # three bytes take two seconds
    sock.close()


def test_tls_reset_resets_the_handshake(fault_server, ca):
    server = fault_server("tls_reset")
    with pytest.raises(ConnectionResetError):
        smtplib.SMTP_SSL(server.host, server.port, timeout=5, context=ca.client_context())
    server = fault_server("starttls_reset")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        with pytest.raises(ConnectionResetError):
            client.starttls(context=ca.client_context())


def test_starttls_faults(fault_server, ca):
    server = fault_server("no_starttls")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
    server = fault_server("starttls_454")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert client.docmd("STARTTLS")[0] == 454
    server = fault_server("starttls_injection")
    sock, rfile = _connect(server)
    rfile.readline()
    sock.sendall(b"EHLO me\r\nSTARTTLS\r\n")
    while not rfile.readline().startswith(b"250 "):
        pass
    assert rfile.readline().startswith(b"220 ")
    assert rfile.readline() == b"250-INJECTED-AFTER-STARTTLS\r\n"  # same packet
    rfile.readline()
    tls = ca.client_context().wrap_socket(sock, server_hostname="127.0.0.1")
    tls.sendall(b"EHLO me\r\n")
    assert tls.recv(100).startswith(b"250-")
    tls.close()


def test_auth_faults(fault_server, ca):
    server = fault_server("auth_oauth2")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=ca.client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            client.login("u", "p")
    assert err.value.smtp_code == 535 and b"5.7.139" in err.value.smtp_error
    server = fault_server("no_auth")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.starttls(context=ca.client_context())
        client.ehlo()
        assert not client.has_extn("auth")


# --- dovecot (POP3) -----------------------------------------------------------------

def test_dovecot_logs_in_over_stls_pop3s_and_plain_and_refuses_a_wrong_password(
        pop3_server, ca):
    s = pop3_server
    client = poplib.POP3(s.host, s.pop3_port, timeout=5)
    assert "STLS" in client.capa()
    client.stls(context=ca.client_context())
    client.user(s.user)
    assert client.pass_(s.password).startswith(b"+OK")
    client.quit()
    client = poplib.POP3_SSL(s.host, s.pop3s_port, timeout=5, context=ca.client_context())
    client.user(s.user)
    assert client.pass_(s.password).startswith(b"+OK")
    client.quit()
    client = poplib.POP3(s.host, s.pop3_port, timeout=5)
    client.user(s.user)
    with pytest.raises(poplib.error_proto):
        client.pass_("wrong")
    client.quit()
    logins = s.wait_for_login(2)
    assert [(x.user, x.port, x.tls) for x in logins] == [
        (s.user, s.pop3_port, True), (s.user, s.pop3s_port, True)]
    deadline = time.monotonic() + 5
    while s.failed_logins() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.failed_logins() == 1
    assert s.password not in s.log()


# --- sendmail programs --------------------------------------------------------------

@pytest.mark.parametrize("tls", ["starttls", "implicit", "none"])
def test_msmtp_delivers_to_the_capture_server(smtp_server, msmtp_sendmail, tls):
    server = smtp_server(tls=tls)
    path = msmtp_sendmail(server)
    proc = subprocess.run([str(path), "-i", "-f", "env@example.com", "--", "to@example.org"],
                          input=_message().as_bytes(), capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    (got,) = server.wait_for_messages(1)
    assert got.mail_from == "env@example.com" and got.rcpt_tos == ["to@example.org"]
    assert got.tls is (tls != "none") and got.user == server.user
    assert got.message["Subject"] == "self-test"


def test_the_other_sendmail_variants(tempfail_sendmail, missing_sendmail, recording_sendmail):
    proc = subprocess.run([str(tempfail_sendmail), "-i", "--", "a@example.org"],
                          input=b"x", capture_output=True, timeout=10)
    assert proc.returncode == 75 and b"temporary failure" in proc.stderr
    assert not missing_sendmail.exists()
    proc = subprocess.run([str(recording_sendmail.path), "-i", "-f", "a b@x", "--", "c@y"],
                          input=b"body\n", timeout=10)
    assert recording_sendmail.argv() == ["-i", "-f", "a b@x", "--", "c@y"]
    assert recording_sendmail.stdin() == b"body\n"
