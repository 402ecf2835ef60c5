"""Behaviour of the mail-server screen, driven by the keyboard only (Pilot),
asserting on the file written and on what the servers received."""

from __future__ import annotations

import asyncio
import base64
import difflib
import functools
import tomllib

import pytest

from config.service import SettingsService
from tests.tui.helpers import app_for, screen, start_test_mail, write_config
from tui.app import make_app
from tui.console.compat import app_driver, screen_lines
from tui.dialogs import ConflictDialog, QuitDialog, SaveDialog

SIZE = (80, 24)


def run_async(test):
    """Run an async test body in its own event loop (no pytest-asyncio here)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper


SENTINEL = "Sentinel-Pw-7f3a9c"


def screen_text(app) -> str:
    """Every character on the terminal right now (modal dialogs included)."""
    return "\n".join(strip.text for strip in screen_lines(app.screen))


async def tab_to(pilot, widget_id: str, limit: int = 25) -> None:
    for _ in range(limit):
        if pilot.app.focused is not None and pilot.app.focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached #{widget_id}")


async def wait_for(pilot, condition, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


@run_async
async def test_switch_to_external_fill_in_and_save_changes_only_those_lines(tmp_path):
    path = write_config(tmp_path / "mail.toml", {"mail.smtp.authentication": True})
    before = path.read_text(encoding="utf-8")
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")  # M1: external
        await tab_to(pilot, "f-mail-sender")
        await pilot.press("ctrl+u", *"pbx@customer.example")
        await tab_to(pilot, "f-mail-smtp-server")
        await pilot.press(*"smtp.example.com:587")
        await tab_to(pilot, "f-mail-smtp-username")
        await pilot.press(*"pbx@customer.example")
        await tab_to(pilot, "f-mail-smtp-password")
        await pilot.press(*"Fill-In-Pw-1")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        assert "Fill-In-Pw-1" not in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert not screen(app).dirty
        assert "Saved mail.toml" in screen_text(app)

    after = path.read_text(encoding="utf-8")
    data = tomllib.loads(after)
    assert data["mail"]["relay"] == "external"
    assert data["mail"]["sender"] == "pbx@customer.example"
    assert data["mail"]["smtp"]["server"] == "smtp.example.com:587"
    assert data["mail"]["smtp"]["username"] == "pbx@customer.example"
    assert data["mail"]["smtp"]["password"] == "Fill-In-Pw-1"
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
               if line[:1] in "+-"]
    keys = sorted({line[2:].split("=")[0].strip() for line in changed})
    assert keys == ["password", "relay", "sender", "server", "username"], changed
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in after.splitlines() for c in comments)


@run_async
async def test_the_test_mail_uses_the_unsaved_values_and_reaches_a_loopback_server(
        tmp_path, smtp_server):
    server = smtp_server(tls="starttls", auth=True)
    # The file points at a dead port; the admin types the right one and does not save.
    path = write_config(tmp_path / "mail.toml", server.settings_values(**{
        "mail.smtp.server": "127.0.0.1:1", "mail.test_recipient": "admin@example.org"}))
    app = make_app(path)  # the real mailer
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "f-mail-smtp-server")
        await pilot.press("ctrl+u", *server.address)
        dialog = await start_test_mail(pilot)
        await wait_for(pilot, lambda: dialog.report is not None)
        assert dialog.report.ok, dialog.report.failure
        assert "Test mail sent to admin@example.org" in screen_text(app)
        assert SENTINEL not in screen_text(app)
        assert screen(app).dirty  # nothing was saved
    [message] = server.wait_for_messages(1)
    assert message.rcpt_tos == ["admin@example.org"]
    assert "127.0.0.1:1" in path.read_text(encoding="utf-8")


@run_async
async def test_the_test_mail_dialog_keeps_both_ehlo_steps_around_starttls(tmp_path, smtp_server):
    """EHLO is sent again after STARTTLS: the dialog lists it twice, in order,
    instead of the second one overwriting the first."""
    server = smtp_server(tls="starttls", auth=True)
    path = write_config(tmp_path / "mail.toml", server.settings_values(**{
        "mail.test_recipient": "admin@example.org"}))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await start_test_mail(pilot)
        await wait_for(pilot, lambda: dialog.report is not None)
        assert dialog.report.ok, dialog.report.failure
        names = [s.name for s in dialog.steps]
        assert names.count("ehlo") == 2, names
        ehlos = [i for i, n in enumerate(names) if n == "ehlo"]
        assert ehlos[0] < names.index("starttls") < ehlos[1]
        assert all(s.status in ("ok", "skipped", "warning") for s in dialog.steps), names


@run_async
async def test_a_test_mail_to_a_silent_server_can_be_cancelled(tmp_path, fault_server):
    server = fault_server("silence")
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": server.address,
        "mail.smtp.security": "none", "mail.smtp.authentication": False,
        "mail.smtp.timeout": 120, "mail.test_recipient": "admin@example.org"})
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await start_test_mail(pilot)
        await wait_for(pilot, lambda: any(s.name == "greeting" for s in dialog.steps))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Cancelled" in screen_text(app), timeout=5)
        assert loop.time() - started < 5
        # through the mailer's cancel event: the report says so, with the steps so far
        assert dialog.cancel_event is not None and dialog.cancel_event.is_set()
        assert dialog.report.failure.cls == "cancelled"
        assert dialog.report.failure.step == "greeting"
        # still responsive: Esc closes the dialog, the form is back
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen(app)


@run_async
async def test_the_password_never_reaches_the_clipboard_or_the_screen(tmp_path):
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
        "mail.smtp.username": "u", "mail.smtp.password": "old"})
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        written: list[str] = []
        driver = app_driver(app)
        real_write = driver.write
        driver.write = lambda data: (written.append(data), real_write(data))[1]
        app.copy_to_clipboard("before")  # the clipboard starts with something known
        await tab_to(pilot, "f-mail-smtp-password")
        await pilot.press("ctrl+u", *SENTINEL)
        await pilot.press("shift+home", "ctrl+c", "ctrl+x", "ctrl+shift+a", "ctrl+c")
        await pilot.pause()
        password = app.focused
        assert password.value == SENTINEL  # the cut did not remove it either
        assert app.clipboard == "before"
        everything = "".join(written)
        for form in (SENTINEL, base64.b64encode(SENTINEL.encode()).decode()):
            assert form not in everything
        assert "\x1b]52;c;" + base64.b64encode(b"before").decode() in everything
        assert SENTINEL not in screen_text(app)
        assert SENTINEL not in app.export_screenshot()
        assert SENTINEL not in repr(password)
        assert SENTINEL not in repr(password.Changed(password, SENTINEL))
        await pilot.press("ctrl+s")  # the diff dialog redacts it
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        assert SENTINEL not in screen_text(app)
        assert SENTINEL not in app.export_screenshot()


def test_the_crash_report_shows_no_local_variables(tmp_path, capsys):
    """A handler that raises while a local holds the password: the app stops and
    prints the traceback (to stderr), without the local (Textual's own report
    shows locals; tui/console/compat.py's NoLocalsCrashReport drops them)."""
    app = app_for(tmp_path / "mail.toml")

    def boom() -> None:
        password = SENTINEL  # noqa: F841 - a local that Textual would print
        raise RuntimeError("boom")

    async def crash() -> None:
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(boom)
            await pilot.pause()
            await pilot.pause()

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(crash())
    text = capsys.readouterr().err
    assert "RuntimeError" in text and "boom" in text and "boom()" in text
    assert SENTINEL not in text


@run_async
async def test_smtp_after_pop3_is_refused_while_authentication_is_on(tmp_path):
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
        "mail.smtp.username": "u", "mail.smtp.password": "p"})
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        form = screen(app)
        await tab_to(pilot, "f-mail-pop3-enabled")
        await pilot.press("space")
        assert form.values()["mail.pop3.enabled"] is False
        assert "authentication" in screen_text(app)  # says why
        assert form.query_one("#row-f-mail-pop3-server").disabled
        await pilot.press("shift+tab", "right")  # authentication: no
        assert form.values()["mail.smtp.authentication"] is False
        await pilot.press("tab", "space")
        assert form.values()["mail.pop3.enabled"] is True
        assert not form.query_one("#row-f-mail-pop3-server").disabled
        assert not form.query_one("#row-f-mail-smtp-password").disabled
        await pilot.press("shift+tab", "left")  # authentication back on: POP3 goes off
        assert form.values()["mail.pop3.enabled"] is False


