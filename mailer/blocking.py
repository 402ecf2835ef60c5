"""The transport: :class:`SyncWire` on plain sockets and :class:`SyncRuntime`,
for ``send``/``send_test_mail`` without an event loop.

The conversation code (mailer.smtp, mailer.pop3, mailer.relay) calls the wire
and the runtime of this module directly, in the calling thread.  Timing is
by ``time.monotonic``: one overall deadline (``mail.smtp.timeout``, plus the
nested short limits such as QUIT's 2 s) and every blocking call waits in
slices of at most :data:`SLICE` seconds, checking the cancel event between
them, so a cancel ends the send within about 0.2 s.  Never imports asyncio."""

from __future__ import annotations

import errno
import os
import select
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

from config.i18n import _
from mailer.session import Recorder
from mailer.wire import (
    MAX_LINE,
    PROBE_TIMEOUT,
    Line,
    WireLike,
    cert_error,
    certificate_summary,
    command_bytes,
    connect_failed,
    eof_error,
    established,
    handshake_lost,
    line_too_long,
    lost,
    probe_context,
    system_text,
    tls_error,
    unique_addresses,
)

T = TypeVar("T")

SLICE = 0.1            # seconds; longest wait between two looks at the cancel event
RECV_SIZE = 65536


class SyncCancelled(BaseException):
    """The cancel event was set (the blocking path's CancelledError)."""


class _Expired(BaseException):
    """A time limit ran out; turned into TimeoutError where that limit began
    (like asyncio.timeout, so a short inner limit never swallows the overall
    deadline)."""

    def __init__(self, limit: _Limit) -> None:
        super().__init__("deadline")
        self.limit = limit


class _Limit:
    """A deadline as a context manager (SyncRuntime.timeout)."""

    def __init__(self, runtime: SyncRuntime, seconds: float) -> None:
        self.runtime, self.seconds, self.at = runtime, seconds, 0.0

    def __enter__(self) -> None:
        self.at = time.monotonic() + self.seconds
        self.runtime.limits.append(self)

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        self.runtime.limits.remove(self)
        if isinstance(exc, _Expired) and exc.limit is self:
            raise TimeoutError from None
        return False


