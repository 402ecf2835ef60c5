"""Hostile values never reach the terminal raw; short passwords never show;
hostile files never hang or crash the CLI (issue 12).

Terminal: every data string is put between the sentinels QQS ... QQE; on a
real pty, whatever the program printed between them must be free of C0
controls (but TAB), DEL, C1 and bidi controls -- the program's own escapes
(the progress line's \\r\\x1b[K) are outside the sentinels and allowed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import store
from mailconsole.cli import main
from tests.cli.conftest import ROOT, cli_env
from tests.hostile import UNSAFE, hostile_text
from tests.servers.oneshot import OneShotServer

START, END = "QQS", "QQE"
PAYLOAD = (START + "\x1b]2;PWNED\x1b\\\x1b]52;c;cm0gLXJmIH4K\x1b\\\x9b31m\x9d0;x\x07"
           "\u202eexe.txt\u2066\x7f\x08\r" + END)
BIDI_ONLY = START + "a\u202eb\u2067c\u200fd" + END   # passes the control-character checks


def toml_string(value: str) -> str:
    return tomlkit.string(value).as_string()


def segments(text: str) -> list[str]:
    """The texts between START and END (the data as the program showed it)."""
    found = []
    at = text.find(START)
    while at >= 0:
        end = text.find(END, at)
        if end < 0:
            found.append(text[at:])  # an unterminated segment: the END got eaten
            break
        found.append(text[at + len(START):end])
        at = text.find(START, end)
    return found


def assert_safe(text: str, *, expect: int = 1) -> None:
    found = segments(text)
    assert len(found) >= expect, f"the data did not show at all: {text!r}"
    for seg in found:
        bad = sorted({c for c in seg if c in UNSAFE})
        assert not bad, f"raw {bad!r} reached the terminal in {seg!r}"


def run_pty(*argv: str, config: Path, stdin: bytes = b"", timeout: float = 60) -> tuple[int, str]:
    """The real program with a pty as stdout and stderr; (exit code, output)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "mailconsole", "--config", str(config),
                                 *argv], stdin=subprocess.PIPE, stdout=slave, stderr=slave,
                                cwd=ROOT, env=cli_env(TERM="xterm", COLUMNS="200"))
        os.close(slave)
        slave = -1
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side is closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


# -- the terminal -------------------------------------------------------------------

@pytest.fixture
def hostile_cfg(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text("[mail]\n"
                    f"sender_name = {toml_string(PAYLOAD)}\n"
                    f"test_recipient = {toml_string('admin@example.org')}\n"
                    "[mail.smtp]\n"
                    f"server = {toml_string(BIDI_ONLY)}\n"
                    f"username = {toml_string(BIDI_ONLY)}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("argv,expect", [
    (("get", "mail.sender_name"), 1),
    (("get", "mail.smtp.username"), 1),
    (("show",), 3),
    (("show", "--json"), 3),
    (("validate",), 1),        # the server's value is quoted in the error
    (("validate", "--json"), 1),
    (("get", "mail.QQS\x1b[2J\u202eQQE"), 1),   # the unknown key, in the error line
])
def test_config_values_reach_the_pty_escaped(hostile_cfg, argv, expect):
    code, out = run_pty(*argv, config=hostile_cfg)
    assert code in (0, 1, 2), out
    assert_safe(out, expect=expect)
    if "--json" in argv:
        json.JSONDecoder().raw_decode(out.replace("\r\n", "\n"))  # still valid JSON


def test_a_hostile_file_name_reaches_the_pty_escaped(tmp_path):
    folder = tmp_path / PAYLOAD.replace("/", "_").replace("\0", "")
    folder.mkdir()
    cfg = folder / "mail.toml"
    cfg.write_text('[mail]\nrelay = "external"\n')   # invalid: no server
    for argv in (("validate",), ("set", "mail.smtp.timeout=0")):
        code, out = run_pty(*argv, config=cfg)
        assert code in (0, 1), out
        assert_safe(out)
    code, out = run_pty("show", config=folder / "missing.toml")  # "... does not exist"
    assert code == 0
    assert_safe(out)


