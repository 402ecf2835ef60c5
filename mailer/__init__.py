"""mailconsole's send module: every mail of the appliance goes through here.

    from mailer import send, send_test_mail, Report
    report = send_test_mail(settings=settings, recipient="admin@example.org")
    if not report.ok:
        print(report.failure.message, report.failure.advice)

Keyword-only API (see mailer/api.py and mailer/report.py):

    send(*, settings, message, sender=None, recipients=None, on_step=None, cancel=None)
    await send_async(...)
    build_test_message(settings, recipient)
    send_test_mail(*, settings, recipient=None, on_step=None, cancel=None)
    await send_test_mail_async(...)

The sync API runs on blocking sockets (mailer.blocking), the async API on
asyncio (mailer.aio); the email package is imported by the first message
built or parsed.  Never imports textual.
"""

from __future__ import annotations

from mailer.aio import SendCancelled
from mailer.api import send, send_async, send_test_mail, send_test_mail_async
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
    "RejectedError", "Report", "SecurityError", "SendCancelled", "SendmailError",
    "SettingsError", "Step", "TemporaryError", "TranscriptLine", "TransportError",
    "build_message", "build_test_message", "error_for", "recipients_from_headers", "send",
    "send_async", "send_test_mail", "send_test_mail_async",
]
