"""`test-mail` and `send` against real servers on 127.0.0.1."""

from __future__ import annotations

import io
import socket
import time

import pytest

from config.service import SettingsService
from mailconsole.commands import Progress
from mailer.report import Step
from tests.cli.conftest import SENTINEL


def configure(cfg, values):
    SettingsService(cfg).update(values)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def relay(smtp_server, cfg):
    """A STARTTLS + AUTH capture server, configured in the config file."""
    server = smtp_server(tls="starttls", auth=True)
    configure(cfg, server.settings_values())
    return server


def test_test_mail_delivers_and_prints_each_step_then_the_verdict(run, relay):
    r = run("test-mail", "--to", "admin@example.org")
    assert r.code == 0, r.err
    [msg] = relay.wait_for_messages(1)
    assert msg.rcpt_tos == ["admin@example.org"]
    assert msg.tls and msg.user == relay.user
    lines = r.out.splitlines()
    assert "\r" not in r.out  # piped: plain lines, no live rewriting
    assert any(line.startswith("ok") and "STARTTLS" in line.upper() for line in lines)
    assert lines[-1].startswith("Test mail to admin@example.org accepted by "
                                f"{relay.address}") or "accepted" in r.out
    assert r.err == ""


def test_test_mail_uses_the_configured_recipient_by_default(run, relay, cfg):
    configure(cfg, {"mail.test_recipient": "ops@example.org"})
    assert run("test-mail").code == 0
    assert relay.wait_for_messages(1)[0].rcpt_tos == ["ops@example.org"]


def test_test_mail_without_any_recipient_is_a_usage_error(run, relay):
    r = run("test-mail")
    assert r.code == 2 and "--to" in r.err


def test_test_mail_json_is_the_redacted_report(run, relay):
    r = run("test-mail", "--to", "admin@example.org", "--json")
    assert r.code == 0, r.err
    report = r.json()
    assert report["ok"] is True and report["failure"] is None
    names = [s["name"] for s in report["steps"]]
    assert "connect" in names and "data" in names
    assert any(t["text"].upper().startswith("AUTH") for t in report["transcript"])
    # the sentinel check of the `outputs` fixture covers the transcript too


def test_a_closed_port_fails_with_class_refused_and_one_stderr_line(run, cfg):
    configure(cfg, {"mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{closed_port()}",
                    "mail.smtp.security": "none", "mail.smtp.authentication": False})
    r = run("test-mail", "--to", "admin@example.org", "--json")
    assert r.code == 1
    report = r.json()
    assert report["ok"] is False
    assert report["failure"]["cls"] == "refused"
    [line] = r.err.splitlines()
    assert line.startswith('mailconsole: test mail failed at "Connect to 127.0.0.1:')
    assert " — " in line and "refused" not in line.split(":")[1]  # no class name
    text = run("test-mail", "--to", "admin@example.org")
    assert text.code == 1
    assert "NOT delivered" in text.out and "What to do:" in text.out
    assert text.err == ""  # the diagnosis once (issue 14)
    assert text.out.count("refused the connection") == 1


def test_timeout_overrides_the_saved_deadline(run, cfg, fault_server):
    server = fault_server("silence", tls="none")
    configure(cfg, {"mail.relay": "external", "mail.smtp.server": server.address,
                    "mail.smtp.security": "none", "mail.smtp.authentication": False,
                    "mail.smtp.timeout": 600})
    start = time.monotonic()
    r = run("test-mail", "--to", "admin@example.org", "--timeout", "2", "--json")
    elapsed = time.monotonic() - start
    assert r.code == 1
    assert r.json()["failure"]["cls"]
    assert elapsed < 2 + 3  # the deadline plus a generous second or three
    assert SettingsService(cfg).load().mail.smtp.timeout == 600  # nothing saved


def test_a_live_terminal_rewrites_the_running_line():
    out = io.StringIO()
    progress = Progress(out, live=True)
    step = Step(name="connect", title="Connect to 127.0.0.1:25")
    progress.on_step(step)
    step.status, step.duration, step.reply = "ok", 0.01, "220 ready"
    progress.on_step(step)
    assert out.getvalue() == ("\r\x1b[K..      Connect to 127.0.0.1:25"
                              "\r\x1b[Kok      Connect to 127.0.0.1:25 (0.01 s) — 220 ready\n")


