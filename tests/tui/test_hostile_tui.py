"""The screen and hostile values (issue 12): config values never reach the
terminal raw (rich and basic mode, on a real pty); hostile values typed into
the form and saved never change the generated mail's headers; "Save
transcript" writes atomically, never over the configuration, never through a
symbolic link, and asks before replacing a file."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import select
import struct
import subprocess
import sys
import termios
import time

import pytest
import tomlkit
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from config.model import FIELDS
from config.service import SettingsService
from mailer import send_test_mail
from mailer.message import AddressError, build_test_mail_bytes
from tests.cli.conftest import ROOT, cli_env
from tests.hostile import TEXT_FIELDS, hostile_text
from tests.servers.lenient_smtp import LenientSmtpServer
from tests.tui.fakes import FakeMailer
from tests.tui.helpers import app_for, screen, start_test_mail, write_config
from tui.console.compat import screen_lines
from tui.dialogs import SaveDialog
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.transcript import (
    AskPathDialog,
    TranscriptSaveError,
    protected_paths,
    write_transcript,
)
from tui.screens.mail_server import FORM_KEYS

SIZE = (80, 24)
START, END = "QQS", "QQE"
PAYLOAD = (START + "\x1b]2;PWNED\x1b\\\x1b]52;c;cm0gLXJmIH4K\x1b\\\x9b31m\x9d0;x"
           "\u202eexe\u2066" + END)
# What must never reach the terminal: the payload's own sequences.
BIDI = START + "u\u202ev" + END
FORBIDDEN = ["\x1b]2;PWNED", "\x1b]52;c;cm0g", "\x9b31m", "\x9d0;x", "\u202e", "\u2066"]


def run_async(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper


# -- a real pty, both modes ----------------------------------------------------------

def run_screen(config, mode: str, *, wait_for: str, timeout: float = 60.0) -> str:
    """Start the screen on an 80x24 pty, wait until ``wait_for`` was painted
    (and a moment more), quit with Ctrl+Q; everything the program wrote."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = cli_env(TERM="xterm-256color", MAILCONSOLE_FRAME_CACHE="0")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    proc = subprocess.Popen([sys.executable, "-m", "mailconsole", "--config", str(config),
                             f"--{mode}"], stdin=slave, stdout=slave, stderr=slave,
                            cwd=ROOT, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    quit_at = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if quit_at is None and wait_for.encode() in out:
                quit_at = time.monotonic() + 1.0  # let the rest of the screen paint
            if quit_at is not None and time.monotonic() >= quit_at:
                os.write(master, b"\x11")  # Ctrl+Q
                quit_at = deadline + 1
            if proc.poll() is not None and not ready:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        os.close(master)
    return out.decode("utf-8", "replace")


@pytest.mark.parametrize("mode", ["rich", "basic"])
def test_hostile_config_values_never_reach_the_terminal(tmp_path, mode):
    path = tmp_path / "mail.toml"
    path.write_text("[mail]\nrelay = \"external\"\n"
                    f"sender_name = {tomlkit.string(PAYLOAD).as_string()}\n"
                    "[mail.smtp]\n"
                    f"username = {tomlkit.string(BIDI).as_string()}\n",
                    encoding="utf-8")
    out = run_screen(path, mode, wait_for=START)
    assert START in out, "the values were never painted"
    for sequence in FORBIDDEN:
        assert sequence not in out, f"{sequence!r} reached the terminal ({mode})"


# -- typed into the form, saved, into the mail ----------------------------------------

BASE_VALUES = {"mail.relay": "external", "mail.smtp.server": "127.0.0.1:25",
               "mail.smtp.security": "none", "mail.smtp.authentication": False,
               "mail.sender_name": "PBX"}


def names_of(data: bytes) -> list[str]:
    head = data.split(b"\r\n\r\n", 1)[0]
    return sorted(line.split(b":", 1)[0].decode("ascii").lower()
                  for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t"))


@pytest.fixture(scope="module")
def lenient():
    server = LenientSmtpServer()
    yield server
    server.close()


# The text inputs of the form (tui.screens.mail_server.FORM_KEYS).
FORM_TEXT = [k for k in FORM_KEYS if k in TEXT_FIELDS and not FIELDS[k].choices]


# A failing example is reported as found (no shrinking: each run starts the app).
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(field=st.sampled_from(FORM_TEXT), value=hostile_text())
def test_a_hostile_value_typed_into_the_form_never_changes_the_mail_headers(
        tmp_path_factory, lenient, field, value):
    path = write_config(tmp_path_factory.mktemp("tui-hostile") / "mail.toml", BASE_VALUES)
    baseline = names_of(build_test_mail_bytes(SettingsService(path).load(), "a@example.org"))

    async def body() -> None:
        app = app_for(path)
        async with app.run_test(size=SIZE) as pilot:
            widget = screen(app).query_one("#f-" + field.replace(".", "-"))
            widget.value = value  # what a paste does
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            if isinstance(app.screen, SaveDialog):
                await pilot.press("y")
                await pilot.pause()
            assert screen(app) is not None  # still running, no crash

    asyncio.run(body())
    stored = SettingsService(path).load()
    if stored.get(field) != value:
        event("refused by the form")
        return  # refused by the form's validation: nothing saved
    try:
        data = build_test_mail_bytes(stored, "a@example.org")
    except AddressError:
        return
    assert names_of(data) == baseline
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\0" not in head and head.count(b"\r") == head.count(b"\n") == head.count(b"\r\n")
    if field == "mail.smtp.server":
        return  # the mail would go elsewhere
    lenient.reset()
    report = send_test_mail(settings=stored.with_values(lenient.settings_values()),
                            recipient="a@example.org")
    transactions = lenient.transactions()
    assert len(transactions) == (1 if report.ok else 0), report.failure
    event("saved and sent" if report.ok else "saved, send refused")
    if report.ok:
        assert sorted(transactions[0].header_names()) == baseline


# -- saving the transcript --------------------------------------------------------------

def test_write_transcript_is_atomic_and_never_replaces_without_being_asked(tmp_path):
    target = tmp_path / "t.txt"
    write_transcript(target, "one\n", [])
    assert target.read_text() == "one\n" and oct(target.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileExistsError):
        write_transcript(target, "two\n", [])
    assert target.read_text() == "one\n"
    write_transcript(target, "two\n", [], replace=True)
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]  # no temp file left


