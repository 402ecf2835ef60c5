"""A real SMTP capture server (aiosmtpd) on 127.0.0.1, free port, in a thread.

    server = CaptureServer(ca, tls="starttls", auth=True, user="u", password="p")
    server.start(); ...; server.stop()

Options:
    tls               "starttls" (offered, upgrade on demand), "implicit" (TLS from
                      the first byte, port-465 style) or "none" (no TLS at all)
    require_starttls  refuse MAIL/AUTH etc. before STARTTLS (tls="starttls" only)
    cert              which certificate of certs.TestCA to present (see CERT_NAMES)
    auth              offer AUTH (PLAIN and LOGIN) and check user/password
    mechanisms        the AUTH mechanisms to offer, default ("LOGIN", "PLAIN")
    auth_require_tls  offer/accept AUTH only after STARTTLS.  Default: True for
                      "starttls", False for "none" (so plaintext-auth tests work) and
                      for "implicit" (the link is already encrypted; aiosmtpd cannot
                      tell, see aiosmtpd issue #281)
    auth_required     refuse MAIL before a successful AUTH (530)
    oauth             accept XOAUTH2 / OAUTHBEARER (list them in ``mechanisms``) only for
                      tokens the OAuth2 server issued, asked by token introspection
                      (RFC 7662): {"url": introspection URL, "client_id", "secret",
                      "ca_file", "mailboxes": {client_id: {mailbox, ...}} for app-only
                      tokens (None: any), "fail": the final reply of a refused token}

Everything received is recorded: ``messages`` (ReceivedMessage: envelope, raw bytes,
parsed EmailMessage, TLS or not, authenticated user, queue id), ``auth_attempts``
(mechanism, login, ok, tls -- never the password) and ``events`` (EHLO/AUTH/MAIL/
RCPT/DATA in order, with whether the link was encrypted at that moment).
"""

from __future__ import annotations

import email
import email.policy
import itertools
import threading
import time
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.servers.certs import TestCA

HOST = "127.0.0.1"
_queue_ids = itertools.count(0x4A11CE)


