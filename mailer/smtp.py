"""Our own SMTP client (not smtplib: its debug output prints credentials, and
it has no overall deadline or caps).

Functions over a mailer.wire.WireLike (mailer.blocking); called by
mailer.api inside one time limit for the whole conversation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
from typing import TYPE_CHECKING

from config.i18n import _
from config.model import Settings
from mailer.errors import MailerError
from mailer.replies import classify, reply_line
from mailer.session import HIDDEN, Recorder, Secret
from mailer.wire import (
    MAX_REPLY_LINES,
    WireLike,
    injection_warning,
    probe_silent_port,
    tls_context,
)

if TYPE_CHECKING:
    from mailer.oauth import TokenStep

_DIGITS = frozenset("0123456789")
_QUEUE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-")
SUPPORTED_AUTH = ("PLAIN", "LOGIN", "CRAM-MD5")
OAUTH_ONLY = ("XOAUTH2", "OAUTHBEARER")


class Reply:
    __slots__ = ("code", "lines")

    def __init__(self, code: int, lines: list[str] | None = None) -> None:
        self.code = code
        self.lines: list[str] = [] if lines is None else lines

    @property
    def text(self) -> str:
        return "\n".join(f"{self.code} {line}" for line in self.lines) or str(self.code)

    @property
    def message(self) -> str:
        return " ".join(self.lines)


class Envelope:
    __slots__ = ("data", "eight_bit", "recipients", "sender")

    def __init__(self, sender: str, recipients: list[str], data: bytes,
                 eight_bit: bool = False) -> None:
        self.sender = sender
        self.recipients = recipients
        self.data = data          # CRLF message, not dot-stuffed
        self.eight_bit = eight_bit


def dot_stuff(data: bytes) -> bytes:
    """Dot-stuff ``data`` and append the end-of-data marker.  Every line end
    becomes CRLF first (a bare CR or bare LF too), so no ``<LF>.<CR><LF>`` or
    ``<CR><LF>.<LF>`` can reach a server that takes bare line ends for real
    ones (SMTP smuggling): the only end of data on the wire is ours."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def queue_id_of(message: str) -> str:
    """The id in "... queued as <ID>" (Postfix, Exim, aiosmtpd...), or ""."""
    low = message.lower()
    if len(low) != len(message):  # a character whose lower case is longer (rare)
        m = re.search(r"queued as\s+<?([A-Za-z0-9._@-]+)", message, re.IGNORECASE)
        return m.group(1) if m else ""
    at = low.find("queued as")
    while at >= 0:
        rest = message[at + len("queued as"):]
        stripped = rest.lstrip()
        if stripped != rest:  # at least one space after "as"
            stripped = stripped.removeprefix("<")
            end = 0
            while end < len(stripped) and stripped[end] in _QUEUE_ID_CHARS:
                end += 1
            if end:
                return stripped[:end]
        at = low.find("queued as", at + 1)
    return ""


def is_fqdn(name: str) -> bool:
    """Whether ``name`` is a fully-qualified domain name usable in EHLO
    (RFC 5321 4.1.1.1: at least two labels of letters, digits and hyphens)."""
    labels = name.removesuffix(".").split(".")
    return len(labels) >= 2 and len(name) <= 253 and all(
        0 < len(label) <= 63 and label.isascii() and not label.startswith("-")
        and not label.endswith("-") and all(c.isalnum() or c == "-" for c in label)
        for label in labels) and not labels[-1].isdigit()


def address_literal(ip: str) -> str:
    """RFC 5321 4.1.3: ``[192.0.2.1]`` or ``[IPv6:2001:db8::1]``."""
    ip = ip.partition("%")[0]  # no zone index in a literal
    if ip.startswith("::ffff:") and ip.count(".") == 3:
        ip = ip[7:]  # an IPv4-mapped address is the IPv4 peer
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


def local_name(local: tuple[str, int] | None = None, configured: str = "") -> str:
    """The name we announce in EHLO: ``configured`` (mail.smtp.ehlo_name) if
    set; else the host name if it is fully qualified; else an address literal
    of the local end of the connection (``[192.0.2.1]``, ``[IPv6:::1]``), as
    RFC 5321 wants; "localhost" only if even that is unknown."""
    if configured:
        return configured
    name = socket.gethostname()
    if is_fqdn(name):
        return name.removesuffix(".")
    if local is not None:
        return address_literal(local[0])
    return "localhost"