def test_write_transcript_refuses_the_config_a_link_and_a_fifo(tmp_path):
    config = tmp_path / "mail.toml"
    config.write_text("[mail]\n")
    protected = protected_paths(config)
    (tmp_path / "link.txt").symlink_to(config)
    os.link(config, tmp_path / "hard.txt")
    os.mkfifo(tmp_path / "fifo.txt")
    for name in ("mail.toml", "mail.toml.bak", "mail.toml.lock", "link.txt", "hard.txt",
                 "fifo.txt"):
        with pytest.raises(TranscriptSaveError):
            write_transcript(tmp_path / name, "x", protected, replace=True)
    sub = tmp_path / "sub"
    sub.symlink_to(tmp_path)  # the same directory under another name
    with pytest.raises(TranscriptSaveError):
        write_transcript(sub / "mail.toml", "x", protected, replace=True)
    assert config.read_text() == "[mail]\n"
    assert not (tmp_path / "mail.toml.bak").exists()


@run_async
async def test_save_transcript_in_the_dialog_refuses_the_config_and_asks_before_replacing(
        tmp_path):
    path = write_config(tmp_path / "mail.toml",
                        {**BASE_VALUES, "mail.test_recipient": "admin@example.org"})
    before = path.read_bytes()
    app = app_for(path, mailer=FakeMailer("ok"))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await start_test_mail(pilot)
        for _ in range(400):
            if dialog.report is not None and dialog.query_one("#save-transcript").display:
                break
            await pilot.pause(0.05)

        async def save_as(name: str) -> None:
            assert dialog.query_one("#save-transcript").display
            dialog._save_transcript()  # the button's handler
            await pilot.pause()
            assert isinstance(app.screen, AskPathDialog)
            await pilot.press("ctrl+u", *name, "enter")
            await pilot.pause()

        await save_as(str(path))  # the configuration itself
        assert app.screen is dialog and "never written over" in str(
            dialog.query_one("#result").render())
        assert path.read_bytes() == before
        await save_as("t.txt")  # new: written at once
        assert (tmp_path / "t.txt").read_text().startswith("*: connected")
        (tmp_path / "t.txt").write_text("keep me\n")
        await save_as("t.txt")  # exists: asks
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert (tmp_path / "t.txt").read_text() == "keep me\n"
        await save_as("t.txt")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await pilot.pause()
        assert (tmp_path / "t.txt").read_text().startswith("*: connected")
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_the_screen_with_a_fifo_or_dev_zero_as_config_ends_with_exit_3(tmp_path, kind):
    """The frame-cache key and the store read regular files only: no hang, no
    endless read (the timeout is generous; it finishes in about a second)."""
    path = tmp_path / "mail.toml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    master, slave = os.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "mailconsole", "--config", str(path)],
                              stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=ROOT,
                              env=cli_env(TERM="xterm"), timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 3, proc.stderr
    assert b"not a regular file" in proc.stderr


@pytest.mark.parametrize("password", ["Ж", "Жq€ß"])
@pytest.mark.parametrize("layout", ['[mail.smtp]\n"password" = "{v}"\n',
                                    '[mail.smtp]\npassword = """\n{v}"""\n',
                                    '[mail]\nsmtp = {{ "password" = "{v}", username = "u" }}\n'])
def test_the_save_dialog_diff_never_shows_a_quoted_or_multi_line_password(
        tmp_path, password, layout):
    escaped = password.replace(password[0], f"\\u{ord(password[0]):04X}")
    path = tmp_path / "mail.toml"
    path.write_text('[appliance]\ndeployment = "on-premises"\n' + layout.format(v=escaped),
                    encoding="utf-8")

    async def body() -> str:
        app = app_for(path)
        async with app.run_test(size=(100, 40)) as pilot:
            screen(app).query_one("#f-mail-sender_name").value = "Changed PBX"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, SaveDialog)
            text = "\n".join(strip.text for strip in screen_lines(app.screen))
            return text + app.export_screenshot()

    shown = asyncio.run(body())
    assert "Changed PBX" in shown  # the diff is on screen
    for form in (password, escaped, escaped.lower()):
        assert form not in shown
