"""Text that comes from data, made safe for a terminal.

Every string that comes from data -- config values, file content and file
names, server replies, exception texts, the transcript -- passes through
:func:`visible` on its way to the screen, stdout or stderr.  It shows as a
visible escape (``\\x1b``, ``\\x9b``, ``\\u202e``) every character that a
terminal would act on instead of print:

* C0 controls (U+0000-U+001F), ESC among them; TAB and LF only where the
  caller's layout allows them (``tab=True``, ``newline=True``);
* DEL (U+007F) and the C1 controls (U+0080-U+009F: CSI, OSC, ...);
* the line and paragraph separators U+2028, U+2029;
* the bidirectional controls U+202A-U+202E, U+2066-U+2069 and the marks
  U+200E, U+200F, U+061C (a U+202E makes ``txt.exe`` look like ``exe.txt``).

JSON output escapes the same characters by JSON's rules (:func:`json_text`:
``\\u009b``, ``\\u202e``), so a consumer that prints a JSON string raw is safe
too.  This module is the lowest layer (config/) so that the CLI, the mailer
and the TUI share it; it imports nothing.
"""

from __future__ import annotations

BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
# Everything a terminal acts on, except TAB and LF (added per call).
_UNSAFE = (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0),
           0x2028, 0x2029, *BIDI)


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE: dict[int, str] = {c: _escape(c) for c in _UNSAFE}
_TABLE_NO_LF = {**_TABLE, 0x0A: "\\n"}
_TABLE_NO_TAB = {**_TABLE, 0x09: "\\t"}
_TABLE_ONE_LINE = {**_TABLE, 0x0A: "\\n", 0x09: "\\t"}
# What json.dumps(ensure_ascii=False) leaves raw but a terminal acts on: in a
# JSON text these characters only occur inside strings, so replacing them by
# \\u escapes keeps the document valid and equal.
_JSON: dict[int, str] = {c: f"\\u{c:04x}" for c in _UNSAFE if c >= 0x20}


def visible(text: str, *, newline: bool = False, tab: bool = False) -> str:
    """``text`` with every control, DEL, C1 and bidi character shown as an
    escape.  ``newline=True`` keeps LF, ``tab=True`` keeps TAB; otherwise
    they show as ``\\n`` and ``\\t`` (one line)."""
    if newline and tab:
        table = _TABLE
    elif newline:
        table = _TABLE_NO_TAB
    elif tab:
        table = _TABLE_NO_LF
    else:
        table = _TABLE_ONE_LINE
    return str(text).translate(table)


def visible_lines(text: str) -> str:
    """:func:`visible` keeping LF and TAB (multi-line text: a diff, a transcript)."""
    return visible(text, newline=True, tab=True)


def is_visible(text: str) -> bool:
    """Whether :func:`visible_lines` leaves ``text`` unchanged."""
    return text == visible_lines(text)


def json_text(dumped: str) -> str:
    """A JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1,
    the separators and the bidi controls escaped as ``\\uXXXX`` (json escapes
    the C0 controls itself)."""
    return dumped.translate(_JSON)


def has_encoded_word(text: str) -> bool:
    """Whether ``text`` holds something an RFC 2047 decoder could take for an
    encoded-word (``=?charset?q?...?=``): "=?" with a later "?=".  The email
    package decodes those in a display name into any bytes, CR and LF too, so
    user text with one is refused (docs/mailer.md)."""
    start = text.find("=?")
    return start >= 0 and text.find("?=", start + 2) >= 0


def _picture(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures: ␀ ... ␛ ... ␟
    if code == 0x7F:
        return "\u2421"            # ␡
    return "\ufffd"                # C1, separators, bidi: �


_CELLS: dict[int, str] = {c: _picture(c) for c in (*_UNSAFE, 0x09, 0x0A)}


def cells(text: str) -> str:
    """``text`` with every character :func:`visible` escapes (TAB and LF too)
    replaced by ONE visible character (a Control Picture such as ␛, or �):
    for an editable field, where each character must stay one cell so that
    the cursor stays where the user thinks it is."""
    return str(text).translate(_CELLS)
