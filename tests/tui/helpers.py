"""Shared helpers for the TUI tests."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from config.i18n import set_language
from config.model import Settings
from config.service import SettingsService
from tui.app import make_app
from tui.dialogs import TestMailDialog
from tui.screens.mail_server import MailServerScreen

EXTERNAL_STARTTLS = {
    "mail.relay": "external",
    "mail.sender": "pbx@customer.example",
    "mail.sender_name": "Reception PBX",
    "mail.test_recipient": "admin@customer.example",
    "mail.smtp.server": "smtp.example.com:587",
    "mail.smtp.security": "starttls",
    "mail.smtp.username": "pbx@customer.example",
    "mail.smtp.password": "not-shown-anywhere",
}


def write_config(path: Path, values: dict | None = None) -> Path:
    """Save ``values`` over the defaults through the real service (the file
    then has the service's commented template)."""
    svc = SettingsService(path)
    svc.load()
    svc.save(Settings().with_values(values or {}))
    return path


def app_for(path: Path, mailer=None, **kwargs):
    return make_app(path, mailer=mailer if mailer is not None else object(), **kwargs)


def screen(app) -> MailServerScreen:
    for s in app.screen_stack:
        if isinstance(s, MailServerScreen):
            return s
    raise AssertionError("the mail-server screen is not on the stack")


async def start_test_mail(pilot) -> TestMailDialog:
    """Ctrl+T opens the test-mail dialog (recipient prefilled), Enter sends;
    the dialog is returned."""
    await pilot.press("ctrl+t")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, TestMailDialog)
    await pilot.press("enter")
    return dialog


# The terminal kinds the snapshots are taken on (issue 15): the environment a
# session on each would have.  vt100: no colour, no dim, ASCII (basic mode,
# NO_COLOR); linux: the Linux console's 16 colours (basic mode); xterm:
# xterm-256color with a UTF-8 locale (rich mode).
TERMINALS: dict[str, dict[str, str]] = {
    "vt100": {"TERM": "vt100", "NO_COLOR": "1", "LANG": "C"},
    "linux": {"TERM": "linux", "LANG": "C.UTF-8"},
    "xterm": {"TERM": "xterm-256color", "LANG": "C.UTF-8"},
}


@contextmanager
def terminal(monkeypatch, kind: str):
    """Set up the environment of terminal ``kind`` (see TERMINALS) as tui.start
    does for a session there; yields a function that builds the app for it
    (``build(path, **make_app_kwargs)``).  Undone at the end."""
    from tui import console

    for name in ("NO_COLOR", "LC_ALL", "LC_CTYPE", "COLORTERM"):  # LANG decides
        monkeypatch.delenv(name, raising=False)
    for name, value in TERMINALS[kind].items():
        monkeypatch.setenv(name, value)
    mode = console.detect_mode(None, tty_name="")
    console.prepare_environment(mode)

    def build(path: Path, mailer=None, **kwargs):
        app = app_for(path, mailer, mode=mode, **kwargs)
        console.install(app, mode)
        return app

    try:
        yield build
    finally:
        from tui.console.mode import restore_environment

        restore_environment()  # nothing of this terminal for later tests
        set_language("en")  # make_app(lang=...) sets it for the process
