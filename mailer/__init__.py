"""mailconsole's send module: every mail of the appliance goes through here.

    from mailer import send, send_test_mail, Report
    report = send_test_mail(settings=settings, recipient="admin@example.org")
    if not report.ok:
        print(report.failure.message, report.failure.advice)

Keyword-only API (see mailer/api.py and mailer/report.py):

    send(*, settings, message, sender=None, recipients=None, on_step=None, cancel=None)
    build_test_message(settings, recipient)
    send_test_mail(*, settings, recipient=None, on_step=None, cancel=None)

Both block the calling thread (blocking sockets, mailer.blocking); ``cancel``
(a threading.Event) ends a send within about 0.2 s.  The email package is
imported by the first message built or parsed.  Never imports textual.
"""

from __future__ import annotations

from mailer.api import send, send_test_mail
from mailer.errors import (
    AuthError,
    CancelledSend,
    ConnectError,
    MailerError,
    RejectedError,
    SecurityError,
    SendmailError,
    SettingsError,
    TemporaryError,
    TransportError,
    error_for,
)
from mailer.message import build_message, build_test_message, recipients_from_headers
from mailer.report import STEP_NAMES, Failure, Report, Step, TranscriptLine

__all__ = [
    "STEP_NAMES", "AuthError", "CancelledSend", "ConnectError", "Failure", "MailerError",
    "RejectedError", "Report", "SecurityError", "SendmailError",
    "SettingsError", "Step", "TemporaryError", "TranscriptLine", "TransportError",
    "build_message", "build_test_message", "error_for", "recipients_from_headers", "send",
    "send_test_mail",
]
