"""The asyncio transport: :class:`Wire` on asyncio streams and
:class:`AsyncRuntime` (task cancellation, ``asyncio.timeout``, subprocesses).
Used by ``send_async``/``send_test_mail_async`` (the TUI)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from config.i18n import _
from mailer.report import Report
from mailer.session import Recorder
from mailer.wire import (
    MAX_LINE,
    PROBE_TIMEOUT,
    Line,
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
    tls_error,
    unique_addresses,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from mailer.wire import WireLike

    T = TypeVar("T")

CANCEL_POLL = 0.05


class SendCancelled(asyncio.CancelledError):
    """Raised by the async API when its task is cancelled; ``report`` holds the
    finished report (failure class "cancelled").  A CancelledError, so task
    cancellation keeps working for the caller."""

    def __init__(self, report: Report) -> None:
        super().__init__("cancelled")
        self.report = report


class Wire:
    """One TCP connection on asyncio streams with capped reads and a transcript."""

    def __init__(self, rec: Recorder, host: str, port: int) -> None:
        self.rec = rec
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.address: tuple[str, int] | None = None
        self.encrypted = False
        self._first: asyncio.Future[bytes] | None = None  # a read begun by wait_data

    # -- connect ----------------------------------------------------------
    async def resolve(self) -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM,
                                           proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise self.rec.error("dns", detail=str(exc)) from None
        addrs = unique_addresses(infos)
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
        raise connect_failed(self.rec, last)

    # -- TLS --------------------------------------------------------------
    async def discard_pending(self) -> int:
        """Drop the bytes received but not yet read; return how many (between
        a STARTTLS/STLS answer and the handshake: see SyncWire.discard_pending)."""
        assert self.reader is not None
        pending = len(getattr(self.reader, "_buffer", b""))
        if pending:
            await self.reader.read(pending)  # buffered already: returns at once
        return pending

    async def start_tls(self, ctx: ssl.SSLContext, *, implicit: bool) -> None:
        assert self.writer is not None
        try:
            await self.writer.start_tls(ctx, server_hostname=self.host)
        except ssl.SSLCertVerificationError as exc:
            raise cert_error(self.rec, exc) from None
        except ssl.SSLError as exc:
            raise tls_error(self.rec, exc) from None
        except (ConnectionError, asyncio.IncompleteReadError, EOFError) as exc:
            raise handshake_lost(self.rec, type(exc).__name__) from None
        self.encrypted = True
        established(self.rec, self.writer.get_extra_info("ssl_object"))

    def certificate_summary(self) -> str:
        if self.writer is None:
            return ""
        return certificate_summary(self.writer.get_extra_info("ssl_object"))

    def local_address(self) -> tuple[str, int] | None:
        """The local end of the connection (for the EHLO address literal)."""
        if self.writer is None:
            return None
        sockname = self.writer.get_extra_info("sockname")
        return (str(sockname[0]), int(sockname[1])) if sockname else None

    # -- greeting probe -----------------------------------------------------
    async def wait_data(self, seconds: float) -> bool:
        """Begin reading a line; True if it arrived (or the peer closed) within
        ``seconds``.  The read goes on; read_line picks it up."""
        assert self.reader is not None
        if self._first is None:
            self._first = asyncio.ensure_future(self.reader.readuntil(b"\n"))
        done, _pending = await asyncio.wait({self._first}, timeout=seconds)
        return bool(done)

    async def probe_tls(self) -> bool | None:
        """Whether the port completes a TLS handshake on a second connection;
        None if the line begun by wait_data arrived first."""
        probe = asyncio.ensure_future(looks_like_tls_port(self.address, self.host))
        waiting: set[asyncio.Future[object]] = {probe}  # type: ignore[arg-type]
        if self._first is not None:
            waiting.add(self._first)  # type: ignore[arg-type]
        try:
            done, _pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not probe.done():
                probe.cancel()
        if self._first is not None and self._first in done:
            return None
        return probe.result()

    # -- lines ------------------------------------------------------------
    async def read_line(self) -> Line:
        assert self.reader is not None
        try:
            if self._first is not None:
                first, self._first = self._first, None
                raw = await first
            else:
                raw = await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise line_too_long(self.rec) from None
        except asyncio.IncompleteReadError as exc:
            raise eof_error(self.rec, exc.partial) from None
        except (ConnectionError, ssl.SSLError) as exc:
            raise lost(self.rec, exc) from None
        return Line(raw)

    async def write_line(self, text: str, *, shown: str | None = None) -> None:
        """Send ``text`` + CRLF; the transcript gets ``shown`` (or ``text``)."""
        data = command_bytes(self.rec, text)
        if shown is not None:
            self.rec.credentials_sent()
        self.rec.client(text if shown is None else shown)
        await self.write_raw(data)

    async def write_raw(self, data: bytes) -> None:
        assert self.writer is not None
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            raise lost(self.rec, exc) from None

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[object]:
        return asyncio.timeout(seconds)

    # -- close ------------------------------------------------------------
    def _drop_first(self) -> None:
        first, self._first = self._first, None
        if first is None:
            return
        if not first.done():
            first.cancel()
        elif not first.cancelled():
            first.exception()  # retrieved: no "exception was never retrieved" warning

    def abort(self) -> None:
        self._drop_first()
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.transport.abort()
            self.writer = None

    async def close(self) -> None:
        self._drop_first()
        writer, self.writer = self.writer, None
        if writer is None:
            return
        with contextlib.suppress(Exception):
            writer.close()
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        with contextlib.suppress(Exception):
            writer.transport.abort()


async def looks_like_tls_port(addr: tuple[str, int] | None, host: str) -> bool:
    """Probe ``addr`` on a fresh connection: does it complete a TLS handshake?"""
    if addr is None:
        return False
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            _reader, writer = await asyncio.open_connection(
                addr[0], addr[1], ssl=probe_context(), server_hostname=host or None)
        return True
    except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
        return False
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.transport.abort()


class AsyncRuntime:
    """Task cancellation, asyncio.timeout, asyncio subprocesses."""

    cancelled: tuple[type[BaseException], ...] = (asyncio.CancelledError,)

    def __init__(self) -> None:
        self.wires: list[Wire] = []
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Future[None] | None = None
        self._by_event = False

    def wire(self, rec: Recorder, host: str, port: int) -> WireLike:
        wire = Wire(rec, host, port)
        self.wires.append(wire)
        return wire

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[object]:
        return asyncio.timeout(seconds)

    def begin(self, cancel: threading.Event | None) -> None:
        """Watch ``cancel``; raise CancelledError at once if it is already set."""
        self._task = asyncio.current_task()
        assert self._task is not None
        if cancel is None:
            return
        if cancel.is_set():
            self._by_event = True
            raise asyncio.CancelledError
        self._watcher = asyncio.ensure_future(self._watch(cancel))

    async def _watch(self, cancel: threading.Event) -> None:
        while not cancel.is_set():
            await asyncio.sleep(CANCEL_POLL)
        self._by_event = True
        assert self._task is not None
        self._task.cancel()

    def after_cancel(self, report: Report) -> None:
        """A cancel by the event returns the report; a cancelled task raises."""
        if self._by_event:
            assert self._task is not None
            self._task.uncancel()
        else:
            raise SendCancelled(report) from None

    def finish(self) -> None:
        for wire in self.wires:
            wire.abort()
        if self._watcher is not None:
            self._watcher.cancel()

    async def in_thread(self, fn: Callable[[], T]) -> T:
        """Run blocking ``fn`` (an HTTPS request) in a worker thread; the send's
        deadline and a cancel stop waiting for it (the thread ends by its own
        socket timeout)."""
        return await asyncio.to_thread(fn)

    async def run_process(self, argv: list[str], data: bytes) -> tuple[int | None, bytes, bytes]:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        try:
            out, err = await proc.communicate(data)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
            raise
        return proc.returncode, out or b"", err or b""
