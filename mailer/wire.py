"""Server parsing, the TLS context (with the certificate classes), line caps,
and the interface of a connection.

The SMTP and POP3 conversations (mailer.smtp, mailer.pop3) run over a
:class:`WireLike`, implemented by :mod:`mailer.blocking` on blocking sockets in
the calling thread (no event loop, no asyncio).

This module imports ssl but neither asyncio nor the email package."""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from config.files import NotRegularFile, read_bounded
from config.i18n import N_, _
from config.validate import parse_host
from mailer.errors import MailerError
from mailer.session import Recorder

T = TypeVar("T")

MAX_LINE = 2048            # bytes per line from the server, CRLF included
MAX_REPLY_LINES = 100      # lines per SMTP reply
PROBE_AFTER = 2.0          # seconds without greeting before probing for a TLS port
PROBE_TIMEOUT = 0.9

# OpenSSL X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code)
_EXPIRED = {9, 10}                    # not yet valid, expired
_HOSTNAME = {62, 64}                  # host name mismatch, IP address mismatch
_PLAIN_PEER = ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE",
               "PACKET_LENGTH_TOO_LONG")


def system_text(exc: BaseException) -> str:
    """An operating-system error in the active language, without "[Errno -2]":
    the common name-lookup and connection failures are translated; anything
    else is the system's own text (its strerror)."""
    import errno
    import socket

    code = getattr(exc, "errno", None)
    if isinstance(exc, socket.gaierror):
        gai = {
            socket.EAI_NONAME: N_("the name is not known (no such host)"),
            socket.EAI_AGAIN: N_("the name server did not answer in time; try again"),
            socket.EAI_FAIL: N_("the name server failed"),
        }
        for name in ("EAI_NODATA", "EAI_ADDRFAMILY"):
            if hasattr(socket, name):
                gai[getattr(socket, name)] = N_("the name has no address")
        if code in gai:
            return _(gai[code])
    texts = {
        errno.ECONNREFUSED: N_("connection refused: nothing listens on that port"),
        errno.ETIMEDOUT: N_("timed out"),
        errno.EHOSTUNREACH: N_("no route to the host"),
        errno.ENETUNREACH: N_("the network is unreachable"),
        errno.ECONNRESET: N_("the connection was reset by the other side"),
        errno.ENOENT: N_("no such file or directory"),
        errno.EACCES: N_("permission denied"),
        errno.ENOTDIR: N_("a part of the path is not a directory"),
        errno.EISDIR: N_("it is a directory"),
    }
    if code in texts:
        return _(texts[code])
    return str(getattr(exc, "strerror", None) or exc)


