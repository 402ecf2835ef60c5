"""A scripted SMTP server that takes a bare LF as a line end (issue 12).

Real servers differ in what they accept as the end of a line; the SMTP
smuggling attacks of 2023 use exactly that: a client that lets ``<LF>.<CR><LF>``
into DATA ends the mail early for a server that ends lines at any LF, and
the rest of the data runs as commands -- a second, spoofed transaction on the
same (logged-in) session.  No real server on this machine behaves like that
on demand (Postfix and Exim refuse or normalise bare LF by default), so this
is a fake for that one fault: every line ends at LF, a CR before it is
dropped, and every command is answered the way a permissive server would.

    server = LenientSmtpServer()        # listening on 127.0.0.1:server.port
    ... send ...
    server.sessions                     # one list of Transaction per connection
    server.close()

It serves any number of connections, one after the other, until closed.
"""

from __future__ import annotations

import socket
import threading


class Transaction:
    """One MAIL FROM .. DATA .. "." the server accepted."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.recipients: list[str] = []
        self.lines: list[bytes] = []   # the data lines, dot-unstuffed, without line ends

    @property
    def data(self) -> bytes:
        return b"\r\n".join(self.lines) + b"\r\n"

    def header_names(self) -> list[str]:
        """The field names of the header block, lower case, in order."""
        names = []
        for line in self.lines:
            if not line:
                break
            if line[:1] in (b" ", b"\t"):
                continue
            names.append(line.split(b":", 1)[0].decode("latin-1").lower())
        return names


class LenientSmtpServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.sessions: list[list[Transaction]] = []
        self.commands: list[list[bytes]] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def settings_values(self, **extra: object) -> dict[str, object]:
        values: dict[str, object] = {
            "mail.relay": "external", "mail.smtp.server": self.address,
            "mail.smtp.security": "none", "mail.smtp.authentication": False,
            "mail.smtp.timeout": 10}
        values.update(extra)
        return values

    def transactions(self) -> list[Transaction]:
        with self._lock:
            return [t for session in self.sessions for t in session]

    def reset(self) -> None:
        with self._lock:
            self.sessions.clear()
            self.commands.clear()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:  # closed
                return
            with conn:
                conn.settimeout(10)
                try:
                    self._session(conn)
                except OSError:
                    pass

    def _session(self, conn: socket.socket) -> None:
        transactions: list[Transaction] = []
        commands: list[bytes] = []
        with self._lock:
            self.sessions.append(transactions)
            self.commands.append(commands)
        buf = b""

        def lines():  # every LF ends a line; a CR before it is dropped
            nonlocal buf
            while True:
                while b"\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                line, buf = buf.split(b"\n", 1)
                yield line.removesuffix(b"\r")

        conn.sendall(b"220 lenient.test ESMTP\r\n")
        current: Transaction | None = None
        stream = lines()
        for line in stream:
            commands.append(line)
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-lenient.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n")
            elif verb == b"MAIL":
                current = Transaction(line[10:].decode("utf-8", "replace"))
                conn.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                if current is not None:
                    current.recipients.append(line[8:].decode("utf-8", "replace"))
                conn.sendall(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                for data_line in stream:
                    if data_line == b".":
                        break
                    if current is not None:
                        current.lines.append(data_line[1:] if data_line.startswith(b".")
                                             else data_line)
                if current is not None:
                    with self._lock:
                        transactions.append(current)
                current = None
                conn.sendall(b"250 2.0.0 Ok: queued as LENIENT\r\n")
            elif verb == b"RSET":
                current = None
                conn.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 Ok\r\n")

    def close(self) -> None:
        self.sock.close()
        try:  # wake the accept() on some platforms
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            pass
        self.thread.join(5)
