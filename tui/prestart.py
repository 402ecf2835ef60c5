"""Pre-started console sessions: a server that has Textual and the screens
imported forks one child per ``mailconsole`` start (issue 6; docs/console.md).

Importing Textual and the screens costs 0.3-0.4 s of a cold start.  The server
(``mailconsole console-server --socket PATH``, or ``python -m tui.prestart``;
run by deploy/systemd/mailconsole-console.service) pays it once, then waits on a unix socket
(directory 0700, socket 0600) without threads or an event loop.  The client is
:func:`client`, called first thing by ``tui.app.run``:

1. the socket (``$MAILCONSOLE_CONSOLE_SOCKET``, else :data:`DEFAULT_SOCKET`)
   must be a socket owned by our uid, and the process listening on it too
   (SO_PEERCRED); the server checks the client's uid the same way;
2. the client sends its fds 0/1/2 (SCM_RIGHTS), ``run``'s arguments, its
   environment, cwd, umask, the encodings of its standard streams and a stamp
   of the code (Python, the venv, size and mtime of every file of config/,
   mailer/, mailconsole/, tui/, Textual's and Rich's versions);
3. a stale stamp: the server answers "stale" and, if its own code on disk
   changed, exits (its unit starts a fresh one); otherwise it forks; the child
   takes over the fds, environment, cwd and umask, calls ``setsid()``, resets
   the signal handlers and answers "ready PID"; the client answers "go" within
   :data:`TIMEOUT` seconds (else the child exits and the client starts
   normally: never two screens on one terminal);
4. the child runs ``tui.app.run`` exactly as a normal start does (console
   layer, mode detection, frame cache) and sends "exit N"; the client exits N.

The child has the terminal but it is not its controlling terminal (the
client's session owns it), so the kernel's SIGWINCH, SIGHUP, SIGINT and
SIGTERM reach the client: it forwards them over the socket and the child
raises them on itself.  When the client goes away (a dropped SSH connection,
``kill -9``) the child sees the socket's end and raises SIGHUP on itself, as
the kernel would have done; the settings store is atomic, so nothing half
written remains.

Anything wrong on the client's side -- no socket, another uid, refused, stale,
no answer in time -- means a normal start, silently (one line on stderr with
``MAILCONSOLE_DEBUG=1``).  The client imports only os, socket, struct, json
and signal before the hand-over: no Textual, no settings service.
"""

from __future__ import annotations

import os
import sys

from tui.codestamp import code_stamp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator
    from typing import Any

DEFAULT_SOCKET = "/run/mailconsole/console.sock"  # RuntimeDirectory= of the unit
TIMEOUT = 0.2  # seconds the client waits for the server before starting normally
MAGIC = b"MCP1"
_HEADER = "!4sI"  # struct format: MAGIC, length of the JSON request
_PEERCRED = "3i"  # struct ucred: pid, uid, gid
FORWARDED = ("SIGWINCH", "SIGHUP", "SIGINT", "SIGTERM")  # client -> child
EXIT_STALE = 75  # EX_TEMPFAIL: the server's code changed on disk; its unit restarts it

_in_child = False  # set in a forked session: run() must not hand over again


def _debug(message: str) -> None:
    if os.environ.get("MAILCONSOLE_DEBUG") == "1":
        print(f"mailconsole: pre-started console: {message}", file=sys.stderr, flush=True)


def socket_path(environ: Any = None) -> str | None:
    """``$MAILCONSOLE_CONSOLE_SOCKET`` ("" or "off": none), else DEFAULT_SOCKET."""
    env = os.environ if environ is None else environ
    path = env.get("MAILCONSOLE_CONSOLE_SOCKET")
    if path is None:
        return DEFAULT_SOCKET
    return None if path in ("", "off") else path


# --- the client (tui.app.run) --------------------------------------------------


def _peer_uid(sock: socket.socket) -> int:
    import socket
    import struct

    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(_PEERCRED))
    return int(struct.unpack(_PEERCRED, data)[1])


def _std_stream(stream: Any) -> list[str | None]:
    return [getattr(stream, "encoding", None), getattr(stream, "errors", None)]


def _read_line(sock: socket.socket, buffer: bytearray) -> bytes:
    """One line (without the newline) from ``sock``; b"" at the end of the stream.
    What follows the line stays in ``buffer``."""
    while b"\n" not in buffer:
        chunk = sock.recv(256)
        if not chunk:
            return b""
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line


