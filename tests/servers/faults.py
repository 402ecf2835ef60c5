"""A misbehaving SMTP server on 127.0.0.1 (free port), one thread per connection.

    server = FaultServer("rcpt_5xx", ca=ca).start()   # or FaultServer(**options)
    ... server.port, server.commands ...
    server.stop()

It speaks just enough SMTP (EHLO/HELO, STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA,
RSET, NOOP, QUIT) to walk a client up to the fault.  Every command line received is
recorded in ``commands`` (AUTH payloads replaced by "****"), in order, across
connections; ``tls_commands`` holds the same lines with whether the link was
encrypted when each arrived.

Named faults (FAULTS) -> what the server does:

    hangup_after_greeting   greets, then closes
    hangup_at_ehlo          closes when EHLO arrives (no answer)
    hangup_at_mail          closes when MAIL FROM arrives
    hangup_at_rcpt          closes when RCPT TO arrives
    hangup_at_starttls      closes when STARTTLS arrives
    hangup_at_auth          closes when AUTH arrives
    hangup_at_data          closes when the DATA command arrives
    hangup_at_quit          accepts the mail (250 queued), closes when QUIT arrives
    hangup_mid_data         answers DATA with 354, closes after the first message line
    greeting_421            "421 4.3.2 ..." instead of 220, then closes
    rcpt_4xx / rcpt_5xx     450 4.2.1 / 550 5.1.1 at RCPT TO
    data_4xx / data_5xx     451 4.3.0 / 554 5.6.0 after the message (end of DATA)
    data_cmd_5xx            554 5.5.1 to the DATA command itself
    garbage_greeting        "HTTP/1.1 400 Bad Request" instead of a greeting
    garbage_ehlo            a non-SMTP line in answer to EHLO
    long_line               a 9000-byte greeting line
    endless_continuation    answers EHLO with "250-..." lines forever
    silence                 accepts, reads, never says a word
    drip                    sends a never-ending greeting one byte a second
    tls_reset               (for implicit TLS clients) reads the ClientHello, then resets
                            the TCP connection (SO_LINGER 0 -> RST)
    starttls_reset          offers STARTTLS, answers 220, reads the ClientHello, RST
    no_starttls             EHLO does not advertise STARTTLS (AUTH is offered)
    starttls_454            advertises STARTTLS, answers it with 454 4.7.0
    starttls_injection      answers STARTTLS with "220" plus injected reply lines in
                            the same packet, then does a real TLS handshake
    auth_oauth2             AUTH answered "535 5.7.139 ..." (Microsoft 365: OAuth2 needed)
    no_auth                 no AUTH offered (even after STARTTLS)
    relay_denied            "554 5.7.1 ... Relay access denied" at RCPT TO

Options (keyword arguments, FAULTS entries are presets of them):
    tls         "starttls" (offer STARTTLS, default), "implicit" (TLS from the first
                byte with the trustme cert) or "none"
    cert        which TestCA certificate to present (default "valid")
    offer_auth  advertise AUTH PLAIN LOGIN (after TLS when tls != "none"), default True
    replies     {"GREETING"|"EHLO"|"STARTTLS"|"AUTH"|"MAIL"|"RCPT"|"DATA"|"END": line}
                (END = the answer after the final dot)
    hangup_at   a command name (or "GREETING" = right after greeting, "DATA_LINE" = at
                the first message line) at which the server closes without answering
    mode        "smtp" (default), "silence", "drip", "tls_reset", "starttls_reset",
                "endless_continuation", "starttls_injection"
"""

from __future__ import annotations

import itertools
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.servers.certs import TestCA

HOST = "127.0.0.1"
NAME = "fault.test.invalid"
OAUTH2_REPLY = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
                "disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled")
INJECTED = b"250-INJECTED-AFTER-STARTTLS\r\n250 AUTH PLAIN\r\n"

