"""Shared helpers for the TUI tests."""

from __future__ import annotations

from pathlib import Path

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
