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

``import mailer`` is cheap: the transport is imported on first use of a
function — ssl and blocking sockets for the sync API (mailer.blocking, no
asyncio, no email package for the test mail), asyncio for the async API
(mailer.aio).  Never imports textual.
"""

from __future__ import annotations

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
from mailer.report import STEP_NAMES, Failure, Report, Step, TranscriptLine

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from mailer.aio import SendCancelled
    from mailer.api import send, send_async, send_test_mail, send_test_mail_async
    from mailer.message import build_message, build_test_message, recipients_from_headers

_LAZY = {
    "SendCancelled": "mailer.aio",
    "send": "mailer.api",
    "send_async": "mailer.api",
    "send_test_mail": "mailer.api",
    "send_test_mail_async": "mailer.api",
    "build_test_message": "mailer.message",
    "build_message": "mailer.message",
    "recipients_from_headers": "mailer.message",
}

__all__ = [
    "STEP_NAMES", "AuthError", "CancelledSend", "ConnectError", "Failure", "MailerError",
    "RejectedError", "Report", "SecurityError", "SendCancelled", "SendmailError",
    "SettingsError", "Step", "TemporaryError", "TranscriptLine", "TransportError",
    "build_message", "build_test_message", "error_for", "recipients_from_headers", "send",
    "send_async", "send_test_mail", "send_test_mail_async",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mailer' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