def test_piped_output_prints_one_plain_line_per_finished_step():
    out = io.StringIO()
    progress = Progress(out, live=False)
    step = Step(name="connect", title="Connect")
    progress.on_step(step)
    assert out.getvalue() == ""
    step.status = "failed"
    progress.on_step(step)
    assert out.getvalue() == "FAILED  Connect (0.00 s)\n"


# --- send ----------------------------------------------------------------------

MESSAGE = """\
From: PBX <pbx@example.com>
To: Alice <alice@example.org>, bob@example.org
Cc: carol@example.org
Bcc: secret-dave@example.org
Subject: Voicemail from 201

You have a new voicemail.
"""


def test_send_with_t_takes_recipients_from_headers_and_strips_bcc(run, relay):
    r = run("send", "-t", stdin=MESSAGE)
    assert r.code == 0, r.err
    [msg] = relay.wait_for_messages(1)
    assert sorted(msg.rcpt_tos) == ["alice@example.org", "bob@example.org",
                                    "carol@example.org", "secret-dave@example.org"]
    assert b"secret-dave" not in msg.data
    assert b"Bcc" not in msg.data
    assert b"You have a new voicemail." in msg.data


def test_send_with_to_uses_only_those_recipients(run, relay):
    r = run("send", "--to", "ops@example.org", "--to", "noc@example.org", stdin=MESSAGE)
    assert r.code == 0, r.err
    [msg] = relay.wait_for_messages(1)
    assert msg.rcpt_tos == ["ops@example.org", "noc@example.org"]


@pytest.mark.parametrize("argv, stdin", [([], MESSAGE), (["--to", "a@example.org"], "")])
def test_send_without_recipients_or_message_is_a_usage_error(run, relay, argv, stdin):
    r = run("send", *argv, stdin=stdin)
    assert r.code == 2 and r.err.count("\n") == 1
    assert relay.messages == []


def test_send_to_a_relay_that_is_down_is_queued_exit_0_with_one_line(run, cfg):
    configure(cfg, {"mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{closed_port()}",
                    "mail.smtp.security": "none", "mail.smtp.authentication": False})
    r = run("send", "--to", "a@example.org", stdin=MESSAGE)
    assert r.code == 0
    assert r.err.startswith("mailconsole: mail queued as ")
    assert 'will be retried: delivery failed at "Connect to 127.0.0.1:' in r.err
    assert r.err.count("\n") == 1
    listed = run("queue", "list", "--json").json()
    assert [e["recipients"] for e in listed] == [["a@example.org"]]


def test_the_password_never_appears_in_a_failing_authenticated_run(run, smtp_server, cfg):
    server = smtp_server(tls="starttls", auth=True)
    configure(cfg, server.settings_values(**{"mail.smtp.username": "wrong-user"}))
    r = run("test-mail", "--to", "admin@example.org", "--json")
    assert r.code == 1
    assert r.json()["failure"]["step"] == "login"
    assert SENTINEL not in r.out + r.err


def test_a_multi_line_reply_stays_on_the_step_line():
    out = io.StringIO()
    step = Step(name="ehlo", title="EHLO", status="ok", reply="250-mx\n250-SIZE 1\n250 HELP")
    Progress(out, live=False).on_step(step)
    assert out.getvalue() == "ok      EHLO (0.00 s) — 250-mx …\n"


def test_on_a_terminal_each_step_is_one_live_line(cfg, outputs):
    """The real command with a pty as stdout rewrites the running line with \\r."""
    import os
    import subprocess
    import sys

    from tests.cli.conftest import ROOT, cli_env

    configure(cfg, {"mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{closed_port()}",
                    "mail.smtp.security": "none", "mail.smtp.authentication": False})
    master, slave = os.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "mailconsole", "test-mail", "--to",
                               "a@example.org"], stdout=slave, stderr=subprocess.PIPE,
                              cwd=ROOT, env=cli_env(), timeout=60)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    out = b"".join(chunks).decode()
    outputs.add(out, proc.stderr.decode())
    assert proc.returncode == 1
    assert "\r\x1b[K..      Connect to 127.0.0.1:" in out
    assert "\r\x1b[KFAILED  Connect to 127.0.0.1:" in out


def test_send_t_without_recipient_headers_says_the_message_names_none(run, cfg):
    configure(cfg, {"mail.relay": "external", "mail.smtp.server": f"127.0.0.1:{closed_port()}",
                    "mail.smtp.security": "none", "mail.smtp.authentication": False})
    r = run("send", "-t", stdin=b"Subject: no recipients\r\n\r\nhi\r\n")
    assert r.code == 2
    assert "no To, Cc or Bcc address" in r.err and "or -t" not in r.err
