"""The pre-started console process (tui/prestart.py): a real server on a
temporary socket, real clients (``python -m mailconsole``) on an 80x24
pseudo-terminal.

Whether a session ran in a forked child of the server is read from /proc (a
process whose parent is the server), never from timings.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from config.service import SettingsService
from tests.console.conftest import REPO, bench, screen_of
from tui import codestamp, prestart

PYTHON = bench.PYTHON
CTRL_S = b"\x13"
CTRL_Q = b"\x11"


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Server:
    """``mailconsole console-server --socket PATH`` from ``tree`` (as ``user``)."""

    def __init__(self, tree: Path = REPO, user: int | None = None,
                 command: tuple[str, ...] = ("-m", "mailconsole", "console-server")) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mcp-"))  # short: sun_path is 108 bytes
        self.socket = self.dir / "run" / "console.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCONSOLE")}
        env["PYTHONPATH"] = str(tree)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        preexec = None
        if user is not None:
            os.chown(self.dir, user, user)

            def preexec() -> None:
                os.setgroups([])
                os.setgid(user)
                os.setuid(user)

        self.log = open(self.dir / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(PYTHON), *command, "--socket", str(self.socket)],
            cwd=str(tree), env=env, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=preexec)
        assert _wait(self.socket.exists, 30), self.output()

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def server():
    started = []

    def start(**kwargs) -> Server:
        s = Server(**kwargs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def _client(config: Path, sock: Path | str, term: str = "vt100", mode: str | None = None,
            rows: int = 24, cols: int = 80):
    argv = [str(PYTHON), "-m", "mailconsole", "--config", str(config)]
    if mode:
        argv.append(f"--{mode}")
    env = bench.app_env(term, {"MAILCONSOLE_CONSOLE_SOCKET": str(sock)})
    return bench.PtySession(argv, env, rows=rows, cols=cols, cwd=str(REPO))


def _painted(session, mark: bytes = b"Sender address", timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and mark not in session.output:
        session.read(0.05)
        if session.poll() is not None:
            session.read(0.05)
            break
    return mark in session.output


def _old_config(tmp_path: Path) -> Path:
    config = tmp_path / "mail.toml"
    service = SettingsService(config)
    service.save(service.load().with_values({"mail.sender": "old@example.com"}))
    return config


# --- the pre-started path ---------------------------------------------------------


def test_a_prestarted_session_edits_saves_and_returns_the_exit_code(server, tmp_path):
    srv = server()
    config = _old_config(tmp_path)
    session = _client(config, srv.socket)
    try:
        assert _painted(session), bytes(session.output)[-500:]
        children = _children(srv.proc.pid)
        assert len(children) == 1, "the session runs in a child of the server"
        rows = screen_of(bytes(session.output), 80, 24)
        assert any(row.startswith(" Sender address") and "old@example.com" in row
                   for row in rows), rows
        session.send(bench.TAB)  # to the sender (its value selected)
        session.settle(quiet=0.3)
        session.send(b"new@example.com")
        session.settle(quiet=0.3)
        session.send(CTRL_S)  # save: the diff, then confirm
        session.settle(quiet=0.3)
        assert b"new@example.com" in session.output
        session.send(b"y")
        assert _wait(lambda: "new@example.com" in config.read_text(), 10), \
            screen_of(bytes(session.output), 80, 24)
        session.settle(quiet=0.3)
        session.send(CTRL_Q)
        assert session.wait(10) == 0
        assert _wait(lambda: not _alive(children[0]), 10)
    finally:
        session.close()
    text = config.read_text()
    assert 'sender = "new@example.com"' in text
    assert "# Sender (From) address" in text  # the same store: comments kept


def test_the_exit_code_of_a_failed_start_comes_back(server, tmp_path):
    srv = server()
    config = tmp_path / "mail.toml"
    config.write_text("mail = [\n")  # not TOML: exit 3, one line on stderr
    session = _client(config, srv.socket)
    try:
        assert session.wait(30) == 3
        session.settle(quiet=0.2, timeout=2, need_bytes=False)
        assert b"cannot open the settings" in session.output
    finally:
        session.close()


def test_a_resize_reaches_the_prestarted_session(server, tmp_path):
    srv = server()
    session = _client(_old_config(tmp_path), srv.socket)
    try:
        assert _painted(session)
        assert _children(srv.proc.pid)
        session.settle(quiet=0.5)
        assert not any(r.strip() for r in screen_of(bytes(session.output), 100, 30)[24:])
        start = len(session.output)
        bench.set_winsize(session.master, 30, 100)  # the kernel signals the client only
        session.settle(quiet=0.5)
        assert len(session.output) > start, "no repaint after the resize"
        rows = screen_of(bytes(session.output), 100, 30)
        assert any(r.strip() for r in rows[24:]), rows  # the frame is 30 rows now
        session.send(CTRL_Q)
        assert session.wait(10) == 0
    finally:
        session.close()


def test_when_the_client_dies_the_session_ends_and_the_file_is_intact(server, tmp_path):
    srv = server()
    config = _old_config(tmp_path)
    before = config.read_bytes()
    session = _client(config, srv.socket)
    try:
        assert _painted(session)
        [child] = _children(srv.proc.pid)
        session.send(bench.TAB)
        session.settle(quiet=0.3)
        session.send(b"dropped@example.com")
        session.settle(quiet=0.3)
        assert b"dropped@example.com" in session.output
        session.proc.kill()  # SIGKILL: no forwarding, only the socket's end
        assert _wait(lambda: not _alive(child), 10), "the session outlived its client"
    finally:
        session.close()
    assert config.read_bytes() == before
    assert not list(config.parent.glob("*.tmp*")), "no half-written temp file left"
    assert srv.proc.poll() is None, "the server goes on serving"


def test_a_forwarded_sighup_ends_the_session_like_a_hangup(server, tmp_path):
    srv = server()
    config = _old_config(tmp_path)
    session = _client(config, srv.socket)
    try:
        assert _painted(session)
        [child] = _children(srv.proc.pid)
        session.proc.send_signal(signal.SIGHUP)
        assert session.wait(10) == -signal.SIGHUP  # the client dies of it, as before
        assert _wait(lambda: not _alive(child), 10)
    finally:
        session.close()


@pytest.mark.parametrize(("term", "mode"), [("vt100", None), ("xterm-256color", "rich")])
def test_a_prestarted_session_draws_what_a_normal_start_draws(server, tmp_path, term, mode):
    """The same first screen, cell for cell, with and without the server (its
    pre-imported modules and pre-tokenized CSS change nothing on the screen)."""
    srv = server()
    config = _old_config(tmp_path)
    screens = []
    for sock in (srv.socket, "off"):
        session = _client(config, sock, term=term, mode=mode)
        try:
            assert _painted(session)
            assert bool(_children(srv.proc.pid)) == (sock != "off")
            session.settle(quiet=0.8)
            screens.append(screen_of(bytes(session.output), 80, 24))
            session.send(CTRL_Q)
            assert session.wait(10) == 0
        finally:
            session.close()
    assert screens[0] == screens[1]


def test_basic_mode_over_the_prestarted_path_is_ascii_only(server, tmp_path):
    srv = server()
    session = _client(_old_config(tmp_path), srv.socket, term="vt100")
    try:
        assert _painted(session)
        assert _children(srv.proc.pid)
        session.settle(quiet=0.5)
        # the help screen, closed; the sender made invalid (an error line); quit -> the
        # unsaved-changes dialog; discard
        for key in (b"\x07", b"q", bench.TAB, b"x", CTRL_Q):
            session.send(key)
            session.settle(quiet=0.4)
        session.send(b"d")
        assert session.wait(10) == 0
    finally:
        session.close()
    data = bytes(session.output)
    assert b"Sender address" in data
    assert max(data) < 0x80, [hex(b) for b in data if b >= 0x80][:10]


# --- every other case: a normal start -----------------------------------------------


def _normal_start(session, srv: Server | None) -> None:
    try:
        assert _painted(session), bytes(session.output)[-500:]
        if srv is not None:
            assert not _children(srv.proc.pid), "no child may have been forked"
        session.send(CTRL_Q)
        assert session.wait(10) == 0
    finally:
        session.close()


def test_no_server_means_a_normal_start(tmp_path):
    _normal_start(_client(_old_config(tmp_path), tmp_path / "none.sock"), None)


def test_a_socket_that_is_not_ours_or_not_a_socket_means_a_normal_start(tmp_path):
    plain = tmp_path / "file.sock"
    plain.write_text("")
    _normal_start(_client(_old_config(tmp_path), plain), None)


def test_stale_code_means_a_normal_start_and_a_changed_server_exits(server, tmp_path):
    copy = tmp_path / "tree"
    for package in codestamp.PACKAGES:
        shutil.copytree(REPO / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    srv = server(tree=copy)
    config = _old_config(tmp_path)
    # 1. the client's code (REPO) is not the server's (the copy): refused, the
    # server's own code did not change, it goes on
    _normal_start(_client(config, srv.socket), srv)
    assert srv.proc.poll() is None
    # 2. the server's code changed on disk: it refuses and exits for its unit to restart it
    (copy / "tui" / "widgets.py").write_text((copy / "tui" / "widgets.py").read_text()
                                             + "\n# changed\n")
    _normal_start(_client(config, srv.socket), srv)
    assert srv.proc.wait(10) == prestart.EXIT_STALE
    assert not srv.socket.exists(), "the socket goes with the server"


NOBODY = 65534
SYSTEM_PYTHON = Path("/usr/bin/python3")  # the venv's interpreter may be unreadable to nobody

FAKE_SERVER = """
import os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
sock.listen(4)
print("listening", flush=True)
while True:
    conn, _ = sock.accept()
    conn.sendall(b"ready 1\\n")  # would take any session
    conn.close()