def _lines(sock: socket.socket, buffer: bytearray) -> Iterator[bytes]:
    """The lines from ``sock`` until its end: end of stream, or a socket error
    (the other side is gone)."""
    while True:
        try:
            line = _read_line(sock, buffer)
        except OSError:
            return
        if not line:
            return
        yield line


def client(config_path: str, mode: str | None, lang: str | None) -> int | None:
    """Run this session in a pre-started process; its exit code, or None when
    there is none to use (then the caller starts normally)."""
    if _in_child:
        return None
    path = socket_path()
    if path is None:
        return None
    try:
        if not os.isatty(0):
            return None
        import stat

        st = os.lstat(path)
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
            _debug(f"{path}: not a socket of uid {os.getuid()}")
            return None
    except OSError as exc:
        _debug(f"{path}: {exc.strerror}")
        return None
    import json
    import socket
    import struct
    import time

    deadline = time.monotonic() + TIMEOUT
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        if _peer_uid(sock) != os.getuid():
            _debug(f"{path}: the server runs as another user")
            sock.close()
            return None
        request = {
            "config": str(config_path), "mode": mode, "lang": lang,
            "argv": list(sys.argv), "environ": dict(os.environ), "cwd": os.getcwd(),
            "umask": _umask(), "stamp": code_stamp(),
            "stdio": [_std_stream(s) for s in (sys.stdin, sys.stdout, sys.stderr)],
        }
        data = json.dumps(request).encode()
        message = struct.pack(_HEADER, MAGIC, len(data)) + data
        sent = socket.send_fds(sock, [message], [0, 1, 2])
        if sent < len(message):
            sock.sendall(message[sent:])
        buffer = bytearray()
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        reply = _read_line(sock, buffer)
        if not reply.startswith(b"ready "):
            _debug(f"{path}: the server answered {reply.decode('ascii', 'replace')!r}")
            sock.close()
            return None
        sock.settimeout(None)
        sock.sendall(b"go\n")  # from here on the child has the terminal
    except (OSError, ValueError) as exc:  # incl. the timeout
        _debug(f"{path}: {exc}")
        sock.close()
        return None
    return _session(sock, buffer)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _session(sock: socket.socket, buffer: bytearray) -> int:
    """Forward signals to the child until it reports its exit code."""
    import signal

    received: list[int] = []

    def forward(signum: int, frame: Any) -> None:
        received.append(signum)
        try:
            sock.sendall(b"sig %d\n" % signum)
        except OSError:
            pass

    numbers = [getattr(signal, name) for name in FORWARDED]
    previous = {signum: signal.signal(signum, forward) for signum in numbers}
    try:
        for line in _lines(sock, buffer):
            if line.startswith(b"exit "):
                return int(line[5:])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sock.close()
    # The child ended without an exit code: killed by a signal.  If it was one we
    # forwarded, end the same way (a normal start would have died of it).
    fatal = [s for s in received if s != signal.SIGWINCH]
    if fatal:
        signal.signal(fatal[-1], signal.SIG_DFL)
        os.kill(os.getpid(), fatal[-1])
    _debug("the session ended without an exit code")
    return 1


# --- the server -------------------------------------------------------------------


def preload() -> None:
    """Import what a session needs: Textual, the screens, the console layer, and
    what a session imports later on its way to the first frame (measured: the
    difference of sys.modules before and after a session)."""
    import textual.app  # noqa: F401
    import textual.drivers.headless_driver  # noqa: F401
    import textual.drivers.linux_driver  # noqa: F401
    import textual.layouts.factory  # noqa: F401
    import textual.layouts.horizontal  # noqa: F401
    import textual.layouts.stream  # noqa: F401
    import textual.pilot  # noqa: F401
    import textual.scrollbar  # noqa: F401

    import config.errors  # noqa: F401
    import config.service  # noqa: F401
    import mailconsole.cli  # noqa: F401  (the child's error handling)
    import mailer  # noqa: F401
    import mailer.diagnosis  # noqa: F401
    import mailer.errors  # noqa: F401
    import mailer.report  # noqa: F401
    import tui.app  # noqa: F401
    import tui.application  # noqa: F401
    import tui.console  # noqa: F401
    import tui.console_ascii  # noqa: F401
    import tui.console_driver  # noqa: F401
    import tui.console_wire  # noqa: F401
    import tui.prepaint  # noqa: F401

    try:  # Rich's cell-width table (a 100 KB module; rich mode loads it at once)
        from rich._unicode_data import load

        load("latest")  # not load(): that caches the choice $UNICODE_VERSION makes here
    except (ImportError, ValueError):
        pass