def parse_server(value: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (connectable host,
    port), with config.validate's rules.  Raises ValueError with the reason."""
    return parse_host(value.strip(), default_port)


MAX_CA_BYTES = 4 * 1024 * 1024   # a CA bundle is a few hundred KB


def read_ca_file(path: str) -> tuple[bytes, tuple[int, ...]]:
    """The content of ``ca_file`` and a stamp of its version.  Opened only if
    it is a regular file (O_NONBLOCK: a FIFO or a device never blocks the open;
    fstat before the first read), at most MAX_CA_BYTES.  ValueError with a
    translated reason, or OSError as open raises it."""
    try:
        data, st = read_bounded(path, MAX_CA_BYTES)
    except NotRegularFile:
        raise ValueError(_("not a regular file (a FIFO, device, socket or directory)")) from None
    if len(data) > MAX_CA_BYTES:
        raise ValueError(_("larger than {n} bytes").format(n=MAX_CA_BYTES))
    return data, (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


_CA_CONTEXTS: dict[tuple[object, ...], ssl.SSLContext] = {}


def tls_context(verify: bool, ca_file: str) -> ssl.SSLContext:
    """Certificates on: system trust store plus ``ca_file``, host name checked;
    off: no checks.  TLS 1.2 or later either way.  Cached (loading the system
    store costs tens of milliseconds); a changed ``ca_file`` gives a new one.
    ``ca_file`` is read with :func:`read_ca_file` (regular files only)."""
    if not (verify and ca_file):
        return _tls_context(verify, "", 0)
    data, stamp = read_ca_file(ca_file)
    key = (ca_file, stamp)
    ctx = _CA_CONTEXTS.get(key)
    if ctx is None:
        ctx = _new_context(True)
        if b"-----BEGIN" in data:  # PEM; non-ASCII can only be in text around the blocks
            ctx.load_verify_locations(cadata=data.decode("ascii", "ignore"))
        else:
            ctx.load_verify_locations(cadata=data)
        if len(_CA_CONTEXTS) >= 8:
            _CA_CONTEXTS.clear()
        _CA_CONTEXTS[key] = ctx
    return ctx


_HEX = frozenset("0123456789abcdef")


def _is_hash_name(name: str) -> bool:
    """Whether ``name`` looks like an OpenSSL hash link: ``[0-9a-f]{8}\\.[0-9]+``
    (without compiling a regex)."""
    stem, dot, serial = name.partition(".")
    return (len(stem) == 8 and _HEX.issuperset(stem) and dot == "." and serial.isascii()
            and serial.isdigit())


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
                if _is_hash_name(entry.name):
                    return capath
    except OSError:
        return ""
    return ""


@functools.lru_cache(maxsize=8)
def _tls_context(verify: bool, ca_file: str, _stamp: int) -> ssl.SSLContext:
    """The context without a ca_file (``ca_file`` is always "" here)."""
    return _new_context(verify)


def _new_context(verify: bool) -> ssl.SSLContext:
    if verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        capath = _hashed_capath()
        if capath:
            # The same system trust store, looked up per issuer when needed,
            # instead of parsing the whole bundle (80+ ms) on every start.
            ctx.load_verify_locations(capath=capath)
        else:
            ctx.load_default_certs()
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def probe_context() -> ssl.SSLContext:
    """No checks: only "does this port complete a TLS handshake?"."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Line:
    """One line from the server: the bytes and the decoded text without CRLF."""

    __slots__ = ("raw", "text")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.text = raw.rstrip(b"\r\n").decode("utf-8", "replace")


# -- failure mapping ------------------------------------------------------------------

def certificate_details(der: bytes | None) -> str:
    """The names a certificate is made out to and its validity, from its DER
    form ("" if unknown): what an admin needs to read a name or date error."""
    if not der:
        return ""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(der)
        names: list[str] = []
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = [*san.get_values_for_type(x509.DNSName),
                     *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]
        except x509.ExtensionNotFound:
            pass
        if not names:
            names = [str(a.value) for a in cert.subject.get_attributes_for_oid(
                NameOID.COMMON_NAME)]
        start = cert.not_valid_before_utc.strftime("%Y-%m-%d %H:%M UTC")
        end = cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
    except (ImportError, ValueError):
        return ""
    return _("the certificate is made out to {names}, valid from {start} until {end}").format(
        names=", ".join(names[:10]) or "?", start=start, end=end)


def cert_error(rec: Recorder, exc: ssl.SSLCertVerificationError,
               der: bytes | None = None) -> MailerError:
    """The class of a certificate the checks refused; ``der`` (the peer's
    certificate fetched on a second connection, if it could be) adds its
    names and dates to the message."""
    detail = exc.verify_message or str(exc)
    details = certificate_details(der)
    if details:
        detail += "; " + details
    rec.note(_("certificate rejected: {detail}").format(detail=detail))
    code = exc.verify_code
    if code in _EXPIRED:
        return rec.error("cert_expired", detail=detail)
    if code in _HOSTNAME:
        return rec.error("cert_hostname", detail=detail)
    return rec.error("cert_untrusted", detail=detail)


def tls_error(rec: Recorder, exc: ssl.SSLError) -> MailerError:
    reason = (exc.reason or "").upper()
    rec.note(_("TLS error: {error}").format(error=exc.reason or exc))
    if any(name in reason for name in _PLAIN_PEER):
        return rec.error("tls_on_plain_port")
    return rec.error("tls_failed", detail=exc.reason or str(exc))


def handshake_lost(rec: Recorder, name: str) -> MailerError:
    """The peer went away during the handshake (a plain server sends its
    greeting or hangs up instead of ServerHello)."""
    rec.note(_("connection lost during the TLS handshake: {error}").format(error=name))
    return rec.error("connection_lost")


def established(rec: Recorder, ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> None:
    if ssl_object is not None:
        cipher = ssl_object.cipher()
        rec.note(_("TLS established: {version}, {cipher}").format(
            version=ssl_object.version(), cipher=cipher[0] if cipher else "?"))


def certificate_summary(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> str:
    """Subject, issuer and validity of the peer certificate ("" if unknown)."""
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


def injection_warning(rec: Recorder, command: str, n: int) -> str:
    """The report's warning after ``n`` bytes came between the answer to
    ``command`` (STARTTLS or STLS) and the TLS handshake."""
    return _("{server} (or something in between) sent {n} bytes after its {command} "
             "answer, before the TLS handshake; they were ignored.").format(
                 server=rec.context.get("server", "?"), n=n, command=command)


def command_bytes(rec: Recorder, text: str) -> bytes:
    """One command line for the wire (``text`` + CRLF).  A CR, LF or NUL
    inside ``text`` would end the command early and start another one that
    nobody wrote: refused (MailerError) before anything is sent."""
    if "\r" in text or "\n" in text or "\0" in text:
        raise rec.error("invalid_settings", detail=_(
            "a command to the server would contain a line break or NUL; nothing was sent"))
    return (text + "\r\n").encode("utf-8")


def line_too_long(rec: Recorder) -> MailerError:
    rec.note(_("a line longer than {n} bytes").format(n=MAX_LINE))
    return rec.error("protocol_error",
                     detail=_("a reply line longer than {n} bytes").format(n=MAX_LINE))


def eof_error(rec: Recorder, partial: bytes) -> MailerError:
    """The server closed the connection; ``partial`` is the unterminated rest."""
    if partial:
        rec.server(partial.decode("utf-8", "replace"))
    if partial[:2] in (b"\x15\x03", b"\x16\x03"):
        return rec.error("plain_on_tls_port")
    return rec.error("connection_lost")


def lost(rec: Recorder, exc: BaseException) -> MailerError:
    rec.note(_("connection error: {error}").format(error=type(exc).__name__))
    return rec.error("connection_lost")


def connect_failed(rec: Recorder, last: OSError | None) -> MailerError:
    if isinstance(last, ConnectionRefusedError) or last is None:
        return rec.error("refused")
    if isinstance(last, TimeoutError):
        return rec.error("connect_timeout")
    return rec.error("refused", detail=system_text(last))


def unique_addresses(infos: Sequence[tuple[object, ...]]) -> list[tuple[str, int]]:
    addrs: list[tuple[str, int]] = []
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)
        addr = (str(sockaddr[0]), int(sockaddr[1]))
        if addr not in addrs:
            addrs.append(addr)
    return addrs


# -- the interface of the transport ---------------------------------------------------

class WireLike(Protocol):
    """One TCP connection with capped reads and a transcript
    (mailer.blocking.SyncWire).  Every method may raise MailerError."""

    rec: Recorder
    host: str
    port: int
    address: tuple[str, int] | None
    encrypted: bool

    def resolve(self) -> list[tuple[str, int]]: ...
    def connect(self, addrs: list[tuple[str, int]]) -> None: ...
    def discard_pending(self) -> int: ...
    def start_tls(self, ctx: ssl.SSLContext, *, implicit: bool) -> None: ...
    def certificate_summary(self) -> str: ...
    def local_address(self) -> tuple[str, int] | None: ...
    def wait_data(self, seconds: float) -> bool: ...
    def probe_tls(self) -> bool | None: ...
    def read_line(self) -> Line: ...
    def write_line(self, text: str, *, shown: str | None = None) -> None: ...
    def write_raw(self, data: bytes) -> None: ...
    def timeout(self, seconds: float) -> AbstractContextManager[object]: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


def probe_silent_port(wire: WireLike, rec: Recorder) -> None:
    """No greeting within PROBE_AFTER seconds (SMTP or POP3): does the port expect
    TLS first?  A completed TLS handshake fails the step as ``plain_on_tls_port``;
    otherwise the caller goes on waiting for the greeting."""
    if wire.address is None or wire.wait_data(PROBE_AFTER):
        return
    rec.note(_("no greeting after {n} seconds; checking whether the port "
               "expects TLS").format(n=int(PROBE_AFTER)))
    is_tls = wire.probe_tls()
    if is_tls:
        rec.note(_("the port completed a TLS handshake"))
        raise rec.error("plain_on_tls_port")
    if is_tls is False:
        rec.note(_("the port does not speak TLS either; still waiting"))


class Runtime(Protocol):
    """What a send needs from its transport besides connections."""

    cancelled: tuple[type[BaseException], ...]

    def wire(self, rec: Recorder, host: str, port: int) -> WireLike: ...
    def timeout(self, seconds: float) -> AbstractContextManager[object]: ...
    def run_process(self, argv: list[str],
                          data: bytes) -> tuple[int | None, bytes, bytes]: ...
    def in_thread(self, fn: Callable[[], T], name: str = ...) -> T: ...