def test_the_diff_of_apply_check_reaches_the_pty_escaped(tmp_path):
    cfg = tmp_path / "mail.toml"
    cfg.write_text(f"[mail]\nsender_name = {toml_string(BIDI_ONLY)}\n"
                   f"[mail.smtp]\nusername = {toml_string(BIDI_ONLY)}\n")
    src = tmp_path / "in.toml"
    src.write_text(f"[mail.smtp]\nusername = {toml_string(BIDI_ONLY + 'x')}\n")
    code, out = run_pty("apply", "--check", str(src), config=cfg)
    assert code == 0, out
    assert "+username" in out
    assert_safe(out, expect=2)


class HostileSmtp(OneShotServer):
    """Answers every step with terminal escapes and bidi controls in its text."""

    def handle(self, conn) -> None:
        with conn.makefile("rb") as rfile:
            conn.sendall(("220 " + PAYLOAD + " ESMTP\r\n").encode())
            rfile.readline()
            conn.sendall(("250-" + PAYLOAD + "\r\n250 SIZE 1000\r\n").encode())
            rfile.readline()
            conn.sendall(("550 5.7.1 " + PAYLOAD + "\r\n").encode())
            rfile.readline()


@pytest.mark.parametrize("json_out", [False, True])
def test_server_replies_reach_the_pty_escaped(tmp_path, json_out):
    server = HostileSmtp()
    cfg = tmp_path / "mail.toml"
    cfg.write_text(f'[mail]\nrelay = "external"\n[mail.smtp]\nserver = "127.0.0.1:{server.port}"\n'
                   'security = "none"\nauthentication = false\ntimeout = 10\n')
    try:
        code, out = run_pty("test-mail", "--to", "a@example.org",
                            *(["--json"] if json_out else []), config=cfg)
    finally:
        server.close()
    assert code == 1, out
    assert_safe(out, expect=2)
    if json_out:
        report, _end = json.JSONDecoder().raw_decode(out.replace("\r\n", "\n"))  # + stderr
        assert any(START in line["text"] for line in report["transcript"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile_text(), key=st.sampled_from(["mail.sender_name", "mail.smtp.username",
                                                  "mail.smtp.server", "mail.pop3.server",
                                                  "mail.smtp.ca_file", "queue.notify"]))
def test_any_value_in_the_file_is_shown_escaped_in_process(tmp_path_factory, capsys, value, key):
    """The same property in-process (capsys), for many more values than the pty
    runs: get, show, show --json and validate."""
    path = tmp_path_factory.mktemp("hostile") / "mail.toml"
    *tables, leaf = key.split(".")
    path.write_text(f"[{'.'.join(tables)}]\n{leaf} = {toml_string(START + value + END)}\n",
                    encoding="utf-8")
    for argv in (("get", key), ("show",), ("show", "--json"), ("validate",),
                 ("validate", "--json")):
        capsys.readouterr()
        code = main(["--config", str(path), *argv])
        out = capsys.readouterr()
        assert code in (0, 1), (argv, out)
        for text in (out.out, out.err):
            for seg in segments(text):
                assert not (set(seg) & UNSAFE), (argv, seg)
        if argv == ("get", key):
            assert START in out.out


# -- secrets ------------------------------------------------------------------------

SHORT_PASSWORDS = ["Ж", "Жq", "Жq€", "Жq€ß"]


def password_forms(password: str) -> list[str]:
    import base64

    raw = password.encode()
    forms = {password, base64.b64encode(raw).decode(), json.dumps(password)[1:-1],
             json.dumps(password, ensure_ascii=True)[1:-1], toml_string(password)[1:-1]}
    for user in (b"", b"tester@example.org"):
        forms.add(base64.b64encode(b"\0" + user + b"\0" + raw).decode())
    return sorted(forms)


class EchoingServer(OneShotServer):
    """Echoes the AUTH payload and the decoded password in its replies."""

    def handle(self, conn) -> None:
        import base64

        with conn.makefile("rb") as rfile:
            conn.sendall(b"220 echo ESMTP\r\n")
            rfile.readline()
            conn.sendall(b"250-echo\r\n250 AUTH PLAIN\r\n")
            payload = rfile.readline().strip().split()[-1]
            password = base64.b64decode(payload).split(b"\0")[-1]
            conn.sendall(b"535-5.7.8 you sent " + payload + b"\r\n535 5.7.8 password "
                         + password + b" is wrong\r\n")
            rfile.readline()


@pytest.mark.parametrize("password", SHORT_PASSWORDS)
def test_a_short_password_appears_nowhere(tmp_path, capsys, password):
    cfg = tmp_path / "mail.toml"
    texts: list[str] = []

    def run(*argv: str, stdin: str = "") -> int:
        import io

        capsys.readouterr()
        old = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
        try:
            code = main(["--config", str(cfg), *argv])
        finally:
            sys.stdin = old
        out = capsys.readouterr()
        texts.extend([out.out, out.err])
        return code

    server = EchoingServer()
    try:
        assert run("set", "mail.relay=external", f"mail.smtp.server=127.0.0.1:{server.port}",
                   "mail.smtp.security=none", "mail.smtp.allow_plaintext_auth=true",
                   "mail.smtp.username=tester@example.org", "--password-stdin",
                   stdin=password + "\n") == 0
        assert run("test-mail", "--to", "a@example.org") == 1
    finally:
        server.close()
    assert "<credentials hidden>" in "".join(texts)  # the echo arrived and was withheld
    server = EchoingServer()
    try:
        assert run("test-mail", "--to", "a@example.org", "--json") == 1
    finally:
        server.close()
    assert run("set", f"mail.smtp.password={password}") == 2
    for argv in (("show",), ("show", "--json"), ("validate",), ("validate", "--json"),
                 ("get", "mail.smtp.password")):
        run(*argv)
    # the diff: the key quoted and the value as a multi-line string / with an escape
    new = tmp_path / "new.toml"
    for layout in ('[mail.smtp]\n"password" = {v}\n', '[mail.smtp]\npassword = """\n{v}"""\n',
                   '[mail]\nsmtp = {{ "password" = {v} }}\n'):
        value = toml_string(password + "2")[1:-1].replace(password[0], f"\\u{ord(password[0]):04X}")
        new.write_text(layout.format(v=f'"{value}"' if "\"\"\"" not in layout else value))
        assert run("apply", "--check", str(new)) == 0
        assert run("apply", "--check", "--json", str(new)) == 0
    blob = "\n".join(texts)
    assert "(changed)" in blob  # the diffs really showed the password line
    for form in password_forms(password) + password_forms(password + "2"):
        assert form not in blob, f"a form of the {len(password)}-character password showed"


def test_error_lines_are_not_masked_by_substring(tmp_path, capsys):
    """Issue 12: password "a" gave "w********rning: m********il.smtp..."."""
    cfg = tmp_path / "mail.toml"
    cfg.write_text('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "mx.example.com:587"\n'
                   'username = "u"\npassword = "a"\nverify_certificates = false\n')
    cfg.chmod(0o644)  # the warning about a readable password file
    code = main(["--config", str(cfg), "set", "mail.html=false"])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: mail.smtp" in err and "********" not in err


# -- hostile files --------------------------------------------------------------------

class Alarm:
    """Fail (instead of hanging) if the block takes longer than ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def expired(signum, frame):
            raise TimeoutError(f"still running after {self.seconds} s")

        self.old = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)


def make_hostile(kind: str, folder: Path) -> Path:
    path = folder / "mail.toml"
    if kind == "deep arrays":
        path.write_text("[mail]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    elif kind == "nested inline tables":
        path.write_text("[mail]\nx = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n")
    elif kind == "5001-digit integer":
        path.write_text("[mail.smtp]\ntimeout = " + "9" * 5001 + "\n")
    elif kind == "larger than 1 MiB":
        path.write_text("# " + "x" * (store.MAX_BYTES + 10) + "\n")
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "/dev/zero":
        path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize("kind", ["deep arrays", "nested inline tables", "5001-digit integer",
                                  "larger than 1 MiB", "FIFO", "/dev/zero"])
@pytest.mark.parametrize("argv", [("show",), ("get", "mail.relay"), ("validate",),
                                  ("set", "mail.html=false"), ("apply", "--check", "{src}")])
def test_a_hostile_config_file_ends_with_exit_3_without_hanging(tmp_path, capsys, kind, argv):
    path = make_hostile(kind, tmp_path)
    if "{src}" in argv:  # the hostile file as apply's input, a normal config
        src, path = path, tmp_path / "ok.toml"
        argv = tuple(str(src) if a == "{src}" else a for a in argv)
    with Alarm(2.0):
        code = main(["--config", str(path), *argv])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.count("\n") == 1 and "internal error" not in err


def test_a_fifo_as_config_in_a_real_process_exits_3(tmp_path):
    path = make_hostile("FIFO", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "mailconsole", "--config", str(path), "show"],
                          capture_output=True, cwd=ROOT, env=cli_env(), timeout=30)
    assert proc.returncode == 3
    assert b"not a regular file" in proc.stderr


@pytest.mark.parametrize("kind", ["FIFO", "/dev/zero"])
def test_a_hostile_ca_file_fails_the_settings_step_without_hanging(tmp_path, capsys, kind):
    ca = make_hostile(kind, tmp_path)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'[mail]\nrelay = "external"\n[mail.smtp]\nserver = "127.0.0.1:9"\n'
                   f'security = "starttls"\nauthentication = false\nca_file = "{ca}"\n')
    with Alarm(2.0):
        code = main(["--config", str(cfg), "test-mail", "--to", "a@example.org",
                     "--timeout", "1"])
    out = capsys.readouterr()
    assert code == 1
    assert "not a regular file" in out.out and "NOT delivered" in out.out
    assert out.err == ""  # the diagnosis once, on stdout (issue 14)


def test_the_lock_wait_is_bounded_and_names_the_holder(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "mail.toml"
    cfg.write_text('[mail]\nhtml = true\n')
    holder = subprocess.Popen(["flock", str(cfg) + ".lock", "sleep", "30"],
                              start_new_session=True)  # flock and its sleep: one group
    try:
        lock = Path(str(cfg) + ".lock")
        for _ in range(200):  # until flock holds it
            if lock.exists() and str(holder.pid) in Path("/proc/locks").read_text():
                break
            time.sleep(0.02)
        monkeypatch.setattr(store, "LOCK_WAIT", 0.5)
        with Alarm(5.0):
            code = main(["--config", str(cfg), "set", "mail.html=false"])
        err = capsys.readouterr().err
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    assert code == 6, err
    assert f"pid {holder.pid}, flock" in err and "nothing was written" in err
    assert "html = true" in cfg.read_text()


def test_queue_show_escapes_a_header_of_the_queued_mail(run, tmp_path):
    """The queued mail's header block is data too (a bidi override is allowed in
    a Subject, the terminal must not act on it)."""
    cfg = tmp_path / "q.toml"
    cfg.write_text(f'[mail]\nrelay = "external"\n[mail.smtp]\nserver = "127.0.0.1:9"\n'
                   f'security = "none"\nauthentication = false\n'
                   f'[queue]\ndir = "{tmp_path / "spool"}"\n')
    raw = ("From: a@b.example\r\nTo: c@d.example\r\nSubject: " + START
           + "\u202eexe.txt" + END + "\r\n\r\nbody\r\n")
    r = run("--config", str(cfg), "send", "--queue-only", "--to", "c@d.example", stdin=raw)
    assert r.code == 0, r.err
    ident = run("--config", str(cfg), "queue", "list", "--json").json()[0]["id"]
    r = run("--config", str(cfg), "queue", "show", ident)
    assert r.code == 0
    assert_safe(r.out)
    assert "Subject: QQS\\u202eexe.txtQQE\n" in r.out  # one line per header, no \x0d