class SmtpClient:
    def __init__(self, wire: WireLike, settings: Settings, password: Secret,
                 tokens: TokenStep | None = None) -> None:
        self.wire = wire
        self.rec: Recorder = wire.rec
        self.settings = settings
        self.smtp = settings.mail.smtp
        self.password = password
        self.tokens = tokens
        self.extensions: dict[str, str] = {}
        # True while the last command's reply was read completely: a QUIT
        # after a failure is polite only then (not mid-reply, not after a
        # broken TLS handshake or a lost connection).
        self.in_sync = False

    # -- replies ---------------------------------------------------------
    def read_reply(self) -> Reply:
        reply: Reply | None = None
        for _n in range(MAX_REPLY_LINES):
            line = self.wire.read_line()
            self.rec.server(line.text)
            head, sep = line.text[:3], line.text[3:4]
            if len(head) != 3 or not _DIGITS.issuperset(head) or sep not in ("", " ", "-"):
                raise self.rec.error("protocol_error", detail=_(
                    "the line {line!r} is not an SMTP reply").format(line=line.text[:80]))
            code = int(head)
            if reply is None:
                reply = Reply(code)
            elif code != reply.code:
                raise self.rec.error("protocol_error", detail=_(
                    "reply codes differ within one reply ({a} and {b})").format(
                        a=reply.code, b=code))
            reply.lines.append(line.text[4:])
            if sep != "-":
                self.in_sync = True
                return reply
        raise self.rec.error("protocol_error", detail=_(
            "a reply of more than {n} lines").format(n=MAX_REPLY_LINES))

    def command(self, text: str, *, shown: str | None = None) -> Reply:
        self.in_sync = False
        self.wire.write_line(text, shown=shown)
        return self.read_reply()

    def _end_with(self, reply: Reply) -> None:
        self.rec.end("ok", reply=reply.text)

    def _reject(self, reply: Reply) -> MailerError:
        """The error for an unexpected reply at the current step, classified
        by what it says (mailer.replies); the step decides only when the reply
        says nothing more."""
        self.rec.set_reply(reply.text)
        line = reply_line(reply.code, reply.lines)
        if reply.code < 400:
            return self.rec.error("protocol_error", detail=_(
                "unexpected answer {reply!r}").format(reply=line[:200]), reply=line)
        return self.rec.error(classify(reply.code, reply.message, self.rec.step_name),
                              reply=line)

    def quit_after_failure(self) -> None:
        """QUIT after a refused step while the connection is still in step
        (RFC 5321 4.1.1.10; Postfix logs "lost connection after RCPT" otherwise,
        which fail2ban's filters count).  Best effort, at most 2 seconds."""
        if not self.in_sync:
            return
        try:
            with self.wire.timeout(2.0):
                self.command("QUIT")
        except (MailerError, TimeoutError):
            pass

    # -- phases ------------------------------------------------------------
    def greeting(self, security: str) -> None:
        self.rec.start("greeting", _("Wait for the server's greeting"))
        if security != "tls":
            probe_silent_port(self.wire, self.rec)
        reply = self.read_reply()
        if reply.code != 220:
            raise self._reject(reply)
        self._end_with(reply)

    def ehlo(self, title: str) -> None:
        self.rec.start("ehlo", title)
        name = local_name(self.wire.local_address(), self.smtp.ehlo_name)
        reply = self.command(f"EHLO {name}")
        if reply.code != 250:
            can_helo = self.smtp.security == "none" and not self.smtp.authentication
            if reply.code in (500, 502) and can_helo:
                reply = self.command(f"HELO {name}")
                if reply.code == 250:
                    self.extensions = {}
                    self._end_with(reply)
                    return
            raise self._reject(reply)
        self.extensions = {}
        for line in reply.lines[1:]:
            keyword, _sp, params = line.strip().partition(" ")
            key = keyword.upper()
            if key.startswith("AUTH="):
                key, params = "AUTH", keyword[5:] + (" " + params if params else "")
            if key == "AUTH" and "AUTH" in self.extensions:
                params = self.extensions["AUTH"] + " " + params
            self.extensions[key] = params.strip()
        self._end_with(reply)

    def starttls(self) -> None:
        self.rec.start("starttls", _("Switch to encryption (STARTTLS)"))
        if "STARTTLS" not in self.extensions:
            self.rec.set_reply(_("STARTTLS not offered"))
            raise self.rec.error("starttls_not_offered")
        reply = self.command("STARTTLS")
        if reply.code != 220:
            if reply.code == 421:
                raise self._reject(reply)
            self.rec.set_reply(reply.text)
            raise self.rec.error("starttls_refused", reply=reply_line(reply.code, reply.lines))
        # Anything after the 220 and before our ClientHello (reply lines
        # injected in the same packet) is dropped unread, never taken as a
        # reply; the report warns about it and the handshake goes on.
        junk = self.wire.discard_pending()
        warning = ""
        if junk:
            self.rec.note(_("{n} bytes arrived after the STARTTLS answer before the "
                            "handshake; discarded").format(n=junk))
            warning = self.rec.warn(injection_warning(self.rec, "STARTTLS", junk))
        ctx = tls_context(self.smtp.verify_certificates, self.smtp.ca_file)
        self.in_sync = False  # until the handshake is done and a reply read
        self.wire.start_tls(ctx, implicit=False)
        if warning:
            self.rec.end("warning", reply=reply.text, detail=warning)
        else:
            self._end_with(reply)

    def implicit_tls(self) -> None:
        self.rec.start("starttls", _("TLS handshake"))
        ctx = tls_context(self.smtp.verify_certificates, self.smtp.ca_file)
        self.wire.start_tls(ctx, implicit=True)
        self.rec.end("ok")

    def certificate(self) -> None:
        self.rec.start("certificate", _("Check the server's certificate"))
        summary = self.wire.certificate_summary()
        if summary:
            self.rec.note(summary)
        if self.smtp.verify_certificates:
            self.rec.end("ok", detail=summary or _("certificate is valid"))
        else:
            self.rec.end("warning", detail=self.rec.warn(_("certificate checks were off")))

    def login(self) -> None:
        if self.tokens is not None:
            self.login_oauth(self.tokens)
            return
        user = self.smtp.username
        self.rec.start("login", _("Log in as {user}").format(user=user))
        offered = self.extensions.get("AUTH", "").upper().split()
        mechanism = next((m for m in SUPPORTED_AUTH if m in offered), None)
        if mechanism is None:
            self.rec.set_reply(_("offered: {m}").format(m=" ".join(offered) or "-"))
            if offered and all(m in OAUTH_ONLY for m in offered):
                raise self.rec.error("auth_oauth2_required", reply=" ".join(offered))
            raise self.rec.error("auth_not_offered", offered=" ".join(offered) or _("none"))
        if not self.wire.encrypted and not self.smtp.allow_plaintext_auth:
            raise self.rec.error("plaintext_auth_refused")
        password = self.password.reveal()
        if mechanism == "PLAIN":
            token = _b64(f"\0{user}\0{password}")
            reply = self.command(f"AUTH PLAIN {token}", shown=f"AUTH PLAIN {HIDDEN}")
        elif mechanism == "LOGIN":
            reply = self.command("AUTH LOGIN")
            if reply.code == 334:
                reply = self.command(_b64(user), shown=HIDDEN)
            if reply.code == 334:
                reply = self.command(_b64(password), shown=HIDDEN)
        else:
            reply = self.command("AUTH CRAM-MD5")
            if reply.code == 334:
                try:
                    challenge = base64.b64decode(reply.message.strip(), validate=True)
                except ValueError:
                    raise self.rec.error("protocol_error", detail=_(
                        "the CRAM-MD5 challenge is not base64")) from None
                digest = hmac.new(password.encode("utf-8"), challenge, hashlib.md5).hexdigest()
                reply = self.command(_b64(f"{user} {digest}"), shown=HIDDEN)
        del password
        if reply.code == 334:  # the server wants more than we have: abort the exchange
            self.command("*")
            raise self.rec.error("auth_failed", reply=reply_line(reply.code, reply.lines))
        if reply.code != 235:
            raise self._reject(reply)
        self.rec.end("ok", reply=reply.text, detail=_("mechanism {m}").format(m=mechanism))

    def login_oauth(self, tokens: TokenStep) -> None:
        """SASL OAUTHBEARER (RFC 7628) or XOAUTH2 with the token of ``tokens``;
        a cached token the server refuses is renewed once and tried again."""
        from mailer.oauth import choose_mechanism

        user = self.smtp.username
        offered = self.extensions.get("AUTH", "").upper().split()
        mechanism = choose_mechanism(offered)
        self.rec.start("login", _("Log in as {user} (OAuth2)").format(user=user))
        if mechanism is None:
            self.rec.set_reply(_("offered: {m}").format(m=" ".join(offered) or "-"))
            raise self.rec.error("oauth_not_offered", offered=" ".join(offered) or _("none"))
        if not self.wire.encrypted and not self.smtp.allow_plaintext_auth:
            raise self.rec.error("plaintext_auth_refused")
        reply = self._sasl_oauth(mechanism, user, tokens.token)
        if reply.code != 235 and tokens.from_cache and 500 <= reply.code < 600:
            self.rec.end("warning", reply=reply.text,
                         detail=_("the server refused the cached token; getting a new one"))
            tokens.get(renew=True)
            self.rec.start("login", _("Log in as {user} (OAuth2), new token").format(user=user))
            reply = self._sasl_oauth(mechanism, user, tokens.token)
        if reply.code != 235:
            # a refused login with a token is a refused token (Exchange's "5.7.3
            # Authentication unsuccessful", "5.7.139 ... SmtpClientAuthentication is
            # disabled", Gmail's "5.7.8"); anything else as mailer.replies says
            if reply.code >= 500 and classify(reply.code, reply.message, "login") in (
                    "auth_failed", "auth_oauth2_required"):
                self.rec.set_reply(reply.text)
                raise self.rec.error("oauth_token_refused",
                                     reply=reply_line(reply.code, reply.lines), user=user)
            raise self._reject(reply)
        self.rec.end("ok", reply=reply.text, detail=_("mechanism {m}").format(m=mechanism))

    def _sasl_oauth(self, mechanism: str, user: str, token: str) -> Reply:
        from mailer.oauth import oauthbearer, xoauth2

        if mechanism == "XOAUTH2":
            payload, abort = xoauth2(user, token), ""
        else:
            payload = oauthbearer(user, token, self.wire.host, self.wire.port)
            abort = "AQ=="  # base64 of %x01: the client's answer to an error (RFC 7628 3.2.3)
        reply = self.command(f"AUTH {mechanism} {payload}",
                                   shown=f"AUTH {mechanism} {HIDDEN}")
        if reply.code == 334:  # the error challenge: base64 of a JSON status
            self._note_oauth_challenge(reply.message.strip())
            reply = self.command(abort, shown=abort)
        return reply

    def _note_oauth_challenge(self, text: str) -> None:
        import json

        try:
            data = json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(data, dict):
            self.rec.note(_("the server's OAuth2 error: status {status}, scope {scope}").format(
                status=data.get("status", "?"), scope=data.get("scope", "?")))

    def mail_from(self, env: Envelope) -> None:
        self.rec.start("mail_from", _("Sender {address}").format(address=env.sender))
        params = ""
        if "SIZE" in self.extensions:
            params += f" SIZE={len(env.data)}"
        if env.eight_bit and "8BITMIME" in self.extensions:
            params += " BODY=8BITMIME"
        reply = self.command(f"MAIL FROM:<{env.sender}>{params}")
        if reply.code != 250:
            raise self._reject(reply)
        self._end_with(reply)

    def rcpt_to(self, env: Envelope) -> None:
        for rcpt in env.recipients:
            self.rec.start("rcpt_to", _("Recipient {address}").format(address=rcpt))
            reply = self.command(f"RCPT TO:<{rcpt}>")
            if reply.code not in (250, 251):
                raise self._reject(reply)
            self._end_with(reply)

    def data(self, env: Envelope) -> str:
        self.rec.start("data", _("Send the message ({n} bytes)").format(n=len(env.data)))
        reply = self.command("DATA")
        if reply.code != 354:
            raise self._reject(reply)
        self.rec.client(_("<message, {n} bytes>").format(n=len(env.data)))
        self.rec.client(".")
        self.in_sync = False
        self.wire.write_raw(dot_stuff(env.data))
        reply = self.read_reply()
        if reply.code != 250:
            raise self._reject(reply)
        queue_id = queue_id_of(reply.message)
        self.rec.end("ok", reply=reply.text,
                     detail=_("queue id {id}").format(id=queue_id) if queue_id else "")
        return queue_id

    def quit(self) -> None:
        """QUIT politely; the mail is already accepted, so problems only warn."""
        self.rec.start("quit", _("Say goodbye (QUIT)"))
        try:
            with self.wire.timeout(2.0):
                reply = self.command("QUIT")
            self.rec.end("ok", reply=reply.text)
        except (MailerError, TimeoutError):
            self.rec.end("warning", detail=_("no clean goodbye; the mail was already "
                                             "accepted"))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
