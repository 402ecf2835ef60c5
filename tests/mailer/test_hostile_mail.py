"""Hostile values never reach a mail header or the SMTP wire (issue 12).

Hostile strings (tests/hostile.py) for every text setting go through the
CLI's ``set`` and ``apply`` (in-process, real files), then into the generated
test mail's bytes and over a real socket to a server that takes a bare LF as
a line end (tests/servers/lenient_smtp.py).  Whatever was accepted: the set
of header names never changes, every header line ends in CRLF, and exactly
one SMTP transaction arrives per send.  Example counts are in the
``settings(max_examples=...)`` of each test (docs/mailer.md sums them up).
"""

from __future__ import annotations

import os
import socket
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage

import pytest
import tomlkit
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from config.model import Settings
from config.service import SettingsService
from mailconsole.cli import main
from mailer import send, send_test_mail
from mailer.errors import MailerError
from mailer.message import AddressError, build_test_mail_bytes, check_header_block, message_bytes
from mailer.report import Report
from mailer.session import Recorder
from mailer.smtp import dot_stuff
from mailer.wire import command_bytes
from tests.hostile import TEXT_FIELDS, hostile_text
from tests.servers.lenient_smtp import LenientSmtpServer

RCPT = "rcpt@example.org"
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.function_scoped_fixture])
# Keys whose value decides where the mail goes: with a hostile value the mail
# cannot reach the test server, so those examples check the bytes only.
ROUTING = {"mail.relay", "mail.smtp.server", "mail.smtp.security", "mail.internal.sendmail"}


@pytest.fixture(scope="module")
def lenient():
    server = LenientSmtpServer()
    yield server
    server.close()


def names_of(data: bytes) -> list[str]:
    head = data.split(b"\r\n\r\n", 1)[0]
    return sorted(line.split(b":", 1)[0].decode("ascii").lower()
                  for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t"))


def assert_clean_head(data: bytes) -> None:
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\0" not in head
    assert head.count(b"\r") == head.count(b"\r\n") == head.count(b"\n")


BASE = Settings().with_values({"mail.relay": "external", "mail.smtp.server": "127.0.0.1:25",
                               "mail.smtp.security": "none",
                               "mail.smtp.authentication": False})
BASELINE = names_of(build_test_mail_bytes(BASE, RCPT))


def test_the_baseline_is_the_test_mail_s_headers():
    assert {"from", "to", "subject", "date", "message-id", "mime-version"} <= set(BASELINE)
    assert "bcc" not in BASELINE and "reply-to" not in BASELINE


def check_accepted(settings: Settings, field: str, lenient: LenientSmtpServer) -> None:
    """What a stored value may do downstream: the generated mail has exactly
    the baseline's headers, and a send is exactly one transaction."""
    try:
        data = build_test_mail_bytes(settings, RCPT)
    except AddressError:
        data = None  # the mailer refused the value itself: nothing to send
    if data is not None:
        assert names_of(data) == BASELINE
        assert_clean_head(data)
    if field in ROUTING or field.startswith("queue."):
        event("accepted, bytes checked")
        return
    lenient.reset()
    report = send_test_mail(settings=settings.with_values(lenient.settings_values()),
                            recipient=RCPT)
    transactions = lenient.transactions()
    if not report.ok:
        assert transactions == [], report.failure
        event(f"accepted, send refused at {report.failure and report.failure.step}")
        return
    event("accepted and sent")
    assert len(transactions) == 1, [t.sender for t in transactions]
    (t,) = transactions
    assert t.recipients == [f"<{RCPT}>"]
    assert sorted(t.header_names()) == BASELINE


def initial_file(path: str) -> None:
    with open(path, "w") as f:
        f.write('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "127.0.0.1:25"\n'
                'security = "none"\nauthentication = false\n')


@settings(SLOW, max_examples=150)
@given(field=st.sampled_from(TEXT_FIELDS), value=hostile_text())
def test_a_hostile_value_set_on_the_command_line(lenient, field, value):
    with tempfile.TemporaryDirectory(prefix="hostile-set-") as tmp:
        path = os.path.join(tmp, "mail.toml")
        initial_file(path)
        code = main(["--config", path, "set", f"{field}={value}"])
        assert code in (0, 1), code  # saved, or refused as invalid; never a crash
        event(f"exit {code}")
        stored = SettingsService(path).load()
        if code == 1:
            assert stored.get(field) != value or value == BASE.get(field)
            return
        assert stored.get(field) == value  # nothing lost, nothing altered
        check_accepted(stored, field, lenient)


@settings(SLOW, max_examples=100)
@given(field=st.sampled_from(TEXT_FIELDS), value=hostile_text(),
       multiline=st.booleans())
def test_a_hostile_value_applied_from_a_toml_file(lenient, field, value, multiline):
    *tables, leaf = field.split(".")
    doc = tomlkit.document()
    node = doc
    for name in tables:
        node = node.setdefault(name, tomlkit.table())
    node[leaf] = tomlkit.string(value, multiline=multiline and "\r" not in value
                                and "\x7f" not in value)
    with tempfile.TemporaryDirectory(prefix="hostile-apply-") as tmp:
        path, src = os.path.join(tmp, "mail.toml"), os.path.join(tmp, "in.toml")
        initial_file(path)
        try:
            text = doc.as_string()
        except Exception:  # tomlkit cannot write this value as TOML at all
            return
        with open(src, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        code = main(["--config", path, "apply", src])
        assert code in (0, 1, 3), code
        event(f"exit {code}")
        if code != 0:
            return
        stored = SettingsService(path).load()
        check_accepted(stored, field, lenient)


@settings(max_examples=400, deadline=None)
@given(name=hostile_text(), subject=hostile_text())
def test_the_header_check_catches_what_the_email_package_makes_of_any_value(name, subject):
    """Even without the input checks (the name goes into Address() directly),
    no generated header block has another set of names or a bare line end."""
    msg = EmailMessage()
    try:
        msg["From"] = Address(display_name=name, username="pbx", domain="example.com")
        msg["To"] = RCPT
        msg["Subject"] = subject
    except (ValueError, TypeError, IndexError):
        return  # the email package refused the value itself
    msg.set_content("body\n")
    try:
        data = message_bytes(msg)
    except AddressError:
        return
    assert names_of(data) == sorted(n.lower() for n in msg.keys())
    assert_clean_head(data)


def test_the_encoded_word_of_the_issue_is_refused_before_any_connection(lenient):
    lenient.reset()
    value = "=?utf-8?q?=0D=0ABcc:_victim@evil.example?="
    settings = Settings().with_values(lenient.settings_values(**{"mail.sender_name": value}))
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.failure is not None and report.failure.step == "settings"
    assert lenient.transactions() == [] and lenient.commands == []


def test_the_header_check_refuses_an_extra_header():
    good = b"From: a@b.example\r\nTo: c@d.example\r\n\r\nbody\r\n"
    check_header_block(good, ["From", "To"])
    for bad in (b"From: \"\r\nBcc: x@evil.example\" <a@b.example>\r\nTo: c@d.example\r\n\r\n",
                b"From: a@b.example\nBcc: x@y.z\r\nTo: c@d.example\r\n\r\n",
                b"From: a@b\rRSET\r\nTo: c@d.example\r\n\r\n",
                b"From: a@b.example\0\r\nTo: c@d.example\r\n\r\n"):
        with pytest.raises(AddressError):
            check_header_block(bad, ["From", "To"])


# -- the wire ---------------------------------------------------------------------

def test_the_lenient_server_really_runs_a_smuggled_transaction(lenient):
    """Not vacuous: bytes with <LF>.<CR><LF> inside DATA, written raw, give this
    server two transactions (what mailconsole must never let happen)."""
    lenient.reset()
    with socket.create_connection(("127.0.0.1", lenient.port), timeout=5) as s:
        f = s.makefile("rb")
        f.readline()
        for cmd in (b"EHLO x\r\n", b"MAIL FROM:<a@b.example>\r\n", b"RCPT TO:<c@d.example>\r\n",
                    b"DATA\r\n"):
            s.sendall(cmd)
            while f.readline()[3:4] == b"-":
                pass
        s.sendall(b"Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<spoof@evil.example>\r\n"
                  b"RCPT TO:<victim@evil.example>\r\nDATA\r\nSubject: spoofed\r\n\r\n.\r\n"
                  b"QUIT\r\n")
        while f.readline():
            pass
    assert len(lenient.transactions()) == 2


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"..", b"\n.\r\n",
                                           b"\r.\r", b"\r\n.\n", b"x", b"MAIL FROM:<a@b>"]),
                          st.binary(max_size=4)), max_size=12).map(b"".join))
