"""The mailer's exception tree (aiosmtplib's habit: catch at any level).

The public API returns a :class:`~mailer.report.Report` and does not raise for a
failed send; these exceptions carry a failure class inside the mailer and are
available to callers who prefer ``report.raise_for_failure()``-style code via
:func:`error_for`.  Messages never contain the password.
"""

from __future__ import annotations

from mailer.diagnosis import GROUPS
from mailer.report import Report


class MailerError(Exception):
    """Base of every send failure.  ``cls`` is a class of mailer.diagnosis."""

    def __init__(self, cls: str, message: str = "", advice: str = "", step: str = "") -> None:
        super().__init__(message or cls)
        self.cls, self.message, self.advice, self.step = cls, message, advice, step


class SettingsError(MailerError):
    """Invalid settings or address; nothing was sent, no connection was made."""


class ConnectError(MailerError):
    """DNS, refused, connect timeout."""


class SecurityError(MailerError):
    """TLS, STARTTLS and certificate problems."""


class AuthError(MailerError):
    """Login refused or impossible (SMTP AUTH or POP3)."""


class RejectedError(MailerError):
    """The server refused sender, recipient or message (5xx)."""


class TemporaryError(MailerError):
    """The server answered 4xx; trying later may work."""


class SendmailError(MailerError):
    """The internal relay (local sendmail) is missing or failed."""


class TransportError(MailerError):
    """Timeout, lost connection, or a reply that is not SMTP."""


class CancelledSend(MailerError):
    """The send was cancelled by the caller."""


_BY_GROUP: dict[str, type[MailerError]] = {
    "settings": SettingsError,
    "oauth_settings": SettingsError,
    "connect": ConnectError,
    "oauth_connect": ConnectError,
    "tls": SecurityError,
    "auth": AuthError,
    "rejected": RejectedError,
    "temporary": TemporaryError,
    "sendmail": SendmailError,
    "transport": TransportError,
    "cancelled": CancelledSend,
}


def error_class(cls: str) -> type[MailerError]:
    """The exception type for failure class ``cls``."""
    for group, members in GROUPS.items():
        if cls in members:
            return _BY_GROUP[group]
    return TransportError


def error_for(report: Report) -> MailerError | None:
    """The exception matching ``report.failure`` (None when the send worked)."""
    f = report.failure
    if f is None:
        return None
    return error_class(f.cls)(f.cls, f.message, f.advice, f.step)