def _cache_css_tokens() -> None:
    """Tokenize the CSS a session parses once, here, for every child.

    Textual parses each CSS source of a new App again (~0.03 s of a session's
    start); about half of that is tokenizing, which depends on the text and its
    location only (the theme's variables are substituted after it).  Textual's
    parser is given a tokenizer that keeps the tokens (immutable tuples) of every
    source by (text, location), filled here with the DEFAULT_CSS of every widget
    class imported and the .tcss files of tui/.  A source not seen here (a changed
    file, another text) is tokenized as before; an error is raised as before (and
    not kept)."""
    from inspect import getfile

    from textual.css import parse as css_parse
    from textual.dom import DOMNode

    original = getattr(css_parse, "tokenize")  # noqa: B009 — not exported (mypy)
    cache: dict[tuple[str, Any], tuple[Any, ...]] = {}

    def tokenize(css: str, read_from: Any) -> Any:
        key = (css, read_from)
        tokens = cache.get(key)
        if tokens is None:
            return original(css, read_from)
        return iter(tokens)

    def keep(css: str, read_from: Any) -> None:
        try:
            cache[(css, read_from)] = tuple(original(css, read_from))
        except Exception:  # noqa: BLE001 — Textual reports it when it parses
            pass

    classes: list[type] = [DOMNode]
    seen: set[type] = set()
    while classes:
        cls = classes.pop()
        if cls in seen:
            continue
        seen.add(cls)
        classes.extend(cls.__subclasses__())
        css = cls.__dict__.get("DEFAULT_CSS", "")
        if css:
            try:
                location = (getfile(cls), f"{cls.__name__}.DEFAULT_CSS")
            except (TypeError, OSError):
                location = ("", f"{cls.__name__}.DEFAULT_CSS")
            keep(css, location)
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.endswith(".tcss"):
            path = os.path.join(here, name)
            with open(path, encoding="utf-8") as fh:
                keep(fh.read(), (path, ""))
    setattr(css_parse, "tokenize", tokenize)  # noqa: B010


def _listen(path: str) -> socket.socket:
    import socket

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    st = os.stat(directory)
    if st.st_uid != os.getuid():
        raise SystemExit(f"mailconsole console server: {directory} belongs to another user")
    if st.st_mode & 0o077:
        os.chmod(directory, 0o700)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request and the three fds; raises ValueError on anything malformed."""
    import json
    import socket
    import struct

    msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    try:
        header = struct.calcsize(_HEADER)
        if len(fds) != 3 or len(msg) < header:
            raise ValueError("no request")
        magic, size = struct.unpack_from(_HEADER, msg)
        if magic != MAGIC or size > 16 << 20:
            raise ValueError("not a mailconsole client")
        data = bytearray(msg[header:])
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ValueError("short request")
            data += chunk
        request = json.loads(data)
        if not isinstance(request, dict):
            raise ValueError("bad request")
        return request, fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def serve(path: str) -> int:
    """Pre-load, listen on ``path``, fork one child per client; returns only
    when the code on disk changed (EXIT_STALE) or on SIGTERM/SIGINT (0)."""
    import gc
    import signal

    stamp = code_stamp()
    preload()
    _cache_css_tokens()
    gc.collect()
    gc.freeze()  # the sessions' collections leave the shared, imported objects alone
    if "threading" in sys.modules:  # fork() with other threads running is unsafe
        import threading

        if threading.active_count() != 1:
            raise SystemExit("mailconsole console server: a thread was started at import")
    listener = _listen(path)
    bound = os.stat(path).st_ino
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the sessions

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            conn, _addr = listener.accept()
            with conn:
                if _peer_uid(conn) != os.getuid():
                    continue  # another user: not even an answer
                conn.settimeout(2.0)
                try:
                    request, fds = _receive(conn)
                except (OSError, ValueError) as exc:
                    print(f"mailconsole console server: a bad request: {exc}",
                          file=sys.stderr, flush=True)
                    continue
                try:
                    if request.get("stamp") != stamp:
                        conn.sendall(b"stale\n")
                        if code_stamp() != stamp:
                            return EXIT_STALE
                        continue
                    sys.stdout.flush()
                    sys.stderr.flush()
                    if os.fork() == 0:
                        try:
                            listener.close()
                            _child(conn, fds, request)
                        except BaseException:
                            import traceback

                            traceback.print_exc()
                        finally:
                            os._exit(70)  # never back into the server's loop
                finally:
                    for fd in fds:
                        os.close(fd)
    finally:
        listener.close()
        try:
            if os.stat(path).st_ino == bound:  # not a newer server's socket
                os.unlink(path)
        except OSError:
            pass


# --- the child ------------------------------------------------------------------


def _reset_signals() -> None:
    import signal

    for signum in signal.valid_signals():
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    # what a fresh interpreter has
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _take_over(fds: list[int], request: dict[str, Any]) -> None:
    """Become the client's process: its terminal, environment, cwd and umask."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["environ"].items()})
    try:
        os.chdir(request["cwd"])
    except OSError:
        os.chdir("/")
    os.umask(int(request["umask"]))
    sys.argv = [str(a) for a in request["argv"]]
    streams = []
    for fd, (encoding, errors) in enumerate(request["stdio"]):
        tty = os.isatty(fd)
        stream = open(fd, "r" if fd == 0 else "w", buffering=1 if tty and fd else -1,  # noqa: SIM115
                      encoding=encoding or "utf-8", errors=errors or "strict", closefd=False)
        streams.append(stream)
    for index, name in enumerate(("stdin", "stdout", "stderr")):
        setattr(sys, name, streams[index])
        setattr(sys, f"__{name}__", streams[index])  # Textual uses these
    # No locale.setlocale (tests/i18n: nothing here calls it): the streams above
    # carry the client's encodings, and nothing the session runs reads LC_CTYPE.
    _reload_textual_constants()