def test_dot_stuffed_data_has_one_end_for_every_reading_of_line_ends(data):
    wire = dot_stuff(data)
    assert wire.endswith(b"\r\n.\r\n")
    assert wire.count(b"\r") == wire.count(b"\r\n") == wire.count(b"\n")  # CRLF only
    for split in (b"\r\n", b"\n"):  # a strict and a lenient server
        lines = wire.split(split)
        lines = [line.removesuffix(b"\r") for line in lines]
        assert lines.index(b".") == len(lines) - 2  # the only "." line is the last one


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.one_of(st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"\n.\r\n",
                                                b"\r.\r", b"\n.\n",
                                                b"MAIL FROM:<spoof@evil.example>\r\n",
                                                b"RCPT TO:<victim@evil.example>\n", b"DATA\n"]),
                               st.binary(max_size=3)), max_size=10).map(b"".join))
def test_send_of_a_raw_message_is_one_transaction_on_a_lenient_server(lenient, body):
    lenient.reset()
    raw = b"From: pbx@example.com\r\nTo: rcpt@example.org\r\nSubject: s\r\n\r\n" + body
    settings = Settings().with_values(lenient.settings_values())
    report = send(settings=settings, message=raw, recipients=[RCPT])
    assert report.ok, report.failure
    transactions = lenient.transactions()
    assert len(transactions) == 1
    assert transactions[0].recipients == [f"<{RCPT}>"]


def test_a_command_line_with_a_line_break_is_refused_before_it_is_written():
    rec = Recorder(Report(), on_step=None, secrets=[])
    assert command_bytes(rec, "MAIL FROM:<a@b.example>") == b"MAIL FROM:<a@b.example>\r\n"
    for bad in ("MAIL FROM:<a@b>\r\nRSET", "RCPT TO:<a@b>\nDATA", "X\rY", "A\0B"):
        with pytest.raises(MailerError):
            command_bytes(rec, bad)


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory"])
def test_a_ca_file_that_is_not_a_regular_file_fails_the_settings_step(lenient, tmp_path, kind):
    """Both transports (the screen uses the async one): at once, nothing sent."""
    ca = tmp_path / "ca.pem"
    if kind == "fifo":
        os.mkfifo(ca)
    elif kind == "directory":
        ca.mkdir()
    else:
        ca.symlink_to("/dev/zero")
    lenient.reset()
    settings = Settings().with_values(lenient.settings_values(**{
        "mail.smtp.security": "starttls", "mail.smtp.ca_file": str(ca),
        "mail.smtp.timeout": 5}))
    report = send_test_mail(settings=settings, recipient=RCPT)
    assert report.failure is not None and report.failure.step == "settings"
    assert "not a regular file" in report.failure.message
    assert lenient.commands == []
