"""Issue 15: an admin never misreads the screen.  Every state is shown by words
or characters that survive a terminal without colour or dim, messages belong
to the state they describe, nothing is cut without a sign, and every key does
what the screen says it does (in English and German)."""

from __future__ import annotations

import os
import tomllib

import pytest
from textual.widgets import Input, Static

from config.i18n import set_language
from config.model import Settings
from tests.tui.fakes import FakeMailer
from tests.tui.helpers import EXTERNAL_STARTTLS, app_for, screen, write_config
from tests.tui.test_behaviour import run_async, screen_text
from tui.dialogs import ConfirmDialog, HelpScreen, QuitDialog, SaveDialog, TestMailDialog
from tui.dialogs.too_small import MIN_SIZE, TooSmallScreen
from tui.screens.mail_server import describe_changes, fit
from tui.widgets import FieldInput

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def _english_at_the_end():
    yield
    set_language("en")


def _status(app) -> str:
    return str(screen(app).query_one("#status", Static).content).strip()


@run_async
async def test_every_placeholder_is_in_parentheses_and_example_hosts_agree(tmp_path):
    app = app_for(tmp_path / "mail.toml", FakeMailer("ok"))
    async with app.run_test(size=SIZE) as pilot:
        inputs = list(app.screen.query(FieldInput))
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen, TestMailDialog)
        inputs += list(app.screen.query(FieldInput))
        shown = {i.id: i.placeholder for i in inputs if i.placeholder}
        assert shown, "no placeholders at all?"
        for ident, text in shown.items():
            assert text.startswith("(") and text.endswith(")"), (ident, text)
        assert shown["f-mail-pop3-server"] == "(e.g. pop3.example.com)"
        assert shown["recipient"] == "(e.g. admin@example.com)"
    # the POP3 error names the same example host as the placeholder
    from config.validate import validate

    problems = validate(Settings().with_values({
        "mail.relay": "external", "mail.smtp.server": "smtp.example.com",
        "mail.smtp.authentication": False, "mail.pop3.enabled": True}))
    pop3 = [p.message for p in problems if p.key == "mail.pop3.server"]
    assert pop3 and "pop3.example.com" in pop3[0], pop3


@run_async
async def test_a_disabled_field_says_not_used_in_words(tmp_path):
    path = write_config(tmp_path / "mail.toml", {**EXTERNAL_STARTTLS})
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        form = screen(app)
        notes = {n.parent.id: n for n in form.query(".off-note")}
        # authentication on: POP3 server off; user name and password in use
        assert notes["row-f-mail-pop3-server"].display
        assert not notes["row-f-mail-smtp-username"].display
        assert not notes["row-f-mail-smtp-server"].display
        # internal relay: the section says it, the rows inside say nothing more
        form.query_one("#f-mail-relay").focus()
        await pilot.press("left")
        await pilot.pause()
        title = str(form.query_one("#external-title", Static).content)
        assert "(not used: the mail server is internal)" in title
        assert not any(n.display for n in notes.values())


