"""Snapshots of the mail-server screen and its dialogs at 80x24 (one at 120x40).

Each test's docstring says what to look for.  Nothing on them may show a
secret, a clock, a host name of this machine or a random port: the config
lives in tmp_path (only its base name "mail.toml" is shown) and the test-mail
pictures use tests/tui/fakes.py's FakeMailer with fixed steps.
"""

from __future__ import annotations

from tests.tui.fakes import FakeMailer, settled
from tests.tui.helpers import (
    EXTERNAL_STARTTLS,
    app_for,
    screen,
    start_test_mail,
    write_config,
)

SIZE = (80, 24)


def test_defaults_internal_relay(snap_compare, tmp_path):
    """No file yet: defaults.  Internal relay chosen, the M2 hint (external is
    recommended) under it, sender pbx@example.com, HTML ticked, the external
    block dimmed (disabled) and its title saying "(not used: the mail server is
    internal)" in words; empty fields show "(optional)" / "(e.g. ...)" in
    parentheses; "v more below" on the form's bottom edge; help lines for "Mail
    server"; key line "^S Save ^T Test ^F Fix ^R Revert ^Q Quit F1/^G Help F2
    Basic" (the fix's name is in the form: "^F Fix" keeps F2 on the line)."""
    assert snap_compare(app_for(tmp_path / "mail.toml"), terminal_size=SIZE)


def test_external_starttls_filled_in(snap_compare, tmp_path):
    """External relay, smtp.example.com:587 with STARTTLS, certificate checks on,
    authentication yes; no M2 hint; Provider "Other" above the server; login
    method "password" with "Sign in" dimmed; the user name field filled, the
    password field empty reading "(set: type to replace it)" (no mask, so nothing
    shows the password's length)."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    assert snap_compare(app_for(path), terminal_size=SIZE)


def test_tls_on_port_25_shows_the_mismatch_warning_with_a_fix(snap_compare, tmp_path):
    """TLS chosen with no port (25): a warning under the field with the one-key
    fix "[Ctrl+F: use port 465]"-style label, and the fix in the key line."""
    path = write_config(tmp_path / "mail.toml", {
        **EXTERNAL_STARTTLS, "mail.smtp.server": "smtp.example.com",
        "mail.smtp.security": "tls"})
    assert snap_compare(app_for(path), terminal_size=SIZE)


def test_unencrypted_warning(snap_compare, tmp_path):
    """Security "unencrypted" without login: the M12 warning under Security."""
    path = write_config(tmp_path / "mail.toml", {
        **EXTERNAL_STARTTLS, "mail.smtp.server": "mail.example.net:25",
        "mail.smtp.security": "none", "mail.smtp.authentication": False,
        "mail.smtp.username": "", "mail.smtp.password": ""})
    assert snap_compare(app_for(path), terminal_size=SIZE)


def test_pop3_mode(snap_compare, tmp_path):
    """SMTP after POP3: authentication "no", the POP3 box ticked, the POP3
    server enabled and filled, user name and password enabled; the focus is on
    the POP3 server (scrolled into view) and the help line explains it."""
    path = write_config(tmp_path / "mail.toml", {
        **EXTERNAL_STARTTLS, "mail.smtp.authentication": False,
        "mail.pop3.enabled": True, "mail.pop3.server": "pop3.example.com"})

    async def focus_pop3(pilot):
        screen(pilot.app).query_one("#f-mail-pop3-server").focus()
        await pilot.pause()

    assert snap_compare(app_for(path), terminal_size=SIZE, run_before=focus_pop3)


def test_validation_errors(snap_compare, tmp_path):
    """A file with a bad sender and an invalid server: "Error:" lines under
    Sender address and SMTP server, as the admin would see them after typing."""
    path = tmp_path / "mail.toml"
    path.write_text('[mail]\nrelay = "external"\nsender = "pbx at example"\n'
                    '[mail.smtp]\nserver = "smtp.example.com:99999"\n', encoding="utf-8")
    assert snap_compare(app_for(path), terminal_size=SIZE)


def test_cloud_with_the_default_sender(snap_compare, tmp_path):
    """Deployment "cloud" with the default sender pbx@example.com: the M4 error
    (the sender must be changed in the cloud)."""
    path = tmp_path / "mail.toml"
    path.write_text('[appliance]\ndeployment = "cloud"\n', encoding="utf-8")
    assert snap_compare(app_for(path), terminal_size=SIZE)


async def _edit_sender_and_relay(pilot):
    await pilot.press("right")  # M1: external
    await pilot.press("tab", "ctrl+u", *"pbx@customer.example")
    # by id, not by counting Tabs: rows above the server come and go (Provider)
    pilot.app.screen.query_one("#f-mail-smtp-server").focus()
    await pilot.pause()
    await pilot.press(*"smtp.example.com:587")
    await pilot.pause()


def test_save_diff_dialog(snap_compare, tmp_path):
    """Ctrl+S after edits: the dialog lists the change in the screen's words,
    "Mail server: internal -> external", "Sender address: pbx@example.com ->
    pbx@customer.example", "SMTP server: (empty) -> smtp.example.com:587";
    buttons "Save (s)  TOML diff (t)  Cancel (Esc)" ("t" shows the raw diff)."""
    path = write_config(tmp_path / "mail.toml", {"mail.smtp.username": "u",
                                                "mail.smtp.password": "old-secret"})

    async def run_before(pilot):
        await _edit_sender_and_relay(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(app_for(path), terminal_size=SIZE, run_before=run_before)


def test_conflict_dialog(snap_compare, tmp_path):
    """The file changed on disk after loading: saving shows "mail.toml changed
    on disk" with Reload (r), Apply on top (a), Cancel (Esc)."""
    path = write_config(tmp_path / "mail.toml", {"mail.smtp.authentication": False})

    async def run_before(pilot):
        await _edit_sender_and_relay(pilot)
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited elsewhere\n",
                        encoding="utf-8")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()

    assert snap_compare(app_for(path), terminal_size=SIZE, run_before=run_before)