@run_async
async def test_a_click_goes_through_the_same_guard(tmp_path):
    """The mouse (rich mode): a click on the refused box leaves it off and says why;
    once allowed, one click ticks it (once, not on and off again)."""
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
        "mail.smtp.username": "u", "mail.smtp.password": "p"})
    app = app_for(path)
    async with app.run_test(size=(100, 40)) as pilot:
        form = screen(app)
        box = "#f-mail-pop3-enabled"
        form.query_one(box).scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click(box)
        await pilot.pause()
        assert form.values()["mail.pop3.enabled"] is False
        assert "authentication" in screen_text(app)
        await tab_to(pilot, "f-mail-smtp-authentication")
        await pilot.press("right")  # authentication: no
        await pilot.pause()
        await pilot.click(box)
        await pilot.pause()
        assert form.values()["mail.pop3.enabled"] is True


@run_async
async def test_ctrl_f_applies_the_port_fix_for_tls_on_port_25(tmp_path):
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com",
        "mail.smtp.security": "tls", "mail.smtp.username": "u", "mail.smtp.password": "p"})
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        assert "465" in screen_text(app)
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert screen(app).values()["mail.smtp.server"] == "smtp.example.com:465"


@run_async
async def test_quit_asks_only_with_unsaved_changes(tmp_path):
    path = write_config(tmp_path / "mail.toml")
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("escape")  # stay
        await pilot.press("left")  # back to the file's value: nothing unsaved
        assert not screen(app).dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not any(isinstance(s, QuitDialog) for s in app.screen_stack)
    assert app.return_code == 0