class SyncRuntime:
    """Deadlines, cancel checks and subprocesses for the blocking path."""

    cancelled: tuple[type[BaseException], ...] = (SyncCancelled,)

    def __init__(self) -> None:
        self.wires: list[SyncWire] = []
        self.limits: list[_Limit] = []
        self.cancel: threading.Event | None = None

    # -- the send's life ------------------------------------------------------
    def wire(self, rec: Recorder, host: str, port: int) -> WireLike:
        wire = SyncWire(rec, host, port, self)
        self.wires.append(wire)
        return wire

    def timeout(self, seconds: float) -> _Limit:
        return _Limit(self, seconds)

    def begin(self, cancel: threading.Event | None) -> None:
        self.cancel = cancel
        self.check()

    def finish(self) -> None:
        for wire in self.wires:
            wire.abort()

    # -- time ---------------------------------------------------------------------
    def check(self) -> None:
        """Raise SyncCancelled if cancelled, _Expired if a limit has run out."""
        if self.cancel is not None and self.cancel.is_set():
            raise SyncCancelled
        if self.limits:
            now = time.monotonic()
            first = min(self.limits, key=lambda limit: limit.at)
            if now >= first.at:
                raise _Expired(first)

    def slice(self, cap: float = SLICE) -> float:
        """Check, then how long the next blocking wait may last (> 0)."""
        self.check()
        wait = cap
        if self.limits:
            wait = min(wait, min(limit.at for limit in self.limits) - time.monotonic())
        return max(wait, 0.001)

    def in_thread(self, fn: Callable[[], T], name: str = "mailer-worker") -> T:
        """Run blocking ``fn`` (a name lookup, an HTTPS request) in a worker
        thread while watching the deadline and the cancel event."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed over below
                box["error"] = exc

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(self.slice())
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    def run_process(self, argv: list[str], data: bytes) -> tuple[int | None, bytes, bytes]:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            first = True
            while True:
                try:
                    out, err = proc.communicate(data if first else None, timeout=self.slice())
                    break
                except subprocess.TimeoutExpired:
                    first = False
        except BaseException:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            try:
                proc.wait(5)
            except Exception:  # the first error is the one to raise
                pass
            raise
        return proc.returncode, out or b"", err or b""


def _wait(sock: socket.socket, *, write: bool, seconds: float) -> bool:
    """Whether ``sock`` becomes readable (writable) within ``seconds``."""
    if not write and isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    r, w, _x = select.select([] if write else [sock], [sock] if write else [], [], seconds)
    return bool(r or w)


class SyncWire:
    """One TCP connection on a blocking socket with capped reads and a transcript."""

    def __init__(self, rec: Recorder, host: str, port: int, runtime: SyncRuntime) -> None:
        self.rec = rec
        self.host, self.port = host, port
        self.runtime = runtime
        self.sock: socket.socket | None = None
        self.address: tuple[str, int] | None = None
        self.encrypted = False
        self._buf = bytearray()
        self._eof = False

    # -- connect ----------------------------------------------------------
    def resolve(self) -> list[tuple[str, int]]:
        self.runtime.check()
        try:
            infos = self._getaddrinfo()
        except (socket.gaierror, UnicodeError) as exc:
            raise self.rec.error("dns", detail=system_text(exc)) from None
        addrs = unique_addresses(infos)
        if not addrs:
            raise self.rec.error("dns", detail=_("no address found"))
        return addrs

    def _getaddrinfo(self) -> list[Any]:
        def lookup() -> list[Any]:
            return socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM,
                                      proto=socket.IPPROTO_TCP)

        if _is_ip(self.host):
            return lookup()
        # A name may take the resolver's own timeouts: look it up in a thread
        # and keep watching the deadline and the cancel event meanwhile.
        return self.runtime.in_thread(lookup, name="mailer-resolve")

    def connect(self, addrs: list[tuple[str, int]]) -> None:
        last: OSError | None = None
        for ip, port in addrs:
            self.rec.note(_("connecting to {ip} port {port}").format(ip=ip, port=port))
            try:
                self.sock = self._connect_one(ip, port)
            except OSError as exc:
                last = exc
                self.rec.note(_("{ip}: {error}").format(ip=ip, error=system_text(exc)))
                continue
            self.address = (ip, port)
            return
        raise connect_failed(self.rec, last)

    def _connect_one(self, ip: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            code = sock.connect_ex((ip, port))
            if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                raise OSError(code, os.strerror(code))
            while code and not _wait(sock, write=True, seconds=self.runtime.slice()):
                pass
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except BaseException:
            sock.close()
            raise

    # -- TLS --------------------------------------------------------------
    def discard_pending(self) -> int:
        """Drop the bytes received but not yet read, including those already
        waiting in the kernel, without waiting for more; return how many.
        Called between a STARTTLS (STLS) answer and the handshake: nothing
        the server sent before our ClientHello may be read as a reply or fed
        into the handshake (STARTTLS response injection)."""
        dropped = len(self._buf)
        self._buf.clear()
        sock = self.sock
        if sock is not None and not isinstance(sock, ssl.SSLSocket) and not self._eof and \
                _wait(sock, write=False, seconds=0):
            try:
                chunk = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                chunk = None
            except ConnectionError as exc:
                raise lost(self.rec, exc) from None
            if chunk == b"":
                self._eof = True
            elif chunk:
                dropped += len(chunk)
        return dropped

    def start_tls(self, ctx: ssl.SSLContext, *, implicit: bool) -> None:
        assert self.sock is not None
        self.runtime.check()
        try:
            tls = ctx.wrap_socket(self.sock, server_hostname=self.host,
                                  do_handshake_on_connect=False)
        except ssl.SSLError as exc:
            raise tls_error(self.rec, exc) from None
        self.sock = tls  # wrap_socket detached the plain socket
        self._buf.clear()
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                _wait(tls, write=False, seconds=self.runtime.slice())
            except ssl.SSLWantWriteError:
                _wait(tls, write=True, seconds=self.runtime.slice())
            except ssl.SSLCertVerificationError as exc:
                raise cert_error(self.rec, exc, self._peer_certificate(implicit)) from None
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError):
                raise handshake_lost(self.rec, "ConnectionResetError") from None
            except ssl.SSLError as exc:
                raise tls_error(self.rec, exc) from None
            except (ConnectionError, EOFError) as exc:
                raise handshake_lost(self.rec, type(exc).__name__) from None
        self.encrypted = True
        established(self.rec, tls)

    def local_address(self) -> tuple[str, int] | None:
        """The local end of the connection (for the EHLO address literal)."""
        try:
            return self.sock.getsockname()[:2] if self.sock is not None else None
        except OSError:
            return None

    def _peer_certificate(self, implicit: bool) -> bytes | None:
        """The certificate the checks refused, fetched on a second connection
        without checks (the refused handshake gives none), for the message's
        names and dates: TLS at once, or STARTTLS (SMTP) / STLS (POP3) first.
        At most 2 seconds; None if anything goes wrong."""
        if self.address is None:
            return None
        pop3 = self.rec.context.get("protocol") == "pop3"
        try:
            sock = socket.create_connection(self.address, timeout=min(2.0, self.runtime.slice(2.0)))
        except OSError:
            return None
        tls: ssl.SSLSocket | None = None
        try:
            reader = sock.makefile("rb", buffering=0)

            def answer(ok: bytes) -> bool:
                while True:
                    line = reader.readline(MAX_LINE)
                    if not line:
                        return False
                    if pop3 or line[3:4] != b"-":
                        return line.startswith(ok)

            if not implicit:
                local = sock.getsockname()[0]
                hello = f"EHLO {'[IPv6:' + local + ']' if ':' in local else '[' + local + ']'}"
                steps = [(b"", b"+OK"), (b"STLS", b"+OK")] if pop3 else [
                    (b"", b"220"), (hello.encode(), b"250"), (b"STARTTLS", b"220")]
                for command, ok in steps:
                    if command:
                        sock.sendall(command + b"\r\n")
                    if not answer(ok):
                        return None
            tls = probe_context().wrap_socket(sock, server_hostname=self.host or None)
            der = tls.getpeercert(binary_form=True)
            try:  # a polite goodbye, so the server's log shows no lost connection
                tls.sendall(b"QUIT\r\n")
                tls.recv(512)
            except OSError:
                pass
            return der
        except (OSError, ssl.SSLError, ValueError):
            return None
        finally:
            (tls or sock).close()

    def certificate_summary(self) -> str:
        sock = self.sock
        return certificate_summary(sock if isinstance(sock, ssl.SSLSocket) else None)

    # -- greeting probe -----------------------------------------------------
    def wait_data(self, seconds: float) -> bool:
        assert self.sock is not None
        if b"\n" in self._buf or self._eof:
            return True
        until = time.monotonic() + seconds
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return False
            if _wait(self.sock, write=False, seconds=self.runtime.slice(min(left, 0.1))):
                return True

    def probe_tls(self) -> bool | None:
        if self.address is None:
            return False
        result = self._probe(self.address)
        assert self.sock is not None
        if _wait(self.sock, write=False, seconds=0):
            return None  # the greeting came after all
        return result

    def _probe(self, addr: tuple[str, int]) -> bool:
        until = time.monotonic() + PROBE_TIMEOUT
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(addr)
            while code and time.monotonic() < until and not _wait(
                    sock, write=True, seconds=self.runtime.slice(until - time.monotonic())):
                pass
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or \
                    time.monotonic() >= until:
                return False
            tls = probe_context().wrap_socket(sock, server_hostname=self.host or None,
                                              do_handshake_on_connect=False)
            sock = tls
            while time.monotonic() < until:
                try:
                    tls.do_handshake()
                    return True
                except ssl.SSLWantReadError:
                    _wait(tls, write=False, seconds=self.runtime.slice(until - time.monotonic()))
                except ssl.SSLWantWriteError:
                    _wait(tls, write=True, seconds=self.runtime.slice(until - time.monotonic()))
            return False
        except (OSError, ssl.SSLError):
            return False
        finally:
            sock.close()

    # -- lines ------------------------------------------------------------
    def read_line(self) -> Line:
        """One line, at most MAX_LINE bytes before its LF (asyncio's
        readuntil with limit=MAX_LINE, for the same replies on both paths)."""
        sock = self.sock
        assert sock is not None
        searched = 0
        while True:
            index = self._buf.find(b"\n", searched)
            if index >= 0:
                if index > MAX_LINE:
                    raise line_too_long(self.rec)
                raw = bytes(self._buf[:index + 1])
                del self._buf[:index + 1]
                return Line(raw)
            if len(self._buf) > MAX_LINE:
                raise line_too_long(self.rec)
            searched = len(self._buf)
            if self._eof:
                partial = bytes(self._buf)
                self._buf.clear()
                raise eof_error(self.rec, partial)
            self._fill(sock)

    def _fill(self, sock: socket.socket) -> None:
        if not _wait(sock, write=False, seconds=self.runtime.slice()):
            return
        try:
            chunk = sock.recv(RECV_SIZE)
        except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
            return
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""
        except (ConnectionError, ssl.SSLError) as exc:
            raise lost(self.rec, exc) from None
        if chunk:
            self._buf += chunk
        else:
            self._eof = True

    def write_line(self, text: str, *, shown: str | None = None) -> None:
        """Send ``text`` + CRLF; the transcript gets ``shown`` (or ``text``)."""
        data = command_bytes(self.rec, text)
        if shown is not None:
            self.rec.credentials_sent()
        self.rec.client(text if shown is None else shown)
        self.write_raw(data)

    def write_raw(self, data: bytes) -> None:
        sock = self.sock
        assert sock is not None
        view = memoryview(data)
        try:
            while view:
                self.runtime.check()
                try:
                    sent = sock.send(view)
                except (ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                    _wait(sock, write=True, seconds=self.runtime.slice())
                    continue
                except ssl.SSLWantReadError:
                    _wait(sock, write=False, seconds=self.runtime.slice())
                    continue
                view = view[sent:]
        except (ConnectionError, ssl.SSLError) as exc:
            raise lost(self.rec, exc) from None
        finally:
            view.release()

    def timeout(self, seconds: float) -> _Limit:
        return self.runtime.timeout(seconds)

    # -- close ------------------------------------------------------------
    def abort(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def close(self) -> None:
        self.abort()


def _is_ip(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False
