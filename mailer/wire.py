"""Connections shared by the SMTP and POP3 clients: resolve, connect, TLS
(with the certificate classes), capped line reads, close.

Imported lazily by mailer.api (it pulls in ssl and asyncio)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import socket
import ssl
from dataclasses import dataclass

from config.i18n import _
from mailer.session import Recorder

MAX_LINE = 2048            # bytes per line from the server, CRLF included
MAX_REPLY_LINES = 100      # lines per SMTP reply
PROBE_AFTER = 2.0          # seconds without greeting before probing for a TLS port
PROBE_TIMEOUT = 0.9

# OpenSSL X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code)
_EXPIRED = {9, 10}                    # not yet valid, expired
_HOSTNAME = {62, 64}                  # host name mismatch, IP address mismatch


def parse_server(value: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (connectable host,
    port), with config.validate's rules.  Raises ValueError with the reason."""
    from config.validate import parse_host

    return parse_host(value.strip(), default_port)


def tls_context(verify: bool, ca_file: str) -> ssl.SSLContext:
    """Certificates on: system trust store plus ``ca_file``, host name checked;
    off: no checks.  TLS 1.2 or later either way.  Cached (loading the system
    store costs tens of milliseconds); a changed ``ca_file`` gives a new one."""
    stamp = 0
    if verify and ca_file:
        stamp = os.stat(ca_file).st_mtime_ns
    return _tls_context(verify, ca_file, stamp)


_HASH_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+\Z")


@functools.lru_cache(maxsize=1)
def _hashed_capath() -> str:
    """OpenSSL's default certificate directory if it has hash links (Debian's
    /etc/ssl/certs after update-ca-certificates), else ""."""
    paths = ssl.get_default_verify_paths()
    capath = paths.capath or ""
    if not capath or not os.path.isdir(capath):
        return ""
    chosen = os.environ.get(paths.openssl_cafile_env, "")
    if chosen and os.path.dirname(os.path.realpath(chosen)) != os.path.realpath(capath):
        return ""  # SSL_CERT_FILE names another bundle than the directory's: honour it
    try:
        with os.scandir(capath) as entries:
            for entry in entries:
                if _HASH_NAME.match(entry.name):
                    return capath
    except OSError:
        return ""
    return ""


@functools.lru_cache(maxsize=8)
def _tls_context(verify: bool, ca_file: str, _stamp: int) -> ssl.SSLContext:
    if verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        capath = _hashed_capath()
        if capath:
            # The same system trust store, looked up per issuer when needed,
            # instead of parsing the whole bundle (80+ ms) on every start.
            ctx.load_verify_locations(capath=capath)
        else:
            ctx.load_default_certs()
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@dataclass
class Line:
    raw: bytes
    text: str