"""

FOREIGN_CLIENT = """
import json, socket, struct, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(5)
sock.connect(sys.argv[1])
data = json.dumps({"stamp": sys.argv[2]}).encode()
try:
    socket.send_fds(sock, [struct.pack("!4sI", b"MCP1", len(data)) + data], [0, 1, 2])
    print("answer:", repr(sock.recv(100)), flush=True)
except (ConnectionResetError, BrokenPipeError):  # closed with our request unread
    print("answer: refused", flush=True)
"""


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


needs_root = pytest.mark.skipif(os.getuid() != 0 or not SYSTEM_PYTHON.exists(),
                                reason="needs root and /usr/bin/python3 (uid 65534 helpers)")


@needs_root
def test_a_listener_of_another_user_is_never_handed_the_terminal(tmp_path):
    """A socket file that is ours, but the process behind it runs as another user
    (SO_PEERCRED): the client does not send its terminal, it starts normally."""
    top = Path(tempfile.mkdtemp(prefix="mcp-"))  # tmp_path's parents are 0700
    os.chmod(top, 0o755)
    run = top / "run"
    run.mkdir()
    os.chown(run, NOBODY, NOBODY)
    path = run / "console.sock"
    fake = subprocess.Popen([str(SYSTEM_PYTHON), "-c", FAKE_SERVER, str(path)],
                            stdout=subprocess.PIPE, preexec_fn=_as_nobody, cwd="/")
    try:
        assert fake.stdout is not None and fake.stdout.readline() == b"listening\n"
        config = _old_config(tmp_path)
        _normal_start(_client(config, path), None)  # owned by 65534: not used
        os.chown(path, 0, 0)  # the file looks like ours now; the peer is still 65534
        _normal_start(_client(config, path), None)
    finally:
        fake.kill()
        fake.wait()
        shutil.rmtree(top, ignore_errors=True)


@needs_root
def test_the_server_answers_nothing_to_another_user(server):
    srv = server()
    os.chmod(srv.dir, 0o755)  # let the other user reach the socket at all
    os.chmod(srv.socket.parent, 0o755)
    os.chmod(srv.socket, 0o666)
    out = subprocess.run([str(SYSTEM_PYTHON), "-c", FOREIGN_CLIENT, str(srv.socket),
                          prestart.code_stamp()], capture_output=True, text=True,
                         preexec_fn=_as_nobody, cwd="/", timeout=30)
    assert out.stdout.strip() in ("answer: b''", "answer: refused"), out.stdout + out.stderr
    assert not _children(srv.proc.pid)
    assert srv.proc.poll() is None


def test_the_socket_and_its_directory_are_private(server):
    srv = server(command=("-m", "tui.prestart"))  # the module's own entry point too
    assert srv.socket.stat().st_mode & 0o777 == 0o600
    assert srv.socket.parent.stat().st_mode & 0o777 == 0o700


CLIENT_IMPORTS = """
import sys
from tui import codestamp, prestart
code = prestart.client(sys.argv[1], None, None)
bad = sorted(m for m in sys.modules if m.startswith(("textual", "rich", "config.service")))
print("client:", code, bad)
"""


def test_the_client_imports_neither_textual_nor_the_settings_service(server, tmp_path):
    """The client hands over a whole session without importing Textual, Rich or
    the settings service."""
    srv = server()
    env = bench.app_env("vt100", {"MAILCONSOLE_CONSOLE_SOCKET": str(srv.socket)})
    session = bench.PtySession([str(PYTHON), "-c", CLIENT_IMPORTS,
                                str(_old_config(tmp_path))], env, cwd=str(REPO))
    try:
        assert _painted(session)
        assert _children(srv.proc.pid)
        session.send(CTRL_Q)
        assert session.wait(10) == 0
        session.settle(quiet=0.2, timeout=2, need_bytes=False)
    finally:
        session.close()
    assert b"client: 0 []" in session.output, bytes(session.output)[-300:]


def test_socket_path_default_and_off():
    assert prestart.socket_path({}) == prestart.DEFAULT_SOCKET
    assert prestart.socket_path({"MAILCONSOLE_CONSOLE_SOCKET": "/x/y.sock"}) == "/x/y.sock"
    assert prestart.socket_path({"MAILCONSOLE_CONSOLE_SOCKET": "off"}) is None
    assert prestart.socket_path({"MAILCONSOLE_CONSOLE_SOCKET": ""}) is None


TOKENS_CHECK = """
from textual.css import parse as P
from textual.css.tokenizer import TokenError
original = P.tokenize
from tui import codestamp, prestart
prestart.preload()
prestart._cache_css_tokens()
cached = P.tokenize
assert cached is not original
cache = [c.cell_contents for c in cached.__closure__ if isinstance(c.cell_contents, dict)][0]
assert len(cache) > 20, len(cache)
for (css, where), tokens in cache.items():
    assert list(cached(css, where)) == list(original(css, where)) == list(tokens)
new = ("Label { color: red; }", ("x.tcss", ""))
assert list(cached(*new)) == list(original(*new)) and new not in cache
try:
    list(cached("Label { color: red; } }}} $", ("bad.tcss", "")))
except TokenError:
    print("ok")
"""


def test_the_servers_css_tokens_are_textuals():
    """In a fresh interpreter (the patch is process-wide): every pre-tokenized source
    gives exactly Textual's tokens; other sources and errors go through as before."""
    out = subprocess.run([str(PYTHON), "-c", TOKENS_CHECK], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr
