"""Classification by what the server says: the reply table of
mailer/replies.py, the enhanced and basic codes, and the advice naming the
setting as the screen labels it.

Replies of servers that cannot run here (Exchange Online, Gmail) are replayed
from the table by the scripted FaultServer at the command where those servers
send them; Postfix, Exim and Dovecot themselves are in test_real_servers.py."""

from __future__ import annotations

import pytest

from config.i18n import _, set_language
from mailer import send_test_mail
from mailer.diagnosis import CLASSES, FIXES, LABEL_KEYS, LABELS, SETTINGS, is_temporary
from mailer.replies import KNOWN, classify, enhanced_code, known, reply_line
from tests.mailer.conftest import RCPT, settings_for


def _split(example: str) -> tuple[int, list[str]]:
    """"535-5.7.8 a\\n535 5.7.8 b" -> (535, ["5.7.8 a", "5.7.8 b"])."""
    lines = example.split("\n")
    return int(lines[0][:3]), [line[4:] for line in lines]


def label_of(key: str) -> str:
    """The screen's label of ``key`` in the active language."""
    name = next(n for n, k in LABEL_KEYS.items() if k == key)
    return _(LABELS[name])


@pytest.mark.parametrize("row", KNOWN, ids=lambda r: f"{r.server}:{r.example[:40]}")
def test_every_known_reply_is_classified_as_its_row_says_whatever_the_step(row):
    code, lines = _split(row.example)
    for step in ("ehlo", "login", "mail_from", "rcpt_to", "data"):
        assert classify(code, " ".join(lines), step) == row.cls
    assert row.cls in CLASSES and row.source


@pytest.mark.parametrize(("code", "text", "step", "cls"), [
    # the cases of the issue
    (454, "4.7.1 <admin@example.org>: Relay access denied", "rcpt_to", "relay_denied"),
    (554, "5.7.1 <admin@example.org>: Recipient address rejected: Access denied", "rcpt_to",
     "relay_denied"),
    (553, "5.7.1 <pbx@example.com>: Sender address rejected: not owned by user x", "rcpt_to",
     "sender_not_owned"),
    (554, "5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied", "rcpt_to",
     "client_rejected"),
    (504, "5.5.2 <vm>: Helo command rejected: need fully-qualified hostname", "rcpt_to",
     "helo_rejected"),
    (530, "5.7.0 Must issue a STARTTLS command first", "mail_from", "starttls_required"),
    (552, "5.3.4 Message size exceeds fixed limit", "mail_from", "message_too_big"),
    # enhanced status codes (RFC 3463) when the text is unknown
    (550, "5.1.1 No such user here", "rcpt_to", "recipient_refused"),
    (550, "5.1.8 Bad sender domain", "mail_from", "sender_refused"),
    (552, "5.2.3 Too long", "data", "message_too_big"),
    (535, "5.7.8 Bad credentials", "login", "auth_failed"),
    (550, "5.7.1 Not today", "rcpt_to", "policy_refused"),
    (554, "5.7.11 Encryption needed", "login", "starttls_required"),
    (554, "5.6.0 Message content rejected", "data", "message_refused"),
    # basic codes: 4xx temporary, 530 authentication, else the step
    (450, "4.2.1 Mailbox temporarily unavailable", "rcpt_to", "temporary_failure"),
    (451, "Temporary local problem - please try later", "data", "temporary_failure"),
    (454, "4.7.0 Temporary authentication failure", "login", "temporary_failure"),
    (530, "Authentication needed", "mail_from", "auth_required"),
    (554, "Transaction failed", "rcpt_to", "recipient_refused"),
    (554, "no SMTP service here", "greeting", "client_rejected"),
    (554, "", "data", "message_refused"),
    (550, "", "mail_from", "sender_refused"),
])
def test_the_reply_decides_and_the_step_only_when_the_reply_says_nothing_more(
        code, text, step, cls):
    assert classify(code, text, step) == cls


def test_a_reply_is_quoted_in_one_line_with_its_code_and_one_enhanced_code():
    code, lines = _split(next(r.example for r in KNOWN if "BadCredentials" in r.example))
    assert reply_line(code, lines) == ("535 5.7.8 Username and Password not accepted. Learn "
                                       "more at https://support.google.com/mail/?p=BadCredentials")
    assert reply_line(250, []) == "250"
    assert enhanced_code("5.7.139 Authentication unsuccessful") == "5.7.139"
    assert enhanced_code("<x>: 5.7.1 relay") == "" and enhanced_code("5.7 x") == ""