@run_async
async def test_a_conflict_can_be_resolved_by_applying_the_edits_on_top(tmp_path):
    path = write_config(tmp_path / "mail.toml", {"mail.smtp.authentication": False})
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "f-mail-sender")
        await pilot.press("ctrl+u", *"pbx@customer.example")
        SettingsService(path).update({"mail.sender_name": "Changed Elsewhere"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConflictDialog)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        await pilot.press("y")
        await pilot.pause()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["mail"]["sender"] == "pbx@customer.example"
    assert data["mail"]["sender_name"] == "Changed Elsewhere"


@run_async
async def test_a_refusal_with_an_obvious_fix_is_fixed_with_ctrl_f_from_the_dialog(
        tmp_path, fault_server):
    """Issue 14: "530 5.7.0 Must issue a STARTTLS command first" is diagnosed as
    such (no internal class name on screen), the dialog offers Ctrl+F "use
    STARTTLS", and Ctrl+F closes it with Security set to STARTTLS in the form
    (not saved: the file is unchanged)."""
    server = fault_server(tls="starttls",
                          replies={"MAIL": "530 5.7.0 Must issue a STARTTLS command first"})
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": server.address,
        "mail.smtp.security": "none", "mail.smtp.authentication": False,
        "mail.test_recipient": "admin@example.org"})
    before = path.read_bytes()
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await start_test_mail(pilot)
        await wait_for(pilot, lambda: dialog.report is not None, timeout=10)
        await pilot.pause()
        text = screen_text(app)
        assert dialog.report.failure.cls == "starttls_required"
        assert "starttls_required" not in text and "Must issue a STARTTLS" in text
        assert "Ctrl+F: use STARTTLS" in text
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert app.screen is screen(app)
        assert screen(app).current().mail.smtp.security == "starttls"
        assert "Applied: use STARTTLS" in screen_text(app)
    assert path.read_bytes() == before


@run_async
async def test_the_advanced_settings_the_advice_names_are_edited_and_saved(tmp_path):
    """Issue 14: EHLO name, timeout, CA file... are on the screen (Advanced) and saved
    like the others; the timeout is a radio row, never a number to parse."""
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
        "mail.smtp.username": "u", "mail.smtp.password": "secret-pw-1"})
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "f-mail-smtp-ehlo_name", limit=60)
        await pilot.press(*"pbx.example.com")
        await tab_to(pilot, "f-mail-smtp-timeout", limit=60)
        await pilot.press("right", "right")  # 15 s -> 30 s -> 60 s
        await pilot.pause()
        timeout = screen(app).current().mail.smtp.timeout
        assert timeout == 60
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        await pilot.press("y")
        await pilot.pause()
    saved = tomllib.loads(path.read_text())["mail"]["smtp"]
    assert saved["ehlo_name"] == "pbx.example.com" and saved["timeout"] == timeout
