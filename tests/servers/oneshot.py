"""A scripted peer for what no real server does on demand: a loopback TCP
listener on a free port whose thread serves ONE connection with
``handle(conn)`` (the subclass's script), then ends.

    class Echo(OneShotServer):
        def handle(self, conn): ...
    server = Echo()            # listening; server.port
    ...
    server.close()             # stops listening, waits for the thread
"""

from __future__ import annotations

import socket
import threading


class OneShotServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _addr = self.sock.accept()
        except OSError:  # closed before a client came
            return
        with conn:
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)
