"""`send`, `sendmail`, `queue ...`, `log` and `validate`'s queue warnings, in-process,
against real aiosmtpd relays on loopback."""

from __future__ import annotations

import json
import os
import socket

import pytest

from config.service import SettingsService
from mailer import queue as queue_mod

MESSAGE = """\
From: PBX <pbx@example.com>
To: Alice <alice@example.org>
Bcc: hidden@example.org
Subject: Voicemail from 201

You have a new voicemail.
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def point_at(cfg, address: str, **extra) -> None:
    SettingsService(cfg).update({"mail.relay": "external", "mail.smtp.server": address,
                                 "mail.smtp.security": "none",
                                 "mail.smtp.authentication": False, **extra})


def spool() -> queue_mod.Queue:
    return queue_mod.Queue(os.environ["MAILCONSOLE_QUEUE_DIR"])


@pytest.fixture
def relay(smtp_server, cfg):
    server = smtp_server(tls="none", auth=False)
    point_at(cfg, server.address)
    return server


@pytest.fixture
def down(cfg):
    point_at(cfg, f"127.0.0.1:{closed_port()}")


# --- sendmail ------------------------------------------------------------------------


def test_sendmail_with_t_delivers_to_the_header_recipients_and_strips_bcc(run, relay):
    r = run("sendmail", "-t", "-oi", stdin=MESSAGE)
    assert r.code == 0 and r.err == ""
    [msg] = relay.wait_for_messages(1)
    assert sorted(msg.rcpt_tos) == ["alice@example.org", "hidden@example.org"]
    assert b"hidden@" not in msg.data
    assert spool().ids() == []


def test_sendmail_without_i_ends_the_message_at_a_lone_dot(run, relay):
    text = "Subject: dots\n\nfirst\n.\nafter the dot\n"
    assert run("sendmail", "ops@example.org", stdin=text).code == 0
    assert run("sendmail", "-i", "ops@example.org", stdin=text).code == 0
    first, second = relay.wait_for_messages(2)
    assert b"after the dot" not in first.data
    assert b"after the dot" in second.data


def test_sendmail_f_and_big_f_set_the_envelope_sender_and_a_missing_from(run, relay):
    r = run("sendmail", "-f", "alerts@example.com", "-F", "Disk Monitor", "--",
            "ops@example.org", stdin="Subject: disk\n\n95%\n")
    assert r.code == 0, r.err
    [msg] = relay.wait_for_messages(1)
    assert msg.mail_from == "alerts@example.com"
    assert msg.message["From"] == "Disk Monitor <alerts@example.com>"


@pytest.mark.parametrize("argv, stdin, code", [
    (["ops@example.org"], "", 65),                     # empty message
    (["not-an-address"], MESSAGE, 67),                 # a recipient that can never work
    (["-f", "bad sender", "ops@example.org"], MESSAGE, 65),
    ([], "Subject: x\n\nno recipient\n", 64),          # usage
    (["--bogus"], MESSAGE, 64),
])
def test_sendmail_refuses_what_can_never_be_sent_with_sysexits(run, relay, argv, stdin, code):
    r = run("sendmail", *argv, stdin=stdin)
    assert r.code == code, r.err
    assert r.err.count("\n") == 1
    assert not spool().ids() and relay.messages == []


def test_a_spool_that_cannot_be_written_gives_75(run, down, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MAILCONSOLE_QUEUE_DIR", str(blocker / "spool"))
    r = run("sendmail", "ops@example.org", stdin=MESSAGE)
    assert r.code == 75
    assert "NOT queued" in r.err


def test_with_the_internal_relay_send_hands_over_to_sendmail_and_queues_nothing(
        run, cfg, recording_sendmail):
    SettingsService(cfg).update({"mail.relay": "internal",
                                 "mail.internal.sendmail": str(recording_sendmail.path)})
    assert run("sendmail", "ops@example.org", stdin=MESSAGE).code == 0
    assert recording_sendmail.argv()[-1] == "ops@example.org"
    assert not os.path.exists(os.environ["MAILCONSOLE_QUEUE_DIR"])


def test_with_the_internal_relay_a_sendmail_tempfail_is_75(run, cfg, tempfail_sendmail):
    SettingsService(cfg).update({"mail.relay": "internal",
                                 "mail.internal.sendmail": str(tempfail_sendmail)})
    assert run("send", "--to", "ops@example.org", stdin=MESSAGE).code == 75


# --- queue ------------------------------------------------------------------------


def test_queue_only_then_list_show_flush_and_log(run, relay):
    r = run("send", "--queue-only", "--to", "ops@example.org", stdin=MESSAGE)
    assert r.code == 0 and r.err == "" and relay.messages == []
    [entry] = run("queue", "list", "--json").json()
    assert list(entry) == ["id", "state", "attempts", "next_attempt", "age_seconds",
                           "recipients", "size", "last_error"]
    assert entry["state"] == "waiting" and entry["attempts"] == 0
    shown = run("queue", "show", entry["id"])
    assert shown.code == 0 and "Subject: Voicemail from 201" in shown.out
    assert "hidden@" not in shown.out  # Bcc was removed at accept
    flushed = run("queue", "flush")
    assert flushed.code == 0 and "sent 1, waiting 0, failed 0" in flushed.out
    assert len(relay.wait_for_messages(1)) == 1
    assert run("queue", "list", "--json").json() == []
    [line] = run("log", "--json").out.splitlines()
    record = json.loads(line)
    assert record["result"] == "sent" and record["code"] == 250
    assert record["recipient_domains"] == ["example.org"]
    assert record["id"] == entry["id"] and record["attempt"] == 1
    assert "sent" in run("log").out


def test_a_refused_mail_is_failed_listed_retried_and_dropped(run, relay):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user here"

    relay._controller.handler.handle_RCPT = refuse
    r = run("send", "--to", "nobody@example.org", stdin=MESSAGE)
    assert r.code == 0  # accepted; the failure is reported and kept
    assert "failed and is kept as failed" in r.err and "refused the recipient" in r.err
    [entry] = run("queue", "list", "--json").json()
    assert entry["state"] == "failed" and entry["next_attempt"] is None
    assert entry["last_error"]["cls"] == "recipient_refused"
    assert "failed" in run("queue", "list").out
    v = run("validate")
    assert "1 mail(s) failed" in v.out
    assert run("queue", "retry", entry["id"]).code == 0
    assert run("queue", "list", "--json").json()[0]["state"] == "waiting"
    assert run("queue", "drop", entry["id"]).code == 0
    assert run("queue", "list", "--json").json() == []
    missing = run("queue", "drop", entry["id"])
    assert missing.code == 1 and entry["id"] in missing.err
    assert run("queue", "show", "../../etc/passwd").code == 2  # never a path


def test_validate_warns_when_mail_waited_longer_than_an_hour(run, down, monkeypatch):
    assert run("send", "--to", "ops@example.org", stdin=MESSAGE).code == 0
    assert "waiting" not in run("validate").out
    later = queue_mod.CLOCK() + 2 * 3600
    monkeypatch.setattr(queue_mod, "CLOCK", lambda: later)
    out = run("validate", "--json").json()
    [problem] = [p for p in out["problems"] if p["key"] == "queue.dir"]
    assert problem["severity"] == "warning"
    assert "1 mail(s) waiting, the oldest for 2 h" in problem["message"]
    assert "refused" in problem["message"]


def test_queue_run_while_another_runner_holds_the_lock_does_nothing(run, relay):
    import fcntl

    run("send", "--queue-only", "--to", "ops@example.org", stdin=MESSAGE)
    q = spool()
    fd = os.open(os.path.join(q.root, "runner.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = run("queue", "run")
        assert r.code == 0 and "another queue runner is active" in r.out
    finally:
        os.close(fd)
    assert "sent 1" in run("queue", "run").out


def test_a_caller_that_may_not_read_the_settings_still_queues_and_the_runner_completes_it(
        run, relay, cfg, monkeypatch):
    """The settings file is 0600 (it holds the password); a service outside its owner
    gets EACCES (simulated: the tests run as root, who may read anything).  The mail is
    queued in the default spool as far as it can be made ready; the runner adds the
    sender and From from its settings."""
    SettingsService(cfg).update({"mail.sender": "pbx@example.com",
                                 "mail.sender_name": "Reception PBX"})
    from config import store

    real = store.read_regular

    def denied(path, shown, *args, **kwargs):
        if str(path).endswith("mail.toml"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, shown, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(store, "read_regular", denied)
        assert run("validate").code == 1  # the file really cannot be read
        r = run("sendmail", "-t", stdin="To: ops@example.org\nBcc: b@example.org\n"
                                        "Subject: no settings\n\nbody\n")
        assert r.code == 0 and r.err == ""
    assert relay.messages == []  # no attempt without the settings
    [entry] = run("queue", "list", "--json").json()
    assert entry["recipients"] == ["ops@example.org", "b@example.org"]
    assert "sent 1" in run("queue", "run").out
    [msg] = relay.wait_for_messages(1)
    assert msg.mail_from == "pbx@example.com"
    assert msg.message["From"] == "Reception PBX <pbx@example.com>"
    assert msg.message["Message-ID"] and msg.message["Date"]
    assert b"b@example.org" not in msg.data  # Bcc removed at accept