def _is_tls(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes                 # the raw message as received (after dot-unstuffing)
    tls: bool                   # was the link encrypted when DATA arrived
    user: str | None            # authenticated user name, None without AUTH
    queue_id: str               # the id we answered "250 ... queued as <id>" with
    peer: Any = None

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class AuthAttempt:
    mechanism: str
    login: str
    ok: bool
    tls: bool

    def __repr__(self) -> str:  # the password is never stored at all
        return f"AuthAttempt({self.mechanism}, {self.login!r}, ok={self.ok}, tls={self.tls})"


@dataclass
class Event:
    command: str                # "EHLO", "AUTH", "MAIL", "RCPT", "DATA"
    argument: str
    tls: bool
    at: float = field(default_factory=time.monotonic)


def _parse_oauth(mechanism: str, raw: bytes) -> tuple[str, str]:
    """(user, token) of an XOAUTH2 or OAUTHBEARER initial response."""
    text = raw.decode("utf-8", "replace")
    fields = text.split("\x01")
    user, token = "", ""
    if mechanism == "OAUTHBEARER":
        gs2 = fields[0].split(",")
        for part in gs2[1:]:
            if part.startswith("a="):
                user = part[2:].replace("=2C", ",").replace("=3D", "=")
        fields = fields[1:]
    for item in fields:
        if item.startswith("user="):
            user = item[5:]
        elif item.lower().startswith("auth=bearer "):
            token = item[12:]
    return user, token


class _OAuthMechanisms:
    """aiosmtpd handler mixin: AUTH XOAUTH2 and OAUTHBEARER checked by introspection."""

    owner: CaptureServer

    async def auth_XOAUTH2(self, server, args):
        return await self._oauth(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        return await self._oauth(server, args, "OAUTHBEARER")

    async def _oauth(self, server, args, mechanism):
        import asyncio
        import base64
        import json

        owner = self.owner
        if len(args) > 1:
            try:
                raw = base64.b64decode(args[1], validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            raw = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(raw, bytes):
                return AuthResult(success=False, handled=True)
        user, token = _parse_oauth(mechanism, raw)
        loop = asyncio.get_running_loop()
        ok = bool(token) and await loop.run_in_executor(None, owner._introspect, user, token)
        tls = _is_tls(server)
        with owner._cond:
            owner.auth_attempts.append(AuthAttempt(mechanism, user, ok, tls))
            owner.events.append(Event("AUTH", f"{mechanism} {user}", tls))
        if ok:
            return AuthResult(success=True, auth_data=user)
        status = json.dumps({"status": "401", "schemes": "bearer",
                             "scope": owner.oauth.get("scope", "smtp")})
        answer = await server.challenge_auth(status)
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=True)
        fail = owner.oauth.get("fail") or "535 5.7.8 Username and Password not accepted"
        return AuthResult(success=False, handled=False, message=fail)


class _Handler(_OAuthMechanisms):
    def __init__(self, owner: CaptureServer) -> None:
        self.owner = owner

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # the "new" hook style must set this itself
        self.owner._event("EHLO", hostname, _is_tls(server))
        if not self.owner.auth:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.owner._event("MAIL", address, _is_tls(server))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.owner._event("RCPT", address, _is_tls(server))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        tls = _is_tls(server)
        self.owner._event("DATA", "", tls)
        queue_id = f"{next(_queue_ids):X}"
        user = session.auth_data if session.authenticated else None
        received = ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            tls=tls,
            user=user,
            queue_id=queue_id,
            peer=session.peer,
        )
        with self.owner._cond:
            self.owner.messages.append(received)
            self.owner._cond.notify_all()
        return f"250 2.0.0 Ok: queued as {queue_id}"


class _FreePortController(Controller):
    """aiosmtpd's Controller, bound to port 0; learns the real port once bound."""

    def _trigger_server(self):
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        return super()._trigger_server()


class CaptureServer:
    def __init__(
        self,
        ca: TestCA,
        *,
        tls: str = "starttls",
        require_starttls: bool = False,
        cert: str = "valid",
        auth: bool = True,
        user: str = "tester@example.org",
        password: str = "s3cret-test-password",
        mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
        auth_require_tls: bool | None = None,
        auth_required: bool = False,
        hostname: str = "mx.test.invalid",
        oauth: dict[str, Any] | None = None,
    ) -> None:
        if tls not in ("starttls", "implicit", "none"):
            raise ValueError(f"tls must be starttls, implicit or none, not {tls!r}")
        self.ca = ca
        self.tls = tls
        self.cert = cert
        self.auth = auth
        self.user = user
        self.password = password
        self.oauth = oauth or {}
        self.introspections: list[dict[str, Any]] = []
        self.host = HOST
        self.port = 0
        self.messages: list[ReceivedMessage] = []
        self.auth_attempts: list[AuthAttempt] = []
        self.events: list[Event] = []
        self._cond = threading.Condition()
        if auth_require_tls is None:
            auth_require_tls = tls == "starttls"
        kwargs: dict[str, Any] = {
            "server_hostname": hostname,
            "ident": "mailconsole test capture server",
            "auth_require_tls": auth_require_tls,
            "auth_required": auth_required,
            "authenticator": self._authenticate,
            "auth_exclude_mechanism": [m for m in ("LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER")
                                       if m not in mechanisms],
            "timeout": 30,
        }
        if tls == "starttls":
            kwargs["tls_context"] = ca.server_context(cert)
            kwargs["require_starttls"] = require_starttls
        elif tls == "implicit":
            kwargs["ssl_context"] = ca.server_context(cert)
        self._controller = _FreePortController(_Handler(self), hostname=HOST, port=0, **kwargs)

    # -- life cycle -------------------------------------------------------
    def start(self) -> CaptureServer:
        # aiosmtpd itself sets the deprecated Session.login_data after every AUTH
        warnings.filterwarnings("ignore", message="Session.login_data is deprecated",
                                category=DeprecationWarning)
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._controller._thread is not None:
            self._controller.stop()

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ----------------------------------------------------------
    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file)

    @property
    def address(self) -> str:
        """``host:port`` as the mail.smtp.server setting wants it."""
        return f"{self.host}:{self.port}"

    @property
    def security(self) -> str:
        """The matching mail.smtp.security value."""
        return {"starttls": "starttls", "implicit": "tls", "none": "none"}[self.tls]

    def settings_values(self, **overrides: Any) -> dict[str, Any]:
        """Flat settings (``Settings.with_values``) that send through this server."""
        values: dict[str, Any] = {
            "mail.relay": "external",
            "mail.sender": "pbx@example.com",
            "mail.smtp.server": self.address,
            "mail.smtp.security": self.security,
            "mail.smtp.verify_certificates": True,
            "mail.smtp.ca_file": self.ca_file,
            "mail.smtp.authentication": self.auth,
            "mail.smtp.username": self.user if self.auth else "",
            "mail.smtp.password": self.password if self.auth else "",
            "mail.smtp.timeout": 10,
        }
        values.update(overrides)
        return values

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMessage]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def commands(self) -> list[str]:
        """The recorded command names in order, e.g. ["EHLO", "EHLO", "AUTH", "MAIL"]."""
        return [e.command for e in self.events]

    # -- aiosmtpd callbacks ----------------------------------------------
    def _event(self, command: str, argument: str, tls: bool) -> None:
        with self._cond:
            self.events.append(Event(command, argument, tls))

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        tls = _is_tls(server)
        if not isinstance(auth_data, LoginPassword):
            ok, login = False, ""
        else:
            login = auth_data.login.decode("utf-8", "replace")
            ok = (self.auth and login == self.user
                  and auth_data.password == self.password.encode("utf-8"))
        with self._cond:
            self.auth_attempts.append(AuthAttempt(mechanism, login, ok, tls))
            self.events.append(Event("AUTH", f"{mechanism} {login}", tls))
        if ok:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def _introspect(self, user: str, token: str) -> bool:
        """RFC 7662: ask the authorization server whether it issued ``token``."""
        import json
        import ssl
        import urllib.parse
        import urllib.request

        o = self.oauth
        if not o.get("url"):
            return False
        body = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token",
                                       "client_id": o["client_id"],
                                       "client_secret": o["secret"]}).encode()
        ctx = ssl.create_default_context(cafile=o["ca_file"])
        request = urllib.request.Request(o["url"], data=body, method="POST")
        with urllib.request.urlopen(request, context=ctx, timeout=5) as response:
            data = json.loads(response.read())
        with self._cond:
            self.introspections.append({k: v for k, v in data.items() if k != "token"})
        if not data.get("active"):
            return False
        if data.get("username"):
            return bool(data["username"] == user)
        mailboxes = o.get("mailboxes")
        return mailboxes is None or user in mailboxes.get(data.get("client_id"), set())

    def __repr__(self) -> str:
        return f"CaptureServer(tls={self.tls!r}, cert={self.cert!r}, {self.address})"
