"""The wire's discard_pending (STARTTLS/STLS response injection): everything the
server sent before our ClientHello is dropped unread -- what the wire buffered
and what is still waiting in the kernel."""

from __future__ import annotations

import socket
import time

from mailer.blocking import SyncRuntime, SyncWire
from mailer.report import Report
from mailer.session import Recorder


def _recorder() -> Recorder:
    return Recorder(Report(), on_step=None, secrets=[])


def _wait_readable(sock: socket.socket) -> None:
    import select

    select.select([sock], [], [], 5)
    time.sleep(0.05)  # let the whole write arrive


def test_the_blocking_wire_drops_buffered_and_kernel_bytes():
    ours, theirs = socket.socketpair()
    try:
        wire = SyncWire(_recorder(), "127.0.0.1", 25, SyncRuntime())
        ours.setblocking(False)
        wire.sock = ours
        theirs.sendall(b"220 go ahead\r\n250-INJECTED\r\n")
        _wait_readable(ours)
        line = wire.read_line()  # reads the whole packet into the buffer
        assert line.text == "220 go ahead"
        theirs.sendall(b"250 AUTH PLAIN\r\n")  # still in the kernel
        _wait_readable(ours)
        assert wire.discard_pending() == len(b"250-INJECTED\r\n250 AUTH PLAIN\r\n")
        assert wire.discard_pending() == 0
        theirs.sendall(b"220 real\r\n")
        _wait_readable(ours)
        assert wire.read_line().text == "220 real"
    finally:
        ours.close()
        theirs.close()

