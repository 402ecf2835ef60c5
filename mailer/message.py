"""Building mails (M6) and checking addresses before anything connects.

Every mail is built with the stdlib email package and ``policy.SMTP``
(:func:`build_message`).  HTML on: ``multipart/alternative`` = text/plain +
``multipart/related`` (text/html + the logo inline by Content-ID), so the
branding shows without remote images.  HTML off: text/plain only, no logo.
The email package is imported when a mail is built, not with the module.
"""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from config.i18n import _
from config.model import Settings
from config.text import has_encoded_word
from config.validate import check_address as config_check

if TYPE_CHECKING:  # the email package is imported by the functions that use it
    from email.message import EmailMessage

LOGO_PATH = Path(__file__).resolve().parent / "assets" / "logo.png"
MAX_HEADER_TEXT = 998


# C0 and C1 controls, DEL, the Unicode line separators
_CONTROL = frozenset(map(chr, (*range(0x00, 0x20), *range(0x7f, 0xa0), 0x2028, 0x2029)))


def _has_control(text: str) -> bool:
    return not _CONTROL.isdisjoint(text)


class AddressError(ValueError):
    """An address, name or subject is not acceptable; ``str()`` says why (translated)."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(reason)
        self.value, self.reason = value, reason


def check_text(value: str, what: str) -> str:
    """Reject CR, LF, NUL and other control characters in a name or subject,
    and RFC 2047 encoded-words (user text is literal text: the mailer encodes
    it itself; see docs/mailer.md)."""
    if not isinstance(value, str):
        raise AddressError(repr(value), _("{what} must be text").format(what=what))
    if _has_control(value):
        raise AddressError(
            value,
            _("{what} contains a line break or another control character").format(what=what),
        )
    if has_encoded_word(value):
        raise AddressError(value, _(
            "{what} contains an encoded-word (\"=?...?=\"); type the text itself, the "
            "mailer encodes it").format(what=what))
    if len(value) > MAX_HEADER_TEXT:
        raise AddressError(value, _("{what} is too long").format(what=what))
    return value


def check_address(value: str) -> str:
    """Return ``value`` as exactly one bare addr-spec (domain IDNA-encoded), or
    raise AddressError.  No display name, no angle brackets, no comments, no
    whitespace or control characters, no leading ``-``, no quoted local part.
    The rules are config.validate's (one checker for settings and mailer);
    the mailer adds its own control-character check as belt and braces."""
    if not isinstance(value, str):
        raise AddressError(repr(value), _("not text"))
    if _has_control(value):
        raise AddressError(value, _("contains a line break or another control character"))
    reason = config_check(value)
    if reason:
        raise AddressError(value, reason)
    local, domain = value.split("@")
    if domain.startswith("["):
        return value
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise AddressError(value, _("the domain is not a valid name")) from None
    return f"{local}@{ascii_domain}"


def recipients_from_headers(message: EmailMessage) -> list[str]:
    """The addresses of To, Cc and Bcc (for ``sendmail -t`` style callers).
    Each one is checked; the mailer itself never derives the envelope."""
    from email.utils import getaddresses

    fields: list[str] = []
    for name in ("To", "Cc", "Bcc"):
        fields.extend(str(v) for v in message.get_all(name, []))
    return [check_address(addr) for _name, addr in getaddresses(fields) if addr]


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def _sender(settings: Settings) -> tuple[str, str]:
    """(checked display name, checked address) of the From header."""
    sender = check_address(settings.mail.sender)
    name = check_text(settings.mail.sender_name, _("The sender name"))
    return name, sender


def compose_message(
    *,
    settings: Settings,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html_body: str | None = None,
) -> bytes:
    """:func:`build_message` as CRLF bytes ready for the wire."""
    return message_bytes(build_message(settings=settings, recipients=recipients,
                                       subject=subject, text=text, html_body=html_body))


def parse_message(data: bytes) -> EmailMessage:
    """``data`` as an EmailMessage (policy.SMTP)."""
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.SMTP).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def build_message(
    *,
    settings: Settings,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html_body: str | None = None,
) -> EmailMessage:
    """A branded mail following M6: with ``mail.html`` on, ``html_body`` (an
    HTML fragment; escaped ``text`` if None) inside the branding with the
    inline logo; off: ``text`` only.  Raises AddressError for bad input."""
    from email import policy
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    rcpts = [check_address(r) for r in recipients]
    check_text(subject, _("The subject"))
    name, sender = _sender(settings)
    domain = _domain(sender)
    local, _at, sender_domain = sender.partition("@")
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=name, username=local, domain=sender_domain)
    msg["To"] = ", ".join(rcpts)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    if settings.mail.html:
        logo_cid = make_msgid(idstring="logo", domain=domain)
        fragment = html_body if html_body is not None else (
            "<pre style=\"font-family:monospace\">" + escape(text) + "</pre>"
        )
        msg.add_alternative(_branded_html(subject, fragment, logo_cid[1:-1]), subtype="html")
        html_part = msg.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        with open(LOGO_PATH, "rb") as f:
            logo = f.read()
        html_part.add_related(logo, maintype="image", subtype="png", cid=logo_cid,
                              filename="logo.png", disposition="inline")
    return msg


def _branded_html(title: str, fragment: str, cid: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title></head>\n"
        "<body style=\"font-family:sans-serif;color:#222\">\n"
        "<table role=\"presentation\" style=\"border-bottom:3px solid #1f5ea8;"
        "margin-bottom:1em\"><tr>"
        f"<td><img src=\"cid:{escape(cid)}\" alt=\"mailconsole\" width=\"48\" height=\"48\">"
        "</td><td style=\"font-size:1.4em;padding-left:.5em;color:#1f5ea8\">"
        f"{escape(title)}</td></tr></table>\n{fragment}\n</body></html>\n"
    )


def _security_label(security: str) -> str:
    return {
        "tls": _("TLS from the first byte"),
        "starttls": _("STARTTLS"),
        "none": _("unencrypted"),
    }.get(security, security)


def mail_facts(settings: Settings, *, now: float | None = None) -> list[tuple[str, str]]:
    """The (label, value) lines the test mail states.  Never the password."""
    mail, smtp = settings.mail, settings.mail.smtp
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(now))
    facts = [(_("Sent at"), when), (_("Host name"), socket.gethostname())]
    if mail.relay == "internal":
        facts.append((_("Relay"), _("internal (local sendmail {path})").format(
            path=mail.internal.sendmail)))
    else:
        facts.append((_("Relay"), _("external SMTP server")))
        facts.append((_("Server"), smtp.server))
        facts.append((_("Security"), _security_label(smtp.security)))
        if smtp.security != "none":
            facts.append((_("Certificates"), _("checked") if smtp.verify_certificates
                          else _("NOT checked")))
        if mail.pop3.enabled:
            login = _("SMTP after POP3 at {server}").format(server=mail.pop3.server)
        elif smtp.authentication:
            login = _("SMTP AUTH as {user}").format(user=smtp.username)
        else:
            login = _("none")
        facts.append((_("Login"), login))
    facts.append((_("Sender"), mail.sender))
    facts.append((_("HTML mails"), _("on") if mail.html else _("off")))
    return facts


def build_test_mail_bytes(settings: Settings, recipient: str) -> bytes:
    """The test mail (M5) for ``recipient`` as CRLF bytes, stating where it
    came from (what send_test_mail sends)."""
    return message_bytes(build_test_message(settings, recipient))


def build_test_message(settings: Settings, recipient: str) -> EmailMessage:
    """The test mail (M5) for ``recipient``, stating where it came from."""
    facts = mail_facts(settings)
    host = socket.gethostname()
    subject = _("mailconsole test mail from {host}").format(host=host)
    intro = _("This is a test mail from mailconsole on {host}. If you can read it, the "
              "appliance can send mail with these settings:").format(host=host)
    width = max(len(label) for label, _v in facts) + 2
    lines = [f"  {(label + ':').ljust(width)}{value}" for label, value in facts]
    text = intro + "\n\n" + "\n".join(lines) + "\n"
    rows = "".join(
        f"<tr><th style=\"text-align:left;padding-right:1em\">{escape(label)}</th>"
        f"<td>{escape(value)}</td></tr>"
        for label, value in facts
    )
    fragment = f"<p>{escape(intro)}</p>\n<table>{rows}</table>"
    return build_message(settings=settings, recipients=[recipient], subject=subject,
                         text=text, html_body=fragment)


def prepare_for_sending(message: EmailMessage, settings: Settings) -> EmailMessage:
    """A copy ready for the wire: From/Date/Message-ID filled in if missing,
    Bcc removed, header values checked for control characters."""
    from email.headerregistry import Address
    from email.utils import formatdate, make_msgid

    msg = copy.copy(message)
    for name, value in msg.items():
        if _has_control(str(value)):
            raise AddressError(name, _("the header {name} contains a line break or control "
                                       "character").format(name=name))
    if "From" not in msg:
        name, sender = _sender(settings)
        local, _at, domain = sender.partition("@")
        msg["From"] = Address(display_name=name, username=local, domain=domain)
    if "Date" not in msg:
        msg["Date"] = formatdate(localtime=True)
    if "Message-ID" not in msg:
        msg["Message-ID"] = make_msgid(domain=_domain(check_address(settings.mail.sender)))
    del msg["Bcc"]
    return msg


def message_bytes(message: EmailMessage) -> bytes:
    """The message as CRLF bytes with the SMTP policy, its header block checked
    after encoding and folding (:func:`check_header_block`)."""
    from email import policy

    for name, value in message.items():
        text = str(value)
        if "\r" in text or "\n" in text or "\0" in text:
            raise AddressError(name, _("the header {name} contains a line break or control "
                                       "character").format(name=name))
    data = message.as_bytes(policy=policy.SMTP)
    check_header_block(data, list(message.keys()))
    return data


_FIELD_NAME = frozenset(range(33, 127)) - {ord(":")}


def check_header_block(data: bytes, names: Sequence[str]) -> None:
    """The header block of ``data`` (up to the first empty line) as it goes on
    the wire: CRLF line ends only, no NUL, every line a ``Name:`` field or a
    continuation (starting with space or tab), and exactly the fields
    ``names`` (in any order, case-insensitive).  AddressError otherwise: a
    value that the email package turned into an extra header or a line break
    (e.g. a decoded encoded-word) never reaches the wire."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    bad = _("the mail's headers would contain a line break, NUL or an extra header "
            "after encoding; nothing was sent")
    if b"\0" in head or head.count(b"\r") != head.count(b"\r\n") or \
            head.count(b"\n") != head.count(b"\r\n"):
        raise AddressError("", bad)
    found: list[str] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and found:
            continue
        name, colon, _rest = line.partition(b":")
        if not colon or not name or not _FIELD_NAME.issuperset(name):
            raise AddressError("", bad)
        found.append(name.decode("ascii").lower())
    if sorted(found) != sorted(n.lower() for n in names):
        raise AddressError("", bad)


def check_envelope(sender: str, recipients: Iterable[str]) -> tuple[str, list[str]]:
    """Check the envelope; raise AddressError on the first bad address."""
    rcpts = [check_address(r) for r in recipients]
    if not rcpts:
        raise AddressError("", _("no recipient given"))
    return check_address(sender), rcpts
