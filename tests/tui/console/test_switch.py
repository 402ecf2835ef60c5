"""The basic <-> rich key (F2, or Ctrl+B) at run time, and focus without colour."""

from __future__ import annotations

import asyncio

import pytest

from tests.tui.console.conftest import screen_of, screen_when
from tui.console.compat import screen_lines

F2_VT100 = b"\x1bOQ"  # PF2: what a vt100 sends for F2
CTRL_B = b"\x02"


def test_the_mode_key_switches_basic_to_rich_and_back(spawn_app):
    session = spawn_app(term="xterm-256color", mode="basic")
    # each step waits for what it shows (a quiet tty is no sign of that under load)
    screen_when(session, lambda rows: any(r.startswith(" Sender address") for r in rows))
    first = bytes(session.output)
    assert max(first) < 0x80 and b"\x1b[?1003h" not in first
    session.send(b"\t")  # to the sender; its value stays through the switches
    screen_when(session, lambda rows: any("From address of all mails" in r for r in rows))
    session.send(b"\x1b[F")  # End (the value is selected on focus)
    session.settle(quiet=0.6)
    session.send(b"x")  # an edit
    screen_when(session, lambda rows: any("pbx@example.comx" in r for r in rows))

    mark = len(session.output)
    session.send(F2_VT100)  # -> rich
    screen_when(session, lambda rows: "Rich display" in "".join(rows), quiet=1.0)
    rich = bytes(session.output[mark:])
    assert b"\x1b[2J" in rich, "a full repaint"
    assert "\u2590".encode() in rich, "rich mode draws Unicode again"  # the toggles' half block
    assert b"\x1b[?1003h" in rich, "mouse reporting on in rich mode"
    assert b"Rich display" in rich

    mark = len(session.output)
    session.send(CTRL_B)  # -> basic
    screen_when(session, lambda rows: "Basic display" in "".join(rows), quiet=1.0)
    basic = bytes(session.output[mark:])
    assert b"\x1b[2J" in basic, "a full repaint"
    high = [i for i, b in enumerate(basic) if b >= 0x80]
    assert not high, basic[max(0, high[0] - 60): high[0] + 20]
    assert b"\x1b[?1003l" in basic and b"\x1b[?1000l" in basic, "mouse reporting off"
    assert b"\x1b[38;" not in basic and b"\x1b[48;" not in basic, "16 colours only"
    rows = screen_of(bytes(session.output), width=80, height=24)
    assert any("pbx@example.comx" in row for row in rows), rows
    assert "[modified]" in rows[0], "the unsaved edit survived both switches"
    assert "Basic display" in "".join(rows)

    session.send(b"\t")  # still responsive, and still ASCII
    after = session.settle(quiet=0.6)
    assert after and max(after) < 0x80
    session.send(b"\x11")  # Ctrl+Q: unsaved changes -> the quit dialog
    session.settle(quiet=0.6)
    session.send(b"d")
    assert session.wait(10) == 0


def _reverse_cells(app) -> set[tuple[int, int]]:
    """(x, y) of every cell the screen shows in reverse video."""
    cells = set()
    for y, strip in enumerate(screen_lines(app.screen)):
        x = 0
        for segment in strip:
            if segment.control:
                continue
            if segment.style is not None and segment.style.reverse:
                cells.update((x + i, y) for i in range(len(segment.text)))
            x += len(segment.text)
    return cells


@pytest.mark.parametrize("relay", ["internal", "external"])
def test_without_colour_every_focus_stop_is_reverse_video(tmp_path, monkeypatch, relay):
    """NO_COLOR in basic mode: at each Tab stop the focused widget shows reverse
    cells, and no other widget does (so leaving a field is visible too)."""
    from tests.tui.helpers import EXTERNAL_STARTTLS, write_config
    from tui import console

    monkeypatch.setenv("NO_COLOR", "1")
    console.prepare_environment("basic")
    try:
        from tui.app import make_app

        values = EXTERNAL_STARTTLS if relay == "external" else None
        app = make_app(write_config(tmp_path / "mail.toml", values), mailer=object(),
                       mode="basic")
        console.install(app, "basic")
        stops = asyncio.run(_walk_focus(app))
    finally:
        monkeypatch.delenv("NO_COLOR")
        console.prepare_environment("rich")
    kinds = {kind for _id, kind in stops}
    assert {"Choice", "FieldInput", "Tick", "Button"} <= kinds, stops
    if relay == "external":
        assert {"PasswordInput", "GuardedCheckbox"} <= kinds, stops
        assert len(stops) >= 12, stops


