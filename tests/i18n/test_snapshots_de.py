"""German snapshots at 80x24: the labels in the manual's words, nothing cut.

Look at the SVGs in __snapshots__/test_snapshots_de/ when one changes (e.g.
``rsvg-convert -o /tmp/x.png <file>.svg``).  What to look for is in each
docstring; in all of them: every label is whole (the label column is 18 cells:
"Absender-Adresse", "SMTP mit Auth." and "SMTP nach POP3" must not be cut), the
key line at the bottom shows all keys, and no English word is left except the
key names, protocol words (TLS, STARTTLS, EHLO, QUIT) and the failure class.

The test-mail dialog uses a stand-in mailer (below) with fixed steps whose
titles, message and advice come from the mailer's own msgids through the
catalog, so the picture shows the real German texts without a host, a port or
a clock.
"""

from __future__ import annotations

from config.i18n import _
from mailer.diagnosis import describe
from mailer.report import Failure, Report, Step, TranscriptLine
from tests.tui.fakes import settled
from tests.tui.helpers import EXTERNAL_STARTTLS, app_for, start_test_mail, write_config

SIZE = (80, 24)
SERVER = "smtp.example.com:587"


class GermanFailingMailer:
    """Fails at the login like a server answering 535; texts translated at call time."""

    def send_test_mail(self, *, settings, recipient, on_step=None, cancel=None) -> Report:
        user = settings.mail.smtp.username
        steps = [
            ("settings", _("Check the settings")),
            ("resolve", _("Look up {host}").format(host="smtp.example.com")),
            ("connect", _("Connect to {server}").format(server=SERVER)),
            ("greeting", _("Wait for the server's greeting")),
            ("ehlo", _("Introduce ourselves (EHLO)")),
            ("starttls", _("Switch to encryption (STARTTLS)")),
            ("certificate", _("Check the server's certificate")),
            ("login", _("Log in as {user}").format(user=user)),
        ]
        report = Report(relay="external", server=SERVER, recipients=[recipient])
        report.transcript = [TranscriptLine("S", "220 smtp.example.com ESMTP"),
                             TranscriptLine("C", "AUTH PLAIN <redacted>")]
        reply = "535 5.7.8 Authentication credentials invalid"
        for name, title in steps:
            if on_step:
                on_step(Step(name=name, title=title, status="running"))
            status = "failed" if name == "login" else "ok"
            step = Step(name=name, title=title, status=status,
                        reply=reply if status == "failed" else "")
            report.steps.append(step)
            if on_step:
                on_step(step)
        message, advice = describe("auth_failed", {"server": SERVER, "reply": reply})
        report.failure = Failure(cls="auth_failed", message=message, advice=advice,
                                 step="login")
        return report


def test_main_screen_in_german(snap_compare, tmp_path):
    """External STARTTLS server filled in: "Mail-Server ( ) intern (*) extern",
    "Absender-Adresse", "Absendername", "HTML-Emails [X] HTML-Emails versenden
    (mit Logo)", the button "Testmail senden", the section "Externer
    Mailserver", "SMTP-Server", "Sicherheit  TLS  STARTTLS  Unverschlüsselt",
    "Zertifikate [X] verifizieren", "SMTP mit Auth.  Ja  Nein"; the help line
    for "Mail-Server" in three lines; key line "^S Sichern  ^T Test  ^R
    Zurücksetzen  ^Q Ende  F1/^G Hilfe  F2 Basis"."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    assert snap_compare(app_for(path, lang="de"), terminal_size=SIZE)


def test_main_screen_in_german_with_the_longest_fix_in_the_key_line(snap_compare, tmp_path):
    """Defaults (internal relay): the M2 warning in German under "Mail-Server"
    with "[Strg+F: extern versenden]", and the key line whole on one line with
    every key: "^F Beheben" (the fix's name is in the form), "^R
    Zurücksetzen", "F1 Hilfe", "F2 Basis"; the external block dimmed, its
    title saying "(nicht verwendet: der Mail-Server ist intern)"."""
    assert snap_compare(app_for(tmp_path / "mail.toml", lang="de"), terminal_size=SIZE)


def test_failed_test_mail_dialog_in_german(snap_compare, tmp_path):
    """Ctrl+T, Enter: "Testmail senden", "Empfänger  admin@customer.example",
    the steps "[ ok ] Einstellungen prüfen" ... "[FAIL] Anmelden als
    pbx@customer.example", then "Fehlgeschlagen: smtp.example.com:587
    hat die Anmeldung abgelehnt: 535 ...", "Was tun: Prüfen Sie Benutzername und
    Passwort ...", and the buttons "Erneut (Enter)  Log (^T)  Log speichern (l)
    Schließen (Esc)" all whole in one row."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)

    async def run_before(pilot):
        dialog = await start_test_mail(pilot)
        await settled(pilot, dialog, "fail")

    assert snap_compare(app_for(path, GermanFailingMailer(), lang="de"), terminal_size=SIZE,
                        run_before=run_before)


def test_help_screen_in_german(snap_compare, tmp_path):
    """F1: "Tasten", the focused field's help ("Mail-Server: Intern versendet
    ..."), each key (Strg+S, ...) in the left column, its German
    description on ONE line in the right one ("Umschalt+Tab, Auf" and "voriges
    Feld" apart, not run together); "v weiter unten" on the box's edge."""
    async def run_before(pilot):
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app_for(tmp_path / "mail.toml", lang="de"), terminal_size=SIZE,
                        run_before=run_before)
