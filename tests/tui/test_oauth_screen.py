"""The screen's provider presets and OAuth2 sign-in, driven by the keyboard
(Pilot), against the authlib authorization server and the introspecting
aiosmtpd server of tests/servers/oauth.py."""

from __future__ import annotations

import tomllib

import mailer
from config.tokens import TokenStore, token_path
from tests.servers.oauth import CLIENT_SECRET, MAILBOX
from tests.tui.helpers import app_for, screen, start_test_mail, write_config
from tests.tui.test_behaviour import SIZE, run_async, screen_text, tab_to, wait_for
from tui.dialogs import ChecklistDialog, DeviceLoginDialog, PresetDialog, SaveDialog


@run_async
async def test_a_provider_preset_fills_the_form_shows_the_checklist_and_saves(tmp_path):
    path = write_config(tmp_path / "mail.toml", {
        "mail.relay": "external", "mail.sender": MAILBOX,
        "mail.smtp.server": "smtp.example.com:587", "mail.smtp.username": MAILBOX,
        "mail.smtp.password": "old-password-1"})
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        form = screen(app)
        assert not form.query_one("#oauth2").display  # password login: no OAuth2 fields
        await tab_to(pilot, "provider")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PresetDialog)
        await tab_to(pilot, "preset-microsoft365")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistDialog)
        assert "SMTP.SendAsApp" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        values = form.current()
        assert values.mail.smtp.server == "smtp.office365.com:587"
        assert values.mail.smtp.auth_method == "oauth2"
        assert values.mail.smtp.oauth2.scope == "https://outlook.office365.com/.default"
        assert form.query_one("#oauth2").display
        assert form.query_one("#row-f-mail-smtp-password").disabled
        assert "Microsoft 365 (app)" in screen_text(app)
        await tab_to(pilot, "f-mail-smtp-oauth2-client_id", limit=40)
        await pilot.press(*"11111111-2222-3333")
        await tab_to(pilot, "f-mail-smtp-oauth2-tenant")
        await pilot.press(*"contoso.example")
        await tab_to(pilot, "f-mail-smtp-oauth2-client_secret")
        await pilot.press(*CLIENT_SECRET)
        assert CLIENT_SECRET not in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog), screen_text(app)
        assert CLIENT_SECRET not in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert not form.dirty
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    smtp = data["mail"]["smtp"]
    assert smtp["server"] == "smtp.office365.com:587" and smtp["auth_method"] == "oauth2"
    assert smtp["oauth2"]["tenant"] == "contoso.example"
    assert smtp["oauth2"]["client_secret"] == CLIENT_SECRET
    assert smtp["oauth2"]["token_url"].endswith("/{tenant}/oauth2/v2.0/token")


@run_async
async def test_device_sign_in_from_the_screen_then_a_test_mail(tmp_path, oauth_lab):
    smtp = oauth_lab.smtp()
    values = oauth_lab.settings_values("device_code", smtp)
    values["mail.test_recipient"] = "admin@example.org"
    values["mail.sender"] = MAILBOX
    path = write_config(tmp_path / "mail.toml", values)
    app = app_for(path, mailer=mailer)
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "oauth-login", limit=40)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DeviceLoginDialog)
        code = oauth_lab.auth.wait_for_user_code()
        await wait_for(pilot, lambda: code in screen_text(app))
        assert "/device" in screen_text(app)
        oauth_lab.auth.approve(code, MAILBOX)
        await wait_for(pilot, lambda: "Signed in" in screen_text(app))
        for token in oauth_lab.auth.tokens.values():
            assert token.access_token not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert TokenStore(token_path(path)).entries()
        dialog = await start_test_mail(pilot)
        await wait_for(pilot, lambda: dialog.report is not None)
        assert dialog.report.ok, dialog.report.failure
        assert any(s.name == "token" for s in dialog.report.steps)
    assert smtp.wait_for_messages(1)[0].user == MAILBOX


@run_async
async def test_escape_cancels_the_device_sign_in(tmp_path, oauth_lab):
    smtp = oauth_lab.smtp()
    path = write_config(tmp_path / "mail.toml", oauth_lab.settings_values("device_code", smtp))
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await tab_to(pilot, "oauth-login", limit=40)
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DeviceLoginDialog)
        oauth_lab.auth.wait_for_user_code()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DeviceLoginDialog)
        assert dialog.cancel.is_set()
    assert not TokenStore(token_path(path)).entries()