class Wire:
    """One TCP connection with capped reads and a transcript."""

    def __init__(self, rec: Recorder, host: str, port: int) -> None:
        self.rec = rec
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.address: tuple[str, int] | None = None
        self.encrypted = False

    # -- connect ----------------------------------------------------------
    async def resolve(self) -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM,
                                           proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise self.rec.error("dns", detail=str(exc)) from None
        addrs: list[tuple[str, int]] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            addr = (str(sockaddr[0]), int(sockaddr[1]))
            if addr not in addrs:
                addrs.append(addr)
        if not addrs:
            raise self.rec.error("dns", detail=_("no address found"))
        return addrs

    async def connect(self, addrs: list[tuple[str, int]]) -> None:
        last: OSError | None = None
        for ip, port in addrs:
            self.rec.note(_("connecting to {ip} port {port}").format(ip=ip, port=port))
            try:
                self.reader, self.writer = await asyncio.open_connection(ip, port, limit=MAX_LINE)
            except OSError as exc:
                last = exc
                self.rec.note(_("{ip}: {error}").format(ip=ip, error=exc.strerror or exc))
                continue
            self.address = (ip, port)
            return
        if isinstance(last, ConnectionRefusedError) or last is None:
            raise self.rec.error("refused")
        if isinstance(last, TimeoutError):
            raise self.rec.error("connect_timeout")
        raise self.rec.error("refused", detail=str(last.strerror or last))

    # -- TLS --------------------------------------------------------------
    def buffered(self) -> int:
        """Bytes received but not yet read (STARTTLS injection check)."""
        buf = getattr(self.reader, "_buffer", b"")
        return len(buf)

    async def start_tls(self, ctx: ssl.SSLContext, *, implicit: bool) -> None:
        assert self.writer is not None
        server_hostname = self.host
        try:
            await self.writer.start_tls(ctx, server_hostname=server_hostname)
        except ssl.SSLCertVerificationError as exc:
            raise self._cert_error(exc) from None
        except ssl.SSLError as exc:
            reason = (exc.reason or "").upper()
            self.rec.note(_("TLS error: {error}").format(error=exc.reason or exc))
            if "WRONG_VERSION_NUMBER" in reason or "UNKNOWN_PROTOCOL" in reason \
                    or "RECORD_LAYER_FAILURE" in reason or "PACKET_LENGTH_TOO_LONG" in reason:
                raise self.rec.error("tls_on_plain_port") from None
            raise self.rec.error("tls_failed", detail=exc.reason or str(exc)) from None
        except (ConnectionError, asyncio.IncompleteReadError, EOFError) as exc:
            self.rec.note(_("connection lost during the TLS handshake: {error}").format(
                error=type(exc).__name__))
            if implicit:
                # A plain server sends its greeting (or hangs up) instead of ServerHello.
                raise self.rec.error("connection_lost") from None
            raise self.rec.error("connection_lost") from None
        self.encrypted = True
        ssl_object = self.writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            cipher = ssl_object.cipher()
            self.rec.note(_("TLS established: {version}, {cipher}").format(
                version=ssl_object.version(), cipher=cipher[0] if cipher else "?"))

    def _cert_error(self, exc: ssl.SSLCertVerificationError) -> Exception:
        detail = exc.verify_message or str(exc)
        self.rec.note(_("certificate rejected: {detail}").format(detail=detail))
        code = exc.verify_code
        if code in _EXPIRED:
            return self.rec.error("cert_expired", detail=detail)
        if code in _HOSTNAME:
            return self.rec.error("cert_hostname", detail=detail)
        return self.rec.error("cert_untrusted", detail=detail)

    def certificate_summary(self) -> str:
        """Subject, issuer and validity of the peer certificate ("" if unknown)."""
        if self.writer is None:
            return ""
        ssl_object = self.writer.get_extra_info("ssl_object")
        if ssl_object is None:
            return ""
        cert = ssl_object.getpeercert()
        if not cert:
            return ""

        def name(field: object) -> str:
            parts = []
            for rdn in field or ():  # type: ignore[attr-defined]
                for key, value in rdn:
                    if key in ("commonName", "organizationName"):
                        parts.append(f"{key}={value}")
            return ", ".join(parts) or "?"

        return _("subject {subject}; issuer {issuer}; valid until {until}").format(
            subject=name(cert.get("subject")), issuer=name(cert.get("issuer")),
            until=cert.get("notAfter", "?"))

    # -- lines ------------------------------------------------------------
    async def read_line(self) -> Line:
        assert self.reader is not None
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            self.rec.note(_("a line longer than {n} bytes").format(n=MAX_LINE))
            raise self.rec.error(
                "protocol_error",
                detail=_("a reply line longer than {n} bytes").format(n=MAX_LINE)) from None
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                self.rec.server(exc.partial.decode("utf-8", "replace"))
            if exc.partial[:2] in (b"\x15\x03", b"\x16\x03"):
                raise self.rec.error("plain_on_tls_port") from None
            raise self.rec.error("connection_lost") from None
        except (ConnectionError, ssl.SSLError) as exc:
            self.rec.note(_("connection error: {error}").format(error=type(exc).__name__))
            raise self.rec.error("connection_lost") from None
        text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        return Line(raw, text)

    async def write_line(self, text: str, *, shown: str | None = None) -> None:
        """Send ``text`` + CRLF; the transcript gets ``shown`` (or ``text``)."""
        self.rec.client(text if shown is None else shown)
        await self.write_raw((text + "\r\n").encode("utf-8"))

    async def write_raw(self, data: bytes) -> None:
        assert self.writer is not None
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            self.rec.note(_("connection error: {error}").format(error=type(exc).__name__))
            raise self.rec.error("connection_lost") from None

    # -- close ------------------------------------------------------------
    def abort(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.transport.abort()
            self.writer = None

    async def close(self) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        with contextlib.suppress(Exception):
            writer.close()
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        with contextlib.suppress(Exception):
            writer.transport.abort()


async def looks_like_tls_port(addr: tuple[str, int], host: str) -> bool:
    """Probe ``addr`` on a fresh connection: does it complete a TLS handshake?"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            _reader, writer = await asyncio.open_connection(
                addr[0], addr[1], ssl=ctx, server_hostname=host or None)
        return True
    except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
        return False
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.transport.abort()