def test_waiting_helps_only_for_temporary_classes():
    assert is_temporary("temporary_failure") and is_temporary("rate_limited")
    assert is_temporary("sendmail_tempfail") and is_temporary("connection_lost")
    for cls in ("relay_denied", "auth_failed", "starttls_required", "message_too_big",
                "helo_rejected", "sender_not_owned", "auth_oauth2_required"):
        assert not is_temporary(cls), cls
    assert known("454 4.7.1 <a@b.c>: Relay access denied").cls == "relay_denied"


def test_every_class_names_real_settings_and_fixes_set_valid_values():
    from config.model import FIELDS

    for cls, keys in SETTINGS.items():
        for key in keys:
            assert key in FIELDS or key == "mail.smtp.ehlo_name", (cls, key)
    for cls, (values, label) in FIXES.items():
        assert label and cls in CLASSES
        for key, value in values.items():
            field = FIELDS[key]
            assert isinstance(value, field.type)
            assert not field.choices or value in field.choices


def test_no_internal_class_name_appears_in_human_text():
    for cls in CLASSES:
        message, advice = __import__("mailer.diagnosis").diagnosis.describe(
            cls, {"server": "mail.example.org:587", "host": "mail.example.org"})
        for other in CLASSES:
            if "_" in other:
                assert other not in message + advice, (cls, other)


# Where Exchange Online and Gmail send each reply (the SMTP command it answers).
_COMMAND = {
    "auth_oauth2_required": "AUTH", "auth_failed": "AUTH", "app_password_required": "AUTH",
    "auth_required": "MAIL", "sender_not_owned": "END", "relay_denied": "RCPT",
    "rate_limited": "MAIL", "message_too_big": "END",
}
_REPLAYED = [r for r in KNOWN if r.server in ("Exchange Online", "Gmail")]


@pytest.mark.parametrize("row", _REPLAYED, ids=lambda r: r.example[:48])
def test_exchange_and_gmail_replies_replayed_give_their_class_and_advice(
        fault_server, row):
    server = fault_server(replies={_COMMAND[row.cls]: row.example.replace("\n", "\r\n")})
    report = send_test_mail(settings=settings_for(server, **{"mail.smtp.password": "pw-1234"}),
                            recipient=RCPT)
    failure = report.failure
    assert failure is not None and failure.cls == row.cls, failure
    code, lines = _split(row.example)
    assert reply_line(code, lines) in failure.message  # the reply once, with its code
    assert f"127.0.0.1:{server.port}" in failure.message
    for key in SETTINGS[row.cls][:1]:
        assert f'"{label_of(key)}"' in failure.advice
    # polite: QUIT after the refusal, the connection was still in step
    assert server.verbs()[-1] == "QUIT", server.verbs()


def test_advice_names_the_setting_in_the_active_language(fault_server):
    server = fault_server(replies={"MAIL": "530 5.7.0 Must issue a STARTTLS command first"})
    try:
        set_language("de")
        report = send_test_mail(settings=settings_for(server, **{
            "mail.smtp.password": "pw-1234", "mail.smtp.authentication": False}),
            recipient=RCPT)
        assert report.failure is not None and report.failure.cls == "starttls_required"
        assert _("Security") != "Security"
        assert f'„{_("Security")}“' in report.failure.advice
    finally:
        set_language("en")


# -- the EHLO name (RFC 5321 4.1.1.1) ----------------------------------------------

def test_the_ehlo_name_is_the_setting_else_an_fqdn_else_an_address_literal(monkeypatch):
    import socket

    from mailer.smtp import local_name

    assert local_name(("127.0.0.1", 5), "pbx.example.com") == "pbx.example.com"
    monkeypatch.setattr(socket, "gethostname", lambda: "pbx.customer.example")
    assert local_name(("127.0.0.1", 5)) == "pbx.customer.example"
    for bare in ("vm", "localhost", "", "vm_1.example"):
        monkeypatch.setattr(socket, "gethostname", lambda bare=bare: bare)
        assert local_name(("127.0.0.1", 5)) == "[127.0.0.1]"
        assert local_name(("::1", 5)) == "[IPv6:::1]"
        assert local_name(("fe80::1%eth0", 5)) == "[IPv6:fe80::1]"
        assert local_name(("::ffff:192.0.2.7", 5)) == "[192.0.2.7]"
        assert local_name(None) == "localhost"


def test_the_server_hears_the_address_literal_of_our_end(fault_server, monkeypatch):
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    server = fault_server()
    report = send_test_mail(settings=settings_for(server, **{"mail.smtp.password": "pw-1234"}),
                            recipient=RCPT)
    assert report.ok, report.failure
    assert server.commands[0] == "EHLO [127.0.0.1]"
    server = fault_server()
    report = send_test_mail(settings=settings_for(server, **{
        "mail.smtp.password": "pw-1234", "mail.smtp.ehlo_name": "pbx.example.com"}),
        recipient=RCPT)
    assert report.ok and server.commands[0] == "EHLO pbx.example.com"