@run_async
async def test_a_status_message_vanishes_when_the_form_changes(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")  # internal -> external
        await pilot.pause()
        assert _status(app) == "Applied: use an external server"
        await pilot.press("tab", "x")  # an edit
        await pilot.pause()
        assert _status(app) == ""
        # "Not saved" names the label, not the key path, and goes once fixed
        await pilot.press("ctrl+s")
        await pilot.pause()
        status = _status(app)
        assert status.startswith("Not saved:") and "mail." not in status, status
        assert "Sender address:" in status, status
        await pilot.press("backspace")
        await pilot.pause()
        assert _status(app) == ""


@run_async
async def test_saved_goes_away_with_the_next_edit(tmp_path):
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "end", "x", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        await pilot.press("s")
        await pilot.pause()
        assert _status(app) == "Saved mail.toml."
        await pilot.press("backspace")
        await pilot.pause()
        assert _status(app) == ""


def test_long_text_is_cut_with_a_sign():
    from rich.text import Text

    long = Text("word " * 60)
    cut = fit(long, 40, 2, more="F1: all of it")
    lines = cut.plain.splitlines()
    assert len(lines) == 2 and lines[-1].endswith("\u2026 F1: all of it"), lines
    assert all(len(line) <= 40 for line in lines)
    assert fit(Text("short"), 40, 2).plain == "short"


@pytest.mark.parametrize("lang", ["en", "de"])
@run_async
async def test_the_key_line_keeps_every_key_at_80_columns_with_a_fix(tmp_path, lang):
    app = app_for(tmp_path / "mail.toml", lang=lang)  # internal relay: the M2 fix
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = str(screen(app).query_one("#keys", Static).content)
        assert "^F" in line and ("F2 Basic" in line or "F2 Basis" in line), line
        assert "\u2026" not in line and "..." not in line


@run_async
async def test_a_cut_key_line_ends_in_an_ellipsis_and_keeps_f1(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        line = str(screen(app).query_one("#keys", Static).content)
        assert line.endswith("\u2026") and "F1" in line and len(line) <= 58, line


@run_async
async def test_too_small_a_terminal_gets_a_notice_until_it_grows(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.resize_terminal(MIN_SIZE[0] - 1, MIN_SIZE[1])
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        assert "too small: 59x20" in screen_text(app)
        await pilot.resize_terminal(*MIN_SIZE)
        await pilot.pause()
        assert not isinstance(app.screen, TooSmallScreen)
        await pilot.press("ctrl+q")  # clean form: quits from under the notice too
    assert app.return_code == 0


@run_async
async def test_the_focused_row_stays_in_view_when_an_error_appears_above(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=SIZE) as pilot:
        deployment = screen(app).query_one("#f-appliance-deployment")
        deployment.focus()
        await pilot.pause()
        await pilot.press("right")  # cloud: the sender error appears far above
        for _ in range(3):
            await pilot.pause()
        form = screen(app).query_one("#form")
        assert deployment.region.y >= form.region.y
        assert deployment.region.bottom <= form.content_region.bottom, (
            deployment.region, form.content_region)


@run_async
async def test_more_below_is_said_in_words(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        form = screen(app).query_one("#form")
        assert form.border_subtitle == "v more below"
        form.scroll_end(animate=False)
        await pilot.pause()
        assert form.border_subtitle == "^ more above"


@run_async
async def test_esc_that_closes_a_dialog_and_one_more_do_not_quit(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.return_code is None and app.is_running
        assert _status(app) == "Esc again quits (Ctrl+Q quits at once)."
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 0


@run_async
async def test_ctrl_c_aborts_a_dialog_and_quits_the_form_asking_when_dirty(tmp_path):
    app = app_for(tmp_path / "mail.toml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("ctrl+c")  # closes the help, like Esc
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and app.is_running
        await pilot.press("right", "ctrl+c")  # dirty: asks
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("ctrl+c")  # ... and Ctrl+C there cancels
        await pilot.pause()
        assert not isinstance(app.screen, QuitDialog) and app.is_running
        await pilot.press("left", "ctrl+c")  # clean again: quits at once
        await pilot.pause()
    assert app.return_code == 0


@run_async
async def test_german_dialogs_answer_to_the_first_letters_of_their_buttons(tmp_path):
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    app = app_for(path, lang="de")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "end", "x", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        assert "Speichern (s)" in screen_text(app)
        await pilot.press("j")  # ja
        await pilot.pause()
        assert not isinstance(app.screen, SaveDialog)
        assert tomllib.loads(path.read_text(encoding="utf-8"))["mail"]["sender"].endswith("x")
        await pilot.press("x", "ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitDialog)
        text = screen_text(app)
        assert "Speichern (s)" in text and "Verwerfen (v)" in text, text
        await pilot.press("a")  # Abbrechen
        await pilot.pause()
        assert not isinstance(app.screen, QuitDialog) and app.is_running
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "Zurücksetzen (z)" in screen_text(app)
        await pilot.press("z")
        await pilot.pause()
        assert not screen(app).dirty
        await pilot.press("x", "ctrl+q")
        await pilot.pause()
        await pilot.press("v")  # verwerfen
        await pilot.pause()
    assert app.return_code == 0
    assert not tomllib.loads(path.read_text(encoding="utf-8"))["mail"]["sender"].endswith("xx")


@run_async
async def test_a_letter_typed_in_a_text_field_of_a_dialog_stays_text(tmp_path):
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    app = app_for(path, FakeMailer("ok"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("end", "s", "c")
        await pilot.pause()
        assert isinstance(app.screen, TestMailDialog)
        assert app.screen.query_one("#recipient", Input).value.endswith("sc")


def test_the_save_review_says_what_changed_in_the_screen_words():
    old = Settings().with_values({"mail.smtp.password": "old-secret"})
    new = old.with_values({"mail.relay": "external", "mail.smtp.server": "smtp.example.com:587",
                           "mail.smtp.security": "none", "mail.smtp.password": "new-secret",
                           "mail.html": False})
    changes = describe_changes(old, new)
    assert changes == [
        ("Mail server", "internal", "external"),
        ("HTML e-mails", "yes", "no"),
        ("SMTP server", "(empty)", "smtp.example.com:587"),
        ("Security", "STARTTLS", "unencrypted"),
        ("Password", "", "changed"),
    ]
    assert "secret" not in repr(changes)
    set_language("de")
    assert describe_changes(old, new)[3] == ("Sicherheit", "STARTTLS", "Unverschlüsselt")
    assert describe_changes(old, new)[4] == ("Passwort", "", "geändert")


@run_async
async def test_the_save_review_has_the_raw_diff_one_key_away(tmp_path):
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        screen(app).query_one("#f-mail-smtp-security").focus()
        await pilot.press("left", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog)
        assert "Security: STARTTLS -> TLS" in screen_text(app)
        await pilot.press("t")
        await pilot.pause()
        text = screen_text(app)
        assert '+security = "tls"' in text and "Security:" not in text, text
        await pilot.press("t")
        await pilot.pause()
        assert "Security: STARTTLS -> TLS" in screen_text(app)


def test_without_a_utf8_locale_the_screen_is_ascii():
    from tui.console.mode import ascii_needed, locale_has_unicode

    assert not locale_has_unicode({"LANG": "C", "TERM": "xterm"})
    assert not locale_has_unicode({})
    assert not locale_has_unicode({"LC_ALL": "POSIX", "LANG": "de_DE.UTF-8"})
    assert locale_has_unicode({"LANG": "de_DE.UTF-8"})
    assert locale_has_unicode({"LC_CTYPE": "C.utf8"})
    assert ascii_needed("rich", {"LANG": "C"}) and ascii_needed("basic", {"LANG": "C.UTF-8"})
    assert not ascii_needed("rich", {"LANG": "C.UTF-8"})


def test_term_dumb_gets_the_command_line_instead_of_the_screen(tmp_path, monkeypatch, capsys):
    from tui.start import run

    monkeypatch.setenv("TERM", "dumb")
    assert run(tmp_path / "mail.toml") == 2
    err = capsys.readouterr().err
    assert "TERM=dumb" in err and "mailconsole show" in err and "--basic" in err
    assert not (tmp_path / "mail.toml").exists()
    assert os.environ["TERM"] == "dumb"


def test_the_test_mail_dialog_says_the_failure_once():
    """The failed step's detail is the failure's message: shown in the result,
    not again under the step; a wrapped detail keeps its indent."""
    from rich.console import Console

    from mailer.report import Failure, Report, Step

    dialog = TestMailDialog.__new__(TestMailDialog)
    message = "The server refused the user name or password (535 5.7.8 bad credentials)."
    dialog.report = Report(failure=Failure(cls="auth_failed", message=message, advice="x"))
    dialog.steps = [Step(name="connect", title="Connect", status="ok",
                         detail="a long detail " * 8),
                    Step(name="login", title="Log in", status="failed", detail=message)]
    rendered = {}

    class _Static:
        def update(self, table):
            console = Console(width=60, color_system=None, record=True)
            console.print(table)
            rendered["text"] = console.export_text()

    class _Scroll:
        def scroll_end(self, animate=False):
            pass

    dialog.query_one = lambda sel, *a: _Static() if sel == "#steps" else _Scroll()
    dialog._render_steps()
    lines = rendered["text"].splitlines()
    assert "refused" not in rendered["text"]
    detail_lines = [line for line in lines if "a long detail" in line]
    assert len(detail_lines) >= 2 and all(line.startswith(" " * 7) for line in detail_lines)


def test_system_errors_are_said_in_the_active_language_without_errno():
    import errno
    import socket

    from mailer.wire import system_text

    nxdomain = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert system_text(nxdomain) == "the name is not known (no such host)"
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    assert "Errno" not in system_text(refused)
    set_language("de")
    assert system_text(nxdomain) == "der Name ist unbekannt (kein solcher Host)"
    odd = OSError(errno.EROFS, "Read-only file system")
    assert system_text(odd) == "Read-only file system"  # the system's own words


@run_async
async def test_the_test_mail_dialog_answers_to_its_letters_once_the_recipient_is_left(tmp_path):
    from tui.dialogs import AskPathDialog

    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)
    app = app_for(path, FakeMailer("fail"), lang="de")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause()
            if app.screen.sent_once:
                break
        assert "Log speichern (l)" in screen_text(app)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, AskPathDialog)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("a")  # Abbrechen / Schließen
        await pilot.pause()
        assert not isinstance(app.screen, TestMailDialog)
