"""Translation helpers shared by every layer (config, mailer, CLI, TUI).

Every user-facing string is wrapped in ``_()`` at the point where it is used
(call time, not import time), so that :func:`set_language` chosen at start-up
applies everywhere.  Catalogs live in ``config/locale/<lang>/LC_MESSAGES/
mailconsole.mo``; they are compiled from ``.po`` files by the normal install.
A missing catalog falls back to English and never raises.  English is the
language of the msgids and has no catalog.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "mailconsole"
SUPPORTED = ("en", "de")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"
_ascii = False

# Basic (ASCII) mode on dumb terminals: German text is transliterated at the
# string level (so widths are computed on the ASCII text), never cut.
_TRANSLIT = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
    "„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-",
    "…": "...", "→": "->", "←": "<-", "✓": "+", "✗": "x", "•": "*", "·": "-", "°": "o",
    "\u00a0": " ",
})


def transliterate(text: str) -> str:
    """``text`` with umlauts and typographic characters spelled in ASCII."""
    return text.translate(_TRANSLIT)


def set_ascii(enabled: bool) -> None:
    """In ASCII mode every translated message is transliterated (ä -> ae)."""
    global _ascii
    _ascii = enabled


def ascii_only() -> bool:
    return _ascii


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """Pick a supported language from LC_ALL, LC_MESSAGES, LANG (first set wins)."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            code = value.split(".")[0].split("_")[0].split("@")[0].lower()
            return code if code in SUPPORTED else "en"
    return "en"


def set_language(lang: str | None = None) -> str:
    """Activate ``lang`` (or the environment's language); return the one in use."""
    global _translation, _language
    code = (lang or language_from_environment()).split("_")[0].lower()
    if code not in SUPPORTED:
        code = "en"
    _translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code],
                                       fallback=True)
    _language = code
    return code


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate ``message`` into the active language."""
    text = _translation.gettext(message)
    return transliterate(text) if _ascii else text


def ngettext(singular: str, plural: str, n: int) -> str:
    text = _translation.ngettext(singular, plural, n)
    return transliterate(text) if _ascii else text


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now."""
    return message
