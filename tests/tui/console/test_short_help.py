"""Basic mode's help line: one short line per field (the serial line's byte budget), the
full text on the help screen (F1); rich mode keeps the full text."""

from __future__ import annotations

import asyncio

import pytest
from rich.cells import cell_len
from rich.text import Text

from config.i18n import set_ascii, set_language
from config.model import FIELDS, field_help, field_short_help


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_field_has_a_short_one_line_help_in_both_languages(lang):
    set_language(lang)
    set_ascii(True)
    try:
        for path in FIELDS:
            short = field_short_help(path)
            assert short and short.isascii(), path
            assert cell_len(short) <= 70 if lang == "en" else cell_len(short) <= 78, short
            assert "\n" not in short
        # short is its own text where the full one is long
        assert field_short_help("mail.relay") != field_help("mail.relay")
    finally:
        set_language("en")
        set_ascii(False)


def _help_text(app) -> str:
    content = app.screen.query_one("#help").content
    return content.plain if isinstance(content, Text) else str(content)


async def _stops(app, *, open_help: bool) -> tuple[list[tuple[str, str]], str]:
    from tui.screens.mail_server import key_of

    seen: list[tuple[str, str]] = []
    help_screen = ""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ids: set[str] = set()
        while app.focused is not None and app.focused.id not in ids:
            ids.add(app.focused.id)
            key = key_of(app.focused.id) or key_of(getattr(app.focused.parent, "id", None))
            if key is not None:
                seen.append((key, _help_text(app)))
            await pilot.press("tab")
            await pilot.pause()
        if open_help:
            app.screen.query_one("#f-mail-sender").focus()
            await pilot.pause()
            await pilot.press("f1")
            await pilot.pause()
            from textual.widgets import Static

            help_screen = "\n".join(
                (w.content.plain if isinstance(w.content, Text) else str(w.content))
                for w in app.screen.query(Static))
    return seen, help_screen


@pytest.mark.parametrize("mode", ["basic", "rich"])
def test_help_line_is_short_in_basic_and_full_in_rich_mode(tmp_path, mode):
    from tests.tui.helpers import EXTERNAL_STARTTLS, write_config
    from tui import console
    from tui.app import make_app
    from tui.screens.mail_server import labels

    console.prepare_environment(mode)
    try:
        app = make_app(write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS),
                       mailer=object(), mode=mode)
        console.install(app, mode)
        seen, help_screen = asyncio.run(_stops(app, open_help=True))
    finally:
        console.prepare_environment("rich")
        set_ascii(False)
    keys = [key for key, _text in seen]
    assert {"mail.relay", "mail.sender", "mail.html", "mail.smtp.server"} <= set(keys), keys
    for key, text in seen:
        if mode == "basic":
            assert text == field_short_help(key), (key, text)
            assert cell_len(text) <= 78
        else:
            assert text == f"{labels()[key]}: {field_help(key)}", (key, text)
    focused_key = "mail.sender"  # focused before F1
    # F1: the help screen starts with the focused field's full text, in both
    # modes (rich mode's help lines may cut a long one: "... F1: all of it")
    full = f"{labels()[focused_key]}: {field_help(focused_key)}"
    assert full in help_screen, help_screen[:300]
