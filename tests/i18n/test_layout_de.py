"""German is longer than English: at 80x24 nothing may be cut.  Measured on
the running screen (Textual's own regions), in German and in German basic mode
(ASCII: "ä" -> "ae" makes words longer still)."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual.widgets import Button, Label, Static

from config.i18n import _, set_ascii
from config.model import field_help
from config.validate import Problem
from tests.i18n.test_snapshots_de import GermanFailingMailer
from tests.tui.helpers import (
    EXTERNAL_STARTTLS,
    app_for,
    screen,
    start_test_mail,
    write_config,
)
from tui.dialogs import key_table
from tui.dialogs.help import keys_text
from tui.screens.mail_server import labels

SIZE = (80, 24)
FIX_LABELS = ["use port {port}", "use an external server", "refuse plaintext login"]


def wrapped_lines(text: Text, width: int) -> int:
    return len(text.wrap(Console(width=width, color_system=None), width))


@pytest.fixture(params=["umlauts", "ascii"])
def mode(request, german):
    set_ascii(request.param == "ascii")
    return request.param


def test_every_label_fits_its_column_and_every_help_fits_the_help_lines(mode, tmp_path):
    # OAuth2 as login method: its fields are shown (and measured) too
    path = write_config(tmp_path / "mail.toml", {**EXTERNAL_STARTTLS,
                                                 "mail.smtp.auth_method": "oauth2",
                                                 "mail.smtp.oauth2.client_id": "app",
                                                 "mail.smtp.oauth2.client_secret": "s-1234",
                                                 "mail.smtp.oauth2.token_url":
                                                     "https://login.example/token"})

    async def body():
        app = app_for(path, lang="de")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            form = screen(app)
            cut = [(str(lb.content), lb.size.width) for lb in form.query(".label").results(Label)
                   if cell_len(str(lb.content)) >= lb.size.width]
            assert not cut, f"labels cut (need a blank before the field): {cut}"
            help_box = form.query_one("#help", Static)
            width, height = help_box.content_region.width, help_box.content_region.height
            assert (width, height) == (78, 3)
            for key, label in labels().items():
                text = Text(label + ": ", style="bold")
                text.append(field_help(key))
                assert wrapped_lines(text, width) <= height, key
            button_help = Text(_("Send test mail: ")).append(_(
                "sends a test mail with the values on screen, even unsaved ones, and "
                "shows each step. Ctrl+T does the same."))
            assert wrapped_lines(button_help, width) <= height

            # the key line: whole keys only, F1 always, "^F" with any fix, and
            # the basic/rich switch too at 80 columns (the fix is shortened to
            # "^F Fix"/"^F Korrektur" rather than drop a key)
            keys = form.query_one("#keys", Static)
            width = keys.content_region.width
            for fix in FIX_LABELS:
                problem = Problem("mail.relay", "warning", "x", fix={"mail.relay": "external"},
                                  fix_label=_(fix).format(port=465))
                form.problems = [problem]
                line = form.key_line(width)
                assert cell_len(line) <= width, line
                for part in (_("^S Save"), _("^T Test"), "^F", _("^R Revert"), _("^Q Quit"),
                             _("F1 Help"), _("F2 Basic")):
                    assert part in line, (part, line)

    asyncio.run(body())


def test_the_help_dialog_has_one_line_per_key(mode, tmp_path):
    async def body():
        app = app_for(tmp_path / "mail.toml", lang="de")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f1")
            await pilot.pause()
            static = app.screen.query_one(".help-keys", Static)
            width = static.content_region.width
            rows = key_table()
            column = max(cell_len(keys) for keys, _what in rows) + 2  # the gap
            for keys, what in rows:
                assert column + cell_len(what) <= width, (keys, what)
            rendered = Console(width=width, color_system=None, file=io.StringIO())
            rendered.print(keys_text(rows))
            lines = rendered.file.getvalue().splitlines()
            assert len(lines) == len(rows), lines  # nothing wrapped
            for (keys, _what), line in zip(rows, lines, strict=True):
                assert line.startswith(keys + "  "), line  # a gap after every key

    asyncio.run(body())


def test_the_test_mail_dialog_buttons_fit_in_one_row(mode, tmp_path):
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)

    async def body():
        app = app_for(path, GermanFailingMailer(), lang="de")
        async with app.run_test(size=SIZE) as pilot:
            await start_test_mail(pilot)
            for _i in range(12):
                await pilot.pause()
            buttons = [b for b in app.screen.query(Button).results(Button) if b.display]
            assert len(buttons) >= 4
            row = buttons[0].parent
            right = row.content_region.right
            for b in buttons:
                assert b.region.right <= right, (str(b.label), b.region, right)
                assert b.region.y == buttons[0].region.y
                assert b.region.width >= cell_len(str(b.label))

    asyncio.run(body())