FAULTS: dict[str, dict[str, Any]] = {
    "hangup_after_greeting": {"hangup_at": "GREETING"},
    "hangup_at_ehlo": {"hangup_at": "EHLO"},
    "hangup_at_mail": {"hangup_at": "MAIL"},
    "hangup_at_rcpt": {"hangup_at": "RCPT"},
    "hangup_at_starttls": {"hangup_at": "STARTTLS"},
    "hangup_at_auth": {"hangup_at": "AUTH"},
    "hangup_at_data": {"hangup_at": "DATA"},
    "hangup_mid_data": {"hangup_at": "DATA_LINE"},
    "hangup_at_quit": {"hangup_at": "QUIT"},
    "greeting_421": {"replies": {"GREETING": "421 4.3.2 Service not available, closing"},
                     "hangup_at": "GREETING"},
    "rcpt_4xx": {"replies": {"RCPT": "450 4.2.1 Mailbox temporarily unavailable"}},
    "rcpt_5xx": {"replies": {"RCPT": "550 5.1.1 No such user here"}},
    "data_4xx": {"replies": {"END": "451 4.3.0 Temporary local problem, try later"}},
    "data_5xx": {"replies": {"END": "554 5.6.0 Message content rejected"}},
    "data_cmd_5xx": {"replies": {"DATA": "554 5.5.1 No valid recipients"}},
    "garbage_greeting": {"replies": {"GREETING": "HTTP/1.1 400 Bad Request"}},
    "garbage_ehlo": {"replies": {"EHLO": "hello there, this is not SMTP at all"}},
    "long_line": {"replies": {"GREETING": "220 " + "x" * 9000}},
    "endless_continuation": {"mode": "endless_continuation"},
    "silence": {"mode": "silence"},
    "drip": {"mode": "drip"},
    "tls_reset": {"mode": "tls_reset", "tls": "implicit"},
    "starttls_reset": {"mode": "starttls_reset"},
    "no_starttls": {"tls": "none"},
    "starttls_454": {"replies": {"STARTTLS": "454 4.7.0 TLS not available due to temporary "
                                             "reason"}},
    "starttls_injection": {"mode": "starttls_injection"},
    "auth_oauth2": {"replies": {"AUTH": OAUTH2_REPLY}},
    "no_auth": {"offer_auth": False},
    "relay_denied": {"replies": {"RCPT": "554 5.7.1 <{arg}>: Relay access denied"}},
}

_queue_ids = itertools.count(0xFA017)


class _Closed(Exception):
    """The peer went away, or the server hangs up on purpose."""


@dataclass
class Received:
    line: str
    tls: bool


class _Conn:
    def __init__(self, server: FaultServer, sock: socket.socket) -> None:
        self.server = server
        self.sock: socket.socket = sock
        self.tls = False
        self.buf = b""

    # -- I/O ----------------------------------------------------------------
    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as err:
            raise _Closed from err

    def reply(self, line: str) -> None:
        self.send(line.encode("utf-8", "replace") + b"\r\n")

    def readline(self, limit: int = 1 << 20) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > limit or self.server._stopping.is_set():
                raise _Closed
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError) as err:
                raise _Closed from err
            if not chunk:
                raise _Closed
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def command(self) -> tuple[str, str, str]:
        raw = self.readline().decode("utf-8", "replace")
        verb, _, arg = raw.partition(" ")
        verb = verb.upper()
        shown = f"{verb} {arg.split()[0]} ****" if verb == "AUTH" and arg else raw
        self.server._record(shown if verb == "AUTH" else raw, self.tls)
        return verb, arg, raw

    def secret_line(self) -> None:
        self.readline()
        self.server._record("****", self.tls)

    def start_tls(self) -> None:
        ctx = self.server.ca.server_context(self.server.cert)
        self.sock.settimeout(10)
        try:
            self.sock = ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as err:
            raise _Closed from err
        self.sock.settimeout(0.5)
        self.tls = True
        self.buf = b""

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN."""
        raw = self.sock
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
        raise _Closed

    # -- the dialog -----------------------------------------------------------
    def run(self) -> None:
        srv = self.server
        self.sock.settimeout(0.5)
        if srv.mode == "tls_reset":
            self.readline_raw_hello()
            self.reset()
        if srv.tls == "implicit":
            self.start_tls()
        if srv.mode == "silence":
            while True:
                self.readline()
        if srv.mode == "drip":
            for byte in itertools.cycle(b"220-" + NAME.encode() + b" dripping slowly\r\n"):
                self.send(bytes([byte]))
                if srv._stopping.wait(1.0):
                    raise _Closed
        self.reply(srv.replies.get("GREETING", f"220 {NAME} ESMTP fault server"))
        if srv.hangup_at == "GREETING":
            raise _Closed
        while True:
            verb, arg, _raw = self.command()
            if srv.hangup_at == verb:
                raise _Closed
            handler = getattr(self, f"do_{verb}", None)
            if handler is None:
                self.reply("500 5.5.2 Command not recognized")
            else:
                handler(arg)

    def readline_raw_hello(self) -> None:
        """Wait for the first bytes of a TLS ClientHello (or anything)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.server._stopping.is_set():
            try:
                if self.sock.recv(65536):
                    return
                raise _Closed
            except socket.timeout:
                continue
            except OSError as err:
                raise _Closed from err
        raise _Closed

    def custom(self, key: str, arg: str = "") -> str | None:
        line = self.server.replies.get(key)
        if line is None:
            return None
        address = arg.partition("<")[2].partition(">")[0] if "<" in arg else arg
        return line.replace("{arg}", address)

    def do_EHLO(self, arg: str) -> None:
        srv = self.server
        if srv.mode == "endless_continuation":
            n = 0
            while True:
                self.send(b"250-" + f"FEATURE-{n} ".encode() + b"y" * 60 + b"\r\n")
                n += 1
                if n % 200 == 0 and srv._stopping.wait(0.01):
                    raise _Closed
        custom = self.custom("EHLO")
        if custom is not None:
            self.reply(custom)
            return
        lines = [NAME, "PIPELINING", "SIZE 10240000", "8BITMIME"]
        if srv.tls == "starttls" and not self.tls:
            lines.append("STARTTLS")
        if srv.offer_auth and (self.tls or srv.tls == "none"):
            lines.append("AUTH PLAIN LOGIN")
        for line in lines[:-1]:
            self.reply("250-" + line)
        self.reply("250 " + lines[-1])

    def do_HELO(self, arg: str) -> None:
        self.reply(f"250 {NAME}")

    def do_STARTTLS(self, arg: str) -> None:
        srv = self.server
        custom = self.custom("STARTTLS")
        if custom is not None:
            self.reply(custom)
            return
        if srv.tls != "starttls" or self.tls:
            self.reply("502 5.5.1 STARTTLS not available")
            return
        if srv.mode == "starttls_injection":
            self.send(b"220 2.0.0 Ready to start TLS\r\n" + INJECTED)
        else:
            self.reply("220 2.0.0 Ready to start TLS")
        if srv.mode == "starttls_reset":
            self.readline_raw_hello()
            self.reset()
        self.start_tls()

    def do_AUTH(self, arg: str) -> None:
        srv = self.server
        if not srv.offer_auth:
            self.reply("502 5.5.1 AUTH not available")
            return
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            if len(parts) < 2:
                self.reply("334 ")
                self.secret_line()
        elif mech == "LOGIN":
            if len(parts) < 2:
                self.reply("334 VXNlcm5hbWU6")
                self.secret_line()
            self.reply("334 UGFzc3dvcmQ6")
            self.secret_line()
        else:
            self.reply("504 5.5.4 Unrecognized authentication type")
            return
        self.reply(self.custom("AUTH") or "235 2.7.0 Authentication successful")

    def do_MAIL(self, arg: str) -> None:
        self.reply(self.custom("MAIL", arg) or "250 2.1.0 Ok")

    def do_RCPT(self, arg: str) -> None:
        self.reply(self.custom("RCPT", arg) or "250 2.1.5 Ok")

    def do_DATA(self, arg: str) -> None:
        custom = self.custom("DATA")
        if custom is not None:
            self.reply(custom)
            return
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        while True:
            line = self.readline()
            if self.server.hangup_at == "DATA_LINE":
                raise _Closed
            if line == b".":
                break
        self.server._record("<message>", self.tls)
        self.reply(self.custom("END") or f"250 2.0.0 Ok: queued as {next(_queue_ids):X}")

    def do_RSET(self, arg: str) -> None:
        self.reply("250 2.0.0 Ok")

    def do_NOOP(self, arg: str) -> None:
        self.reply("250 2.0.0 Ok")

    def do_QUIT(self, arg: str) -> None:
        self.reply("221 2.0.0 Bye")
        raise _Closed


