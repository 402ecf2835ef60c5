"""Snapshots on each terminal kind (issue 15): vt100 (no colour, no dim, ASCII:
basic mode with NO_COLOR and LANG=C), linux (the console's 16 colours, basic
mode) and xterm (xterm-256color, UTF-8, rich mode), at 80x24 and at 60x20, the
smallest size the form is laid out for (tui/dialogs/too_small.py).

In all of them: every state is readable without colour -- placeholders in
parentheses "(e.g. ...)", disabled rows marked "(not used)" in words, the
focused widget in reverse video, "v more below" on the form's bottom edge while
more is out of view; nothing is cut without a sign (long labels wrap, rows of
options stack, the help and key lines end in an ellipsis when cut).  On the
vt100 pictures no character is outside ASCII ("|*|" for a chosen option).
Look at them with ``rsvg-convert -o /tmp/x.png <file>.svg``.
"""

from __future__ import annotations

import pytest

from tests.tui.helpers import EXTERNAL_STARTTLS, terminal, write_config

KINDS = ["vt100", "linux", "xterm"]
SIZES = [(80, 24), (60, 20)]
IDS = ["80x24", "60x20"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_fresh_file_after_ctrl_f(snap_compare, tmp_path, monkeypatch, kind, size):
    """No file yet, Ctrl+F (use an external server): "Mail server" has
    "external" chosen; SMTP server empty with "(e.g. smtp.example.com:587)" in
    parentheses and "Error: is required ..." under it (wrapped, whole);
    "Sender name" shows "(optional)"; the status line says "Applied: use an
    external server"; the form's bottom edge says "v more below" (the POP3
    server row with "(not used)" is further down).  At 60x20 "SMTP with
    authentication" wraps onto two lines, the Security options stack one per
    line, the help ends in "... F1: all of it" and the key line in an ellipsis
    (F2 left out, F1 kept)."""
    async def run_before(pilot):
        await pilot.press("ctrl+f")
        await pilot.pause()

    with terminal(monkeypatch, kind) as build:
        assert snap_compare(build(tmp_path / "mail.toml"), terminal_size=size,
                            run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("kind", KINDS)
def test_save_review_in_the_screens_words(snap_compare, tmp_path, monkeypatch, kind, size):
    """An external STARTTLS setup; the security changed to TLS, the password
    retyped and the sender name emptied, then Ctrl+S: the dialog lists
    "Sender name: Reception PBX -> (empty)", "Security: STARTTLS -> TLS",
    "Password: changed" (never a password or its length), and the buttons
    "Save (s)  TOML diff (t)  Cancel (Esc)", "Save (s)" focused (reverse)."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)

    async def run_before(pilot):
        form = pilot.app.screen
        form.query_one("#f-mail-sender_name").focus()
        await pilot.press("ctrl+u")
        form.query_one("#f-mail-smtp-security").focus()
        await pilot.press("left")
        form.query_one("#f-mail-smtp-password").focus()
        await pilot.press("ctrl+u", *"another-secret")
        for _ in range(3):
            await pilot.pause()
        form.query_one("#form").scroll_end(animate=False)  # the same picture behind
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

    with terminal(monkeypatch, kind) as build:
        assert snap_compare(build(path), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("kind", KINDS)
def test_german_quit_dialog_at_60x20(snap_compare, tmp_path, monkeypatch, kind):
    """German, 60x20, an edit then Ctrl+Q: "Ungespeicherte Änderungen" with
    "Speichern (s)  Verwerfen (v)  Abbrechen (Esc)" (the letters are the German
    words' own); behind it the title says "[geändert]", the labels
    "Absender-E-Mail-Adresse" wrapped after "E-Mail-" and "SMTP mit
    Authentifizierung" over two lines.  vt100: "Aenderungen", "geaendert"
    (ASCII spelling, no "?")."""
    path = write_config(tmp_path / "mail.toml", EXTERNAL_STARTTLS)

    async def run_before(pilot):
        await pilot.press("right", "ctrl+q")
        await pilot.pause()

    with terminal(monkeypatch, kind) as build:
        assert snap_compare(build(path, lang="de"), terminal_size=(60, 20),
                            run_before=run_before)
