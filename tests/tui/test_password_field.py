"""The password field never shows the stored password's length: a field with a
stored secret is empty and says "(set: type to replace it)"; typing replaces the
secret, Backspace clears it, Ctrl+R shows the stored one again.  Real service, real
file; what is asserted is the screen's text and the file written."""

from __future__ import annotations

import tomllib

from tests.tui.helpers import app_for, screen, write_config
from tests.tui.test_behaviour import SIZE, run_async, screen_text, tab_to

STORED = "s" * 13  # a length that would show as 13 bullets


def _config(tmp_path):
    return write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
        "mail.smtp.username": "pbx", "mail.smtp.password": STORED})


def _row(app, label: str) -> str:
    return next(line for line in screen_text(app).splitlines() if label in line)


@run_async
async def test_a_stored_password_shows_as_set_never_as_a_mask_of_its_length(tmp_path):
    app = app_for(_config(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "f-mail-smtp-password")
        row = _row(app, "Password")
        assert "(set: type to replace it)" in row, row
        assert "•" not in screen_text(app) and "*" not in row
        assert screen(app).values()["mail.smtp.password"] == STORED  # unchanged: kept
        await pilot.press("ctrl+s")  # nothing changed: nothing to save
        await pilot.pause()
        assert "(set: type to replace it)" in _row(app, "Password")


@run_async
async def test_typing_replaces_the_stored_password_and_backspace_clears_it(tmp_path):
    path = _config(tmp_path)
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "f-mail-smtp-password")
        await pilot.press(*"new")
        await pilot.pause()
        assert screen(app).values()["mail.smtp.password"] == "new"
        await pilot.press("ctrl+r")  # revert (asks): the stored one again, shown as "set"
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await pilot.pause()
        assert screen(app).values()["mail.smtp.password"] == STORED
        assert "(set: type to replace it)" in _row(app, "Password")
        await tab_to(pilot, "f-mail-smtp-password")
        await pilot.press("backspace")
        await pilot.pause()
        assert screen(app).values()["mail.smtp.password"] == ""
        assert "(not set)" in _row(app, "Password")
        assert "[modified]" in screen_text(app)
    # nothing was saved: the file still has the stored password
    assert tomllib.loads(path.read_text())["mail"]["smtp"]["password"] == STORED