class FaultServer:
    def __init__(
        self,
        fault: str | None = None,
        *,
        ca: TestCA | None = None,
        tls: str = "starttls",
        cert: str = "valid",
        offer_auth: bool = True,
        replies: dict[str, str] | None = None,
        hangup_at: str | None = None,
        mode: str = "smtp",
    ) -> None:
        options: dict[str, Any] = {}
        if fault is not None:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; choose one of {sorted(FAULTS)}")
            options = FAULTS[fault]
        self.fault = fault or mode
        self.tls = options.get("tls", tls)
        self.cert = cert
        self.offer_auth = options.get("offer_auth", offer_auth)
        self.replies = {**options.get("replies", {}), **(replies or {})}
        self.hangup_at = options.get("hangup_at", hangup_at)
        self.mode = options.get("mode", mode)
        if self.tls not in ("starttls", "implicit", "none"):
            raise ValueError(f"tls must be starttls, implicit or none, not {self.tls!r}")
        if self.tls != "none" and ca is None:
            raise ValueError("a TestCA is needed for TLS")
        self.ca = ca  # type: ignore[assignment]
        self.host = HOST
        self.port = 0
        self.received: list[Received] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []

    @property
    def commands(self) -> list[str]:
        """Every command line received, in order (AUTH payloads as ****)."""
        with self._lock:
            return [r.line for r in self.received]

    def verbs(self) -> list[str]:
        """The command names received, e.g. ["EHLO", "STARTTLS", "QUIT"]."""
        return [c.split(" ", 1)[0].upper() for c in self.commands]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file) if self.ca is not None else ""

    def _record(self, line: str, tls: bool) -> None:
        with self._lock:
            self.received.append(Received(line, tls))

    def start(self) -> FaultServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, name=f"fault-{self.fault}",
                                  daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        conn = _Conn(self, sock)
        try:
            conn.run()
        except _Closed:
            pass
        except Exception:  # a broken client must not kill the test run
            pass
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FaultServer({self.fault!r}, tls={self.tls!r}, {self.address})"
