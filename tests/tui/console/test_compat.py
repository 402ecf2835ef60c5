"""Every private Textual/Rich name in tui/console/compat.py still exists, with the
signature and the behaviour compat assumes.

After a Textual or Rich upgrade, a failure here names the entry that changed; fix
that entry in compat.py (and only there), then TESTED_WITH.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import os
from importlib.metadata import version

import pytest

from tui.console import compat


def _params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_the_pinned_versions_are_the_installed_ones():
    """compat was checked against these; a different version: run this file, then
    update TESTED_WITH."""
    installed = {name: version(name) for name in compat.TESTED_WITH}
    assert installed == compat.TESTED_WITH


def test_textual_enters_the_alternate_screen_with_the_sequence_the_frame_cache_uses():
    from textual.drivers.linux_driver import LinuxDriver

    source = inspect.getsource(LinuxDriver.start_application_mode)
    assert repr(compat.ALT_SCREEN_ON)[1:-1] in source, (
        "LinuxDriver.start_application_mode no longer writes ALT_SCREEN_ON: "
        "update compat.ALT_SCREEN_ON (the frame cache and celldiff rely on it)")


def test_the_input_loop_copy_matches_textuals_method():
    """tui/console/driver.py copies LinuxDriver.run_input_thread (with a tolerant
    decoder).  A changed upstream method: compare the copy with it, then update
    RUN_INPUT_THREAD_SHA256."""
    assert compat.run_input_thread_hash() == compat.RUN_INPUT_THREAD_SHA256, (
        "Textual's LinuxDriver.run_input_thread changed:\n" + compat.run_input_thread_source())


def test_the_xterm_parser_turns_text_into_key_events():
    from textual import events

    parser = compat.xterm_parser(False)
    assert _params(parser.feed) == ["data"] and _params(parser.tick) == []
    keys = [e.key for e in parser.feed("a\r") if isinstance(e, events.Key)]
    keys += [e.key for e in parser.tick() if isinstance(e, events.Key)]
    assert keys == ["a", "enter"]
    errors = compat.parse_errors()
    assert EOFError in errors and all(issubclass(e, BaseException) for e in errors)


def test_loop_last_marks_the_last_item():
    assert list(compat.loop_last([])) == []
    assert list(compat.loop_last("ab")) == [(False, "a"), (True, "b")]


def _driver(mouse: bool):
    from textual.drivers.linux_driver import LinuxDriver

    class Driver(compat.DriverHooks, LinuxDriver):
        seen: list[tuple[int, int]]

        def write(self, data: str) -> None:
            self.written.append(data)

        def flush(self) -> None:
            pass

        def terminal_size_seen(self, size: tuple[int, int]) -> None:
            self.seen.append(size)

    app = object()
    driver = Driver(app, debug=True, mouse=mouse, size=(80, 24))  # type: ignore[arg-type]
    driver.written = []
    driver.seen = []
    return driver, app


def test_the_driver_hooks_reach_linux_drivers_private_parts():
    from textual.drivers.linux_driver import LinuxDriver

    for name in ("_get_terminal_size", "_enable_mouse_support", "_disable_mouse_support"):
        assert _params(getattr(LinuxDriver, name)) == ["self"], name

    async def check() -> None:
        driver, app = _driver(mouse=True)
        assert driver.driven_app is app  # Driver._app
        assert driver.debug_mode is True  # Driver._debug
        assert driver.mouse_reporting is True  # Driver._mouse
        assert driver.in_application_mode is False  # LinuxDriver._writer_thread
        size = driver.measure_terminal()  # LinuxDriver._get_terminal_size
        assert driver.seen == [size] and all(n > 0 for n in size)
        driver.set_mouse_reporting(False)
        assert "\x1b[?1000l" in driver.written and driver.mouse_reporting is False
        driver.written.clear()
        driver.set_mouse_reporting(False)
        assert driver.written == []  # already off: nothing sent
        driver.set_mouse_reporting(True)
        assert "\x1b[?1000h" in driver.written and driver.mouse_reporting is True

    asyncio.run(check())


def test_the_console_driver_uses_the_hooks():
    from textual.drivers.linux_driver import LinuxDriver

    from tui.console.driver import make_driver_class

    assert issubclass(make_driver_class(LinuxDriver, "basic"), compat.DriverHooks)


def test_the_textual_constants_follow_the_environment(monkeypatch):
    import textual.constants as constants
    from textual.app import App

    saved = {name: getattr(constants, name) for name in
             ("COLOR_SYSTEM", "TEXTUAL_ANIMATIONS", "DISABLE_KITTY_KEY", "DEFAULT_THEME")}
    assert callable(constants._get_textual_animations)
    assert App.theme._default == constants.DEFAULT_THEME
    try:
        monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
        monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
        monkeypatch.setenv("TEXTUAL_DISABLE_KITTY_KEY", "1")
        monkeypatch.setenv("TEXTUAL_THEME", "ansi-dark")
        compat.sync_textual_constants()
        assert constants.COLOR_SYSTEM == "standard"
        assert constants.TEXTUAL_ANIMATIONS == "none"
        assert constants.DISABLE_KITTY_KEY is True
        assert constants.DEFAULT_THEME == "ansi-dark"
        assert App().theme == "ansi-dark"  # the reactive's default followed
    finally:
        for name, value in saved.items():
            setattr(constants, name, value)
        App.theme._default = saved["DEFAULT_THEME"]


def test_a_rich_consoles_colour_system_can_change():
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    compat.set_color_system(console, "standard")
    assert console.color_system == "standard"
    compat.set_color_system(console, "nonsense")
    assert console.color_system == "standard"


def test_rich_detects_the_colour_system_from_os_environ(monkeypatch):
    """mode._rich_color_system relies on Rich reading os.environ (no _environ=)."""
    from rich.console import Console

    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Console(file=io.StringIO(), force_terminal=True).color_system == "truecolor"
    monkeypatch.delenv("COLORTERM")
    assert Console(file=io.StringIO(), force_terminal=True).color_system == "256"


def test_textuals_crash_report_is_still_the_method_compat_overrides():
    """App._fatal_error still renders the locals (else the override may go), into
    _exit_renderables, and stops with _close_messages_no_wait."""
    from textual.app import App

    assert _params(App._fatal_error) == ["self"]
    source = inspect.getsource(App._fatal_error)
    for part in ("show_locals=True", "_exit_renderables", "_close_messages_no_wait"):
        assert part in source, part
    assert callable(App._close_messages_no_wait)
    assert compat.crash_report(App()) == []


def test_the_app_uses_the_crash_report_without_locals():
    from tui.app import MailConsoleApp

    assert MailConsoleApp._fatal_error is compat.NoLocalsCrashReport._fatal_error


def test_screen_mounted_waits_for_the_default_screen_and_lines_are_readable():
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello compat")

    async def check() -> None:
        app = One()
        assert compat.app_driver(app) is None
        async with app.run_test(size=(30, 3)):
            await asyncio.wait_for(compat.screen_mounted(app.screen), 5)
            assert app.screen.is_mounted
            lines = [strip.text for strip in compat.screen_lines(app.screen)]
            assert len(lines) == 3 and "hello compat" in lines[0]
            assert compat.app_driver(app) is not None

    asyncio.run(check())


def test_a_radio_sets_highlight_moves_without_pressing():
    from textual.app import App, ComposeResult
    from textual.widgets import RadioButton, RadioSet

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield RadioSet(RadioButton("a", value=True), RadioButton("b"), id="set")

    async def check() -> None:
        app = One()
        async with app.run_test(size=(30, 6)) as pilot:
            radio = app.query_one(RadioSet)
            compat.highlight_radio(radio, 1)
            await pilot.pause()
            assert radio.children[1].has_class("-selected")
            assert not radio.children[0].has_class("-selected")
            assert radio.pressed_index == 0  # highlighted, not pressed

    asyncio.run(check())


def test_no_private_textual_or_rich_name_outside_compat():
    """The rule compat exists for: a private Textual/Rich import or attribute only
    in compat.py (our own private names are fine)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    pattern = re.compile(
        r"from (textual|rich)\._|import (textual|rich)\._|textual\.widgets\._"
        r"|\._(mounted_event|fatal_error|exit_renderables|close_messages_no_wait|compositor"
        r"|driver|color_system|is_mounted|nodes|selected|writer_thread|mouse\b|app\b"
        r"|get_terminal_size|enable_mouse_support|disable_mouse_support|default\b"
        r"|get_textual_animations)|super\(\)\._value\b")
    offenders = []
    for package in ("tui", "mailer", "mailconsole", "tests"):
        for path in (root / package).rglob("*.py"):
            if path.name in ("compat.py", "test_compat.py"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
def test_tty_newline_follows_onlcr():
    import termios

    from tui.console.celldiff import tty_newline

    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[1] |= termios.OPOST | termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        assert tty_newline(slave) == "\n"
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        assert tty_newline(slave) == "\r\n"
    finally:
        os.close(master)
        os.close(slave)
    assert tty_newline(master) == "\r\n"  # closed: no tty


def test_input_draws_its_line_from_the_private_value_property():
    """InputShownValue overrides Input._value: it must be a property of Textual's
    Input (what render_line draws), and FieldInput must resolve to the override.
    That the shown text is drawn and the value kept is tested on the screen
    (tests/tui/test_hostile_tui.py: control characters in a field)."""
    import inspect

    from textual.widgets import Input

    from tui.console.compat import InputShownValue
    from tui.widgets import FieldInput

    assert isinstance(inspect.getattr_static(Input, "_value"), property)
    assert "self._value" in inspect.getsource(Input.render_line)
    assert inspect.getattr_static(FieldInput, "_value") is InputShownValue.__dict__["_value"]
