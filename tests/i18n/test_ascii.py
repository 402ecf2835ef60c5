"""Basic (ASCII) mode: German is spelled in ASCII at the string level (ä -> ae,
„“ -> "), before layout, so widths are computed on what is shown."""

from __future__ import annotations

from babel.messages.pofile import read_po

from config.i18n import _, ngettext, set_ascii, transliterate
from tests.i18n.conftest import PO


def test_umlauts_and_typographic_marks_are_transliterated():
    assert transliterate("Größe ändern: „Übernehmen“ – grün…") == \
        'Groesse aendern: "Uebernehmen" - gruen...'


def test_every_german_message_becomes_pure_ascii_in_ascii_mode(german):
    set_ascii(True)
    with PO.open("rb") as f:
        catalog = read_po(f)
    def shown(m) -> list[str]:
        if isinstance(m.id, tuple):  # a plural: every form
            return [ngettext(m.id[0], m.id[1], n) for n in (1, 2)]
        return [_(m.id)]

    not_ascii = {m.id: text for m in catalog if m.id for text in shown(m) if not text.isascii()}
    assert not not_ascii
    assert ngettext("expected %s argument", "expected %s arguments", 2) == \
        "erwartet %s Argumente"
    assert _("unencrypted") == "Unverschluesselt"
    assert _("Recipient") == "Empfaenger"
    assert _("SMTP after POP3 was switched off: it needs \"SMTP with authentication\" "
             "set to no.") == ('SMTP nach POP3 wurde ausgeschaltet: es verlangt '
                               '"SMTP mit Authentifizierung" auf Nein.')


def test_ascii_mode_off_keeps_the_umlauts(german):
    set_ascii(False)
    assert _("unencrypted") == "Unverschlüsselt"


def test_the_german_test_mail_is_pure_ascii_in_ascii_mode(german):
    """Even the mail built in basic mode (e.g. Ctrl+T on a serial console) has
    no raw umlaut the receiver's client would need to guess."""
    from config.model import Settings
    from mailer.message import build_test_message

    set_ascii(True)
    msg = build_test_message(Settings().with_values({"mail.relay": "external",
                                                     "mail.smtp.server": "smtp.example.com"}),
                             "admin@example.org")
    text = msg.get_body(("plain",)).get_content()
    assert "Dies ist eine Testmail" in text and "Zertifikate:" in text and "geprueft" in text
    assert text.isascii()
