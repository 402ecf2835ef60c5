"""The internal relay (M1): sendmail with an argument list, message on stdin,
exit status mapped to a class.  (msmtp end-to-end: test_internal_relay.py.)"""

from __future__ import annotations

import os
import stat
import time

from config.model import Settings
from mailer import send, send_test_mail
from mailer.message import build_message


def internal(path) -> Settings:
    return Settings().with_values({"mail.relay": "internal",
                                   "mail.internal.sendmail": str(path),
                                   "mail.smtp.timeout": 3})


def test_sendmail_gets_an_argument_list_with_dash_dash_and_the_message_on_stdin(
        recording_sendmail):
    settings = internal(recording_sendmail.path)
    message = build_message(settings=settings, recipients=["a@example.org"], subject="Hi",
                            text="body line\n.\n")
    report = send(settings=settings, message=message, sender="bounce@example.com",
                  recipients=["a@example.org", "b@example.org"])
    assert report.ok, report.failure
    assert recording_sendmail.argv() == ["-i", "-f", "bounce@example.com", "--",
                                         "a@example.org", "b@example.org"]
    stdin = recording_sendmail.stdin()
    assert b"Subject: Hi\r\n" in stdin
    assert b"\r\n.\r\n" in stdin  # no dot-stuffing for sendmail -i
    assert [s.name for s in report.steps] == ["settings", "sendmail"]
    assert report.relay == "internal"


def test_ex_tempfail_is_sendmail_tempfail_with_the_stderr_line(tempfail_sendmail):
    report = send_test_mail(settings=internal(tempfail_sendmail), recipient="a@example.org")
    assert not report.ok
    assert report.failure.cls == "sendmail_tempfail"
    assert report.failure.step == "sendmail"
    assert "75" in report.failure.message
    assert "temporary failure" in report.transcript_text()


def test_missing_sendmail_is_sendmail_missing(missing_sendmail):
    report = send_test_mail(settings=internal(missing_sendmail), recipient="a@example.org")
    assert report.failure is not None and report.failure.cls == "sendmail_missing"
    assert str(missing_sendmail) in report.failure.message


def _script(path, body: str):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_other_exit_statuses_are_sendmail_failed_or_the_matching_class(tmp_path):
    cases = {69: "sendmail_failed", 67: "recipient_refused", 78: "sendmail_config",
             72: "sendmail_config", 75: "sendmail_tempfail",
             1: "sendmail_failed"}
    for status, cls in cases.items():
        path = _script(tmp_path / f"sm{status}", f"cat >/dev/null; echo oops >&2; exit {status}\n")
        report = send_test_mail(settings=internal(path), recipient="a@example.org")
        assert report.failure is not None and report.failure.cls == cls, status


def test_a_hanging_sendmail_is_killed_at_the_deadline(tmp_path):
    pidfile = tmp_path / "pid"
    path = _script(tmp_path / "hang", f"echo $$ > {pidfile}; exec sleep 60\n")
    started = time.monotonic()
    report = send_test_mail(settings=internal(path), recipient="a@example.org")
    assert time.monotonic() - started < 3 + 1
    assert report.failure is not None and report.failure.cls == "timeout"
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, 0)
        alive = os.waitpid(pid, os.WNOHANG) == (0, 0)
    except (ProcessLookupError, ChildProcessError):
        alive = False
    assert not alive


def test_a_relative_sendmail_path_is_refused_without_running_anything():
    report = send_test_mail(settings=internal("sendmail"), recipient="a@example.org")
    assert report.failure is not None
    assert report.failure.cls in ("sendmail_missing", "invalid_settings")
