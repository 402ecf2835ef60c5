"""ASCII-only output for basic mode: every character maps to ASCII of the same width.

Textual has no global ASCII mode (Textualize issue #3086): widgets draw glyphs such as
``▊ ▔ ▁ ▐ ▌ ▼ ⭘`` themselves.  :class:`AsciiLineFilter` is installed through the
public ``App.get_line_filters()`` and maps them per segment; the wire layer applies
:func:`to_ascii` once more as a safety net, so nothing >= 0x80 reaches the line.

Widths are kept: one cell in, one cell out (two for a wide character).

Transliteration hook (German): :data:`TRANSLITERATION` maps letters to ONE
ASCII character today (``ä -> a``) so that layouts computed by Textual stay aligned.
Proper ``ä -> ae`` changes the width and must happen before layout (in the strings
given to widgets, i.e. in the catalog lookup for basic mode), not in this filter.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import cell_len

if TYPE_CHECKING:
    from textual.color import Color
    from textual.filter import LineFilter

# Box drawing, blocks, arrows and symbols Textual's widgets draw.
GLYPHS: dict[str, str] = {}
for _chars, _ascii in (
    ("─━═╌╍┄┅┈┉╴╶╸╺╼╾⎯", "-"),
    ("│┃║╎╏┆┇┊┋╵╷╹╻╽╿", "|"),
    ("┌┍┎┏┐┑┒┓└┕┖┗┘┙┚┛├┝┞┟┠┡┢┣┤┥┦┧┨┩┪┫┬┭┮┯┰┱┲┳┴┵┶┷┸┹┺┻┼┽┾┿╀╁╂╃╄╅╆╇╈╉╊╋"
     "╒╓╔╕╖╗╘╙╚╛╜╝╞╟╠╡╢╣╤╥╦╧╨╩╪╫╬╭╮╯╰", "+"),
    ("▔▀", "-"),
    ("▁▂▃", "_"),
    ("▄▅▆▇", "_"),
    ("█▉▊▋▌▍▎▏▐▕▓▒░", "|"),
    ("▼▽▾▿↓⬇", "v"),
    ("▲△▴▵↑⬆", "^"),
    ("►▶▸▹→⟶⮞❯›»", ">"),
    ("◄◀◂◃←⟵⮜❮‹«", "<"),
    ("⭘○◯◦", "o"),
    ("●◉⬤•∙", "*"),
    ("✓✔☑✗✘✕✖☒×", "x"),
    ("…⋯·", "."),
    ("‘’‚′", "'"),
    ("“”„″", '"'),
    ("–—―−", "-"),
    ("\u00a0\u2002\u2003\u2009\u200a", " "),
    ("±", "+"),
    ("≤", "<"),
    ("≥", ">"),
    ("≠", "#"),
    ("°", "o"),
    ("€", "E"),
    ("£", "L"),
    ("©", "c"),
    ("®", "r"),
    ("™", "T"),
    ("¦", "|"),
    ("§", "S"),
    ("¶", "P"),
    ("⚠", "!"),
    ("ℹ", "i"),
):
    for _c in _chars:
        GLYPHS[_c] = _ascii

# One character to one character, so widths stay.  German may want "ae":
# that is a width change and belongs before layout -- see the module docstring.
TRANSLITERATION: dict[str, str] = {
    "ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "s",
}


@lru_cache(maxsize=4096)
def ascii_char(ch: str) -> str:
    """The ASCII stand-in for one character: same cell width (0, 1 or 2)."""
    if ch < "\x80":
        return ch
    mapped = TRANSLITERATION.get(ch) or GLYPHS.get(ch)
    if mapped is not None:
        return mapped
    width = cell_len(ch)
    if width == 0:
        return ""
    base = unicodedata.normalize("NFKD", ch)[:1]
    if width == 1 and base and base < "\x80" and base.isprintable():
        return base  # é -> e, ñ -> n
    return "?" * width


def to_ascii(text: str) -> str:
    """``text`` with every character replaced by ASCII of the same width."""
    if text.isascii():
        return text
    return "".join(ascii_char(ch) for ch in text)


def make_line_filter() -> LineFilter:  # (imports textual lazily)
    """A Textual LineFilter that makes every segment ASCII, widths kept."""
    from rich.segment import Segment
    from textual.filter import LineFilter

    class AsciiLineFilter(LineFilter):
        """Map box/block glyphs and any non-ASCII character to ASCII, widths kept."""

        def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
            return [
                seg if seg.control or seg.text.isascii()
                else Segment(to_ascii(seg.text), seg.style, seg.control)
                for seg in segments
            ]

    return AsciiLineFilter()
