"""Translation helpers shared by every layer (config, mailer, CLI, TUI).

Every user-facing string is wrapped in ``_()`` at the point where it is used
(call time, not import time), so that :func:`set_language` chosen at start-up
applies everywhere.  Catalogs live in ``config/locale/<lang>/LC_MESSAGES/
mailconsole.mo``; they are compiled from ``.po`` files by the normal install.
A missing catalog falls back to English and never raises.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "mailconsole"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SUPPORTED = ("en", "de")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


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
    _translation = gettext.translation(
        DOMAIN, localedir=str(LOCALE_DIR), languages=[code], fallback=True
    )
    _language = code
    return code


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate ``message`` into the active language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now."""
    return message