async def _walk_focus(app) -> list[tuple[str, str]]:
    stops: list[tuple[str, str]] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color and app.theme == console_theme()
        while app.focused is not None and app.focused.id not in {i for i, _ in stops}:
            widget = app.focused
            stops.append((widget.id, type(widget).__name__))
            region = widget.region
            reverse = _reverse_cells(app)
            inside = {c for c in reverse if region.contains(*c)}
            assert inside, f"no reverse video on the focused {widget!r}"
            # nothing else in reverse (the form's scrollbar, column 78, aside)
            stray = {c for c in reverse - inside if c[0] < 78}
            assert not stray, f"{widget!r}: reverse cells elsewhere: {sorted(stray)[:5]}"
            await pilot.press("tab")
            await pilot.pause()
    return stops


def console_theme() -> str:
    from tui.console.mode import BASIC_THEME

    return BASIC_THEME


def _screen_text(app) -> str:
    """The text of every row the app shows now."""
    rows = []
    for strip in screen_lines(app.screen):
        rows.append("".join(seg.text for seg in strip if not seg.control))
    return "\n".join(rows)


def test_an_open_dialog_is_spelled_anew_by_the_mode_switch(tmp_path):
    """German in basic mode spells umlauts in ASCII (Aenderungen); the F2 switch to
    rich mode re-translates an open dialog (Änderungen) and back again, and keeps
    what the dialog holds (the test mail's recipient and result)."""
    from config.i18n import set_language
    from tests.tui.fakes import FakeMailer
    from tests.tui.helpers import write_config
    from tui import console

    console.prepare_environment("basic")
    try:
        from tui.app import make_app

        app = make_app(write_config(tmp_path / "mail.toml"), mailer=FakeMailer("ok"),
                       mode="basic", lang="de")
        console.install(app, "basic")
        seen = asyncio.run(_dialog_texts(app))
    finally:
        console.prepare_environment("rich")
        set_language("en")
    quit_basic, quit_rich, quit_back, mail_basic, mail_rich, revert_basic, revert_rich = seen
    assert "Ungespeicherte Aenderungen" in quit_basic and "Änderungen" not in quit_basic
    assert "Ungespeicherte Änderungen" in quit_rich
    assert "Ungespeicherte Aenderungen" in quit_back and "Änderungen" not in quit_back
    # the test-mail dialog after a send: labels and the result re-spelled, state kept
    assert "Empfaenger" in mail_basic and "Schliessen (Esc)" in mail_basic
    assert "Empfänger" in mail_rich and "Schließen (Esc)" in mail_rich
    for text in (mail_basic, mail_rich):
        assert "Testmail an admin@example.org gesendet." in text
        assert "Erneut (Enter)" in text
    # a question the form passed in (Ctrl+R with unsaved changes)
    assert "Die Aenderungen auf dem Bildschirm verwerfen" in revert_basic
    assert "Die Änderungen auf dem Bildschirm verwerfen" in revert_rich


async def _dialog_texts(app) -> list[str]:
    from tui import console

    seen = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab", "end", "x")  # an unsaved edit of the sender
        await pilot.press("ctrl+q")  # -> the quit dialog
        await pilot.pause()
        seen.append(_screen_text(app))
        await console.switch_mode(app)  # -> rich
        await pilot.pause()
        seen.append(_screen_text(app))
        await console.switch_mode(app)  # -> basic
        await pilot.pause()
        seen.append(_screen_text(app))
        await pilot.press("escape")  # cancel: back to the form
        await pilot.press("ctrl+t")  # the test-mail dialog
        await pilot.pause()
        await pilot.press("ctrl+u", *"admin@example.org", "enter")
        for _ in range(20):
            await pilot.pause()
            if "gesendet" in _screen_text(app):
                break
        seen.append(_screen_text(app))
        await console.switch_mode(app)  # -> rich
        await pilot.pause()
        seen.append(_screen_text(app))
        await pilot.press("escape")  # close it
        await pilot.pause()
        await console.switch_mode(app)  # -> basic
        await pilot.press("ctrl+r")  # revert? (unsaved changes: it asks)
        await pilot.pause()
        seen.append(_screen_text(app))
        await console.switch_mode(app)  # -> rich
        await pilot.pause()
        seen.append(_screen_text(app))
    return seen