def _test_mail(outcome):
    async def run_before(pilot):
        dialog = await start_test_mail(pilot)
        await settled(pilot, dialog, outcome)
    return run_before


def test_test_mail_in_progress(snap_compare, tmp_path):
    """Test mail running: recipient prefilled from mail.test_recipient, the
    steps so far marked [ ok ], the login step [....] running, "Cancel sending
    (Esc)" focused."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    assert snap_compare(app_for(path, FakeMailer("hang")), terminal_size=SIZE,
                        run_before=_test_mail("hang"))


def test_test_mail_succeeded(snap_compare, tmp_path):
    """Test mail sent: every step [ ok ], "Test mail sent to admin@customer.example"
    with the queue id, "Transcript (^T)" and "Save transcript (s)" buttons, Close (Esc)."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    assert snap_compare(app_for(path, FakeMailer("ok")), terminal_size=SIZE,
                        run_before=_test_mail("ok"))


def test_test_mail_failed_with_advice(snap_compare, tmp_path):
    """Test mail failed at login: [FAIL] on the login step (without the message
    under it: it is said once, below), "Failed:" (no internal class name, issue 14)
    with the server's reason and a "What to do:" line of advice."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    assert snap_compare(app_for(path, FakeMailer("fail")), terminal_size=SIZE,
                        run_before=_test_mail("fail"))


def test_unsaved_changes_quit_dialog(snap_compare, tmp_path):
    """Ctrl+Q with unsaved changes: "Unsaved changes" with Save (s),
    Discard (d), Cancel (Esc); the title line behind says [modified]."""
    path = write_config(tmp_path / "mail.toml")

    async def run_before(pilot):
        await pilot.press("right", "ctrl+q")
        await pilot.pause()

    assert snap_compare(app_for(path), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, tmp_path):
    """F1 (also Ctrl+G, or ? outside text fields): first the focused field's
    whole help ("Mail server: Internal sends ..."), then every key in two
    columns, none of them only an F-key; "Esc Esc" and "Ctrl+Q, Ctrl+C" to quit, "?"
    "this help, outside text fields"; "v more below" on the box's bottom edge
    (the dialog keys follow further down)."""
    async def run_before(pilot):
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app_for(tmp_path / "mail.toml"), terminal_size=SIZE,
                        run_before=run_before)


def test_wide_terminal_puts_the_help_beside_the_form(snap_compare, tmp_path):
    """120x40: the whole form fits without scrolling, the help panel is a
    column on the right, with the external STARTTLS settings filled in; at the
    bottom the "Advanced" part (test recipient, CA file, timeout 15/30/60/120 s,
    EHLO name "(automatic)", login without encryption, sendmail program)."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    assert snap_compare(app_for(path), terminal_size=(120, 40))


def test_oauth2_device_code_shows_its_fields_and_sign_in(snap_compare, tmp_path):
    """Microsoft 365 with a person's sign-in (device code), at 80x40 so the whole
    form shows: at the top the warning that nobody has signed in yet (the token
    file is empty); Provider "Microsoft 365 (sign-in)", login method OAuth2 chosen,
    "Sign in" not dimmed, the password row dimmed, under it Client ID and Tenant
    filled, Client secret empty, Key file "(optional)"."""
    path = write_config(tmp_path / "mail.toml", {
        **EXTERNAL_STARTTLS, "mail.smtp.server": "smtp.office365.com:587",
        "mail.smtp.auth_method": "oauth2", "mail.smtp.oauth2.flow": "device_code",
        "mail.smtp.oauth2.token_url":
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "mail.smtp.oauth2.device_authorization_url":
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
        "mail.smtp.oauth2.scope": "https://outlook.office.com/SMTP.Send offline_access",
        "mail.smtp.oauth2.client_id": "11111111-2222-3333-4444-555555555555",
        "mail.smtp.oauth2.tenant": "customer.example"})
    assert snap_compare(app_for(path), terminal_size=(80, 40))