def _reload_textual_constants() -> None:
    """Textual reads its environment variables at import: read them again (and
    the three modules that copied a constant)."""
    import importlib

    constants = importlib.reload(sys.modules["textual.constants"])
    for module, name in (("textual._styles_cache", "DEBUG"), ("textual.filter", "DIM_FACTOR"),
                         ("textual.message_pump", "SLOW_THRESHOLD")):
        target = sys.modules.get(module)
        if target is not None and hasattr(target, name):
            setattr(target, name, getattr(constants, name))
    app_module = sys.modules.get("textual.app")
    if app_module is not None:
        app_module.App.theme._default = constants.DEFAULT_THEME


def _watch(conn: socket.socket, buffer: bytearray) -> None:
    """The child's thread: forwarded signals; the client's end -> SIGHUP."""
    import signal

    allowed = {getattr(signal, name) for name in FORWARDED}
    for line in _lines(conn, buffer):
        if line.startswith(b"sig "):
            try:
                signum = int(line[4:])
            except ValueError:
                continue
            if signum in allowed:
                os.kill(os.getpid(), signum)
    os.kill(os.getpid(), signal.SIGHUP)  # the terminal's session is gone


def _child(conn: socket.socket, fds: list[int], request: dict[str, Any]) -> None:
    global _in_child
    _in_child = True
    os.setsid()
    _reset_signals()
    _take_over(fds, request)
    fds.clear()  # closed: the server's finally must not close them again
    conn.settimeout(TIMEOUT * 10)
    conn.sendall(b"ready %d\n" % os.getpid())
    buffer = bytearray()
    try:
        if _read_line(conn, buffer) != b"go":
            os._exit(1)
    except OSError:
        os._exit(1)  # the client gave up and starts normally
    conn.settimeout(None)
    import threading

    threading.Thread(target=_watch, args=(conn, buffer), name="mailconsole-client",
                     daemon=True).start()
    code = 70
    try:
        from tui.app import run

        code = run(request["config"], mode=request.get("mode"), lang=request.get("lang"))
    except BaseException as exc:  # noqa: B036 — as mailconsole.cli.main does
        from mailconsole.cli import handle_exception

        code = handle_exception(exc)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        try:
            conn.sendall(b"exit %d\n" % code)
        except OSError:
            pass
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="mailconsole console-server",
        description="Pre-started mailconsole sessions: import Textual and the screens "
                    "once, then fork one process per mailconsole start (docs/console.md).")
    parser.add_argument("--socket", metavar="PATH", default=None,
                        help=f"unix socket (default: $MAILCONSOLE_CONSOLE_SOCKET, "
                             f"else {DEFAULT_SOCKET})")
    args = parser.parse_args(argv)
    path = args.socket or socket_path() or DEFAULT_SOCKET
    return serve(path)


if __name__ == "__main__":
    # the module as tui.prestart (not __main__), so that the child's _in_child is
    # the flag tui.app.run sees
    from tui import prestart as _module

    raise SystemExit(_module.main())
