"""Writing a branded mail (M6) as CRLF bytes without the email package.

``compose`` is the one builder of the mailer's own mails (the test mail and
:func:`mailer.message.build_message`, which parses its output into an
EmailMessage).  Writing the few MIME shapes we need by hand keeps the send
path free of ``email.policy`` and friends (about 20 ms of imports).

Shapes: HTML off -> ``text/plain``; HTML on -> ``multipart/alternative`` of
``text/plain`` and ``multipart/related`` (``text/html`` + the logo inline by
Content-ID).  Always 7-bit: text parts are ``7bit`` when ASCII with lines of
at most 78 characters, else ``quoted-printable``; headers outside that use
RFC 2047 encoded words (UTF-8, base64), folded.

Callers check every text for control characters first (mailer.message)."""

from __future__ import annotations

import binascii
import os
import time
from collections.abc import Sequence

MAX_LINE = 78
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")
_PHRASE_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                       " !#$%&'*+-/=?^_`{|}~")


def escape(text: str) -> str:
    """HTML-escape (html.escape with quote=True, without importing html)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


def format_date(now: float | None = None) -> str:
    """RFC 5322 date in local time (email.utils.formatdate(localtime=True))."""
    t = time.localtime(now)
    offset = t.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    minutes = abs(offset) // 60
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


def make_msgid(domain: str, idstring: str = "") -> str:
    """``<time.pid.random[.idstring]@domain>`` (email.utils.make_msgid's form)."""
    rand = int.from_bytes(os.urandom(8), "big")
    extra = f".{idstring}" if idstring else ""
    return f"<{int(time.time() * 100)}.{os.getpid()}.{rand}{extra}@{domain}>"


def _encoded_words(text: str) -> list[str]:
    """``text`` as UTF-8 base64 encoded words of at most 64 characters."""
    chunks: list[bytes] = []
    chunk = b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > 39:
            chunks.append(chunk)
            chunk = b""
        chunk += data
    if chunk or not chunks:
        chunks.append(chunk)
    return ["=?utf-8?b?" + binascii.b2a_base64(c, newline=False).decode("ascii") + "?="
            for c in chunks]


def header(name: str, value: str) -> str:
    """``Name: value`` as is if short plain ASCII, else encoded and folded."""
    line = f"{name}: {value}"
    if value.isascii() and value.isprintable() and len(line) <= MAX_LINE and "=?" not in value:
        return line
    return f"{name}: " + "\r\n ".join(_encoded_words(value))


def address_header(name: str, display_name: str, addr: str) -> str:
    """``From: "Name" <addr>`` (quoted, or encoded words when not plain ASCII)."""
    if not display_name:
        return f"{name}: {addr}"
    if set(display_name) <= _PHRASE_OK and display_name.strip() == display_name:
        quoted = '"' + display_name + '"'
        line = f"{name}: {quoted} <{addr}>"
        if len(line) <= MAX_LINE:
            return line
    if display_name.isascii() and display_name.isprintable() and '"' not in display_name \
            and "\\" not in display_name and "=?" not in display_name:
        line = f'{name}: "{display_name}" <{addr}>'
        if len(line) <= MAX_LINE:
            return line
    return f"{name}: " + "\r\n ".join(_encoded_words(display_name)) + f"\r\n <{addr}>"


def _text_part(subtype: str, text: str) -> str:
    data = text.replace("\r\n", "\n").replace("\r", "\n")
    if not data.endswith("\n"):
        data += "\n"
    lines = data.split("\n")
    if data.isascii() and all(len(line) <= MAX_LINE for line in lines):
        cte, body = "7bit", data
    else:
        cte = "quoted-printable"
        body = binascii.b2a_qp(data.encode("utf-8"), istext=True).decode("ascii")
    body = body.replace("\n", "\r\n")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {cte}\r\n\r\n{body}")


def _image_part(data: bytes, subtype: str, cid: str, filename: str) -> str:
    lines = [binascii.b2a_base64(data[i:i + 57], newline=False).decode("ascii")
             for i in range(0, len(data), 57)]
    return (f"Content-Type: image/{subtype}\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: inline; filename="{filename}"\r\n'
            f"Content-ID: {cid}\r\n\r\n" + "\r\n".join(lines) + "\r\n")


def _multipart(subtype: str, parts: list[str]) -> str:
    while True:
        boundary = "=_mailconsole_" + os.urandom(12).hex()
        if not any(boundary in part for part in parts):
            break
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts)
    return (f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
            f"{body}--{boundary}--\r\n")


def compose(
    *,
    sender: str,
    sender_name: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    logo: bytes | None = None,
    logo_cid: str = "",
    message_id: str,
    date: str | None = None,
) -> bytes:
    """The whole message as CRLF bytes.  ``html`` (a complete document) makes
    it multipart; ``logo`` (PNG) is attached inline as ``logo_cid``."""
    heads = [
        address_header("From", sender_name, sender),
        header("To", ", ".join(recipients)),
        header("Subject", subject),
        f"Date: {date or format_date()}",
        f"Message-ID: {message_id}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
    ]
    if html is None:
        body = _text_part("plain", text)
    else:
        related = [_text_part("html", html)]
        if logo is not None:
            related.append(_image_part(logo, "png", logo_cid, "logo.png"))
        body = _multipart("alternative",
                          [_text_part("plain", text), _multipart("related", related)])
    return ("\r\n".join(heads) + "\r\n" + body).encode("ascii")
