"""A cell-diff output layer: write only the cells that changed since the last frame.

Textual repaints whole regions and wraps every style segment in its own SGR set and
reset.  On a 9600-baud line every byte is latency, so in basic mode the driver feeds
everything Textual writes into a :class:`WireEncoder` instead of the terminal.  The
encoder interprets that stream as a small virtual terminal (cursor moves, SGR, text,
erase) into a *desired* screen, and on :meth:`WireEncoder.flush` compares it with a
*wire* screen -- what the real terminal shows -- and emits only the differences:
cursor moves chosen by cost, SGR changes relative to the terminal's current pen, and
erase-to-end-of-line for blank tails.  A frame identical to the previous one costs
zero bytes (Textual paints about three identical frames at start-up).

Everything else Textual writes (modes, queries) passes through in order, except
sequences for which ``drop`` is true (basic mode drops the ones a serial terminal
ignores).

The encoder knows nothing about Textual; tests drive it with plain strings.
Cells hold one character each.  A character of cell width 2 is stored in its first
cell with a ``""`` placeholder in the next (rich mode can pass such text through).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# A pen is (attribute bits, fg params, bg params); "" means the terminal default.
Pen = tuple[int, str, str]
DEFAULT_PEN: Pen = (0, "", "")
BLANK: tuple[str, Pen] = (" ", DEFAULT_PEN)

# attribute bit -> (SGR on, SGR off)
_ATTRS: dict[int, tuple[str, str]] = {
    1 << 0: ("1", "22"),  # bold
    1 << 1: ("2", "22"),  # dim
    1 << 2: ("3", "23"),  # italic
    1 << 3: ("4", "24"),  # underline
    1 << 4: ("5", "25"),  # blink
    1 << 5: ("7", "27"),  # reverse
    1 << 6: ("8", "28"),  # conceal
    1 << 7: ("9", "29"),  # strike
    1 << 8: ("53", "55"),  # overline
    1 << 9: ("21", "24"),  # double underline
}
_ON_CODE = {int(on): bit for bit, (on, _off) in _ATTRS.items()}
_OFF_BITS: dict[int, int] = {}
for _bit, (_on, _off) in _ATTRS.items():
    _OFF_BITS[int(_off)] = _OFF_BITS.get(int(_off), 0) | _bit

_CSI = re.compile(r"\x1b\[([0-9;:<=>?]*)([ -/]*)([@-~])")


def apply_sgr(pen: Pen, params: str) -> Pen:
    """The pen after an SGR sequence with these parameters."""
    attrs, fg, bg = pen
    parts = params.replace(":", ";").split(";") if params else ["0"]
    i = 0
    while i < len(parts):
        code = int(parts[i]) if parts[i].isdigit() else 0
        if code == 0:
            attrs, fg, bg = DEFAULT_PEN
        elif code in _ON_CODE:
            attrs |= _ON_CODE[code]
        elif code in _OFF_BITS:
            attrs &= ~_OFF_BITS[code]
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = str(code)
        elif code == 39:
            fg = ""
        elif code == 49:
            bg = ""
        elif code in (38, 48) and i + 1 < len(parts):
            if parts[i + 1] == "5":
                value = ";".join([str(code), *parts[i + 1 : i + 3]])
                i += 2
            else:
                value = ";".join([str(code), *parts[i + 1 : i + 5]])
                i += 4
            if code == 38:
                fg = value
            else:
                bg = value
        i += 1
    return attrs, fg, bg


def _pen_params(pen: Pen) -> list[str]:
    attrs, fg, bg = pen
    params = [on for bit, (on, _off) in _ATTRS.items() if attrs & bit]
    if fg:
        params.append(fg)
    if bg:
        params.append(bg)
    return params


def sgr_transition(current: Pen, target: Pen) -> str:
    """The shortest SGR sequence that turns pen ``current`` into ``target``."""
    if current == target:
        return ""
    if target == DEFAULT_PEN:
        return "\x1b[m"
    reset = "\x1b[0;" + ";".join(_pen_params(target)) + "m"
    c_attrs, c_fg, c_bg = current
    t_attrs, t_fg, t_bg = target
    params: list[str] = []
    removed = c_attrs & ~t_attrs
    readd = 0
    for bit, (_on, off) in _ATTRS.items():
        if removed & bit and off not in params:
            params.append(off)
            # one off code may clear two attributes (22: bold and dim)
            readd |= _OFF_BITS[int(off)] & t_attrs
    for bit, (on, _off) in _ATTRS.items():
        if (t_attrs & ~c_attrs | readd) & bit:
            params.append(on)
    if t_fg != c_fg:
        params.append(t_fg or "39")
    if t_bg != c_bg:
        params.append(t_bg or "49")
    incremental = "\x1b[" + ";".join(params) + "m"
    return incremental if len(incremental) < len(reset) else reset


_SPACE_VISIBLE = (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9)


def _space_pen(pen: Pen) -> Pen:
    """The pen that matters for a space: without underline/reverse/strike/overline
    only the background shows, so the rest is normalised away."""
    if pen[0] & _SPACE_VISIBLE:
        return pen
    return (0, "", pen[2])


def tty_newline(fd: int) -> str:
    """What starts the next row on this tty: "\n" when its output processing turns
    LF into CR LF (OPOST and ONLCR, the default), else "\r\n"."""
    import termios

    try:
        oflag = termios.tcgetattr(fd)[1]
    except (termios.error, OSError):
        return "\r\n"
    onlcr = bool(oflag & termios.OPOST) and bool(oflag & termios.ONLCR)
    return "\n" if onlcr else "\r\n"


def _cup(x: int, y: int) -> str:
    if x == 0:
        return "\x1b[H" if y == 0 else f"\x1b[{y + 1}H"
    return f"\x1b[{y + 1};{x + 1}H"


class WireEncoder:
    """Interpret an ANSI stream into a desired screen; emit only what changed.

    ``write(text)`` feeds the stream; ``flush()`` returns the bytes to send.
    ``translate`` maps each written character before it is stored (basic mode
    passes an ASCII transliteration, so nothing >= 0x80 can reach the wire).
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        translate: Callable[[str], str] | None = None,
        char_width: Callable[[str], int] | None = None,
        drop: Callable[[str], object] | None = None,
        clear_on_start: bool = True,
        bce: bool = False,
        newline: str = "\r\n",
    ) -> None:
        # bce: the terminal erases with the current background (xterm does; a vt100
        # has no colour).  newline: what moves to the start of the next row -- "\n"
        # when the tty's output processing turns it into CR LF (ONLCR, the default).
        self.bce = bce
        self.newline = newline
        self._dirty = False
        self.translate = translate
        self.char_width = char_width or (lambda ch: 1)
        self.drop = drop
        self._out: list[str] = []
        self._pen: Pen = DEFAULT_PEN  # pen of the incoming stream
        self._x = 0  # cursor of the incoming stream
        self._y = 0
        self.cursor_x = 0  # where the app last left its cursor
        self.cursor_y = 0
        self.cursor_visible = False  # what the app asked for (?25h / ?25l)
        # The terminal already shows this encoder's screen in the alternate screen
        # (tui/console/frame_cache.py): the app's next ?1049h is not sent and clears nothing.
        self.keep_screen_once = False
        # While held, flush() sends only mode sequences; the screen is diffed on
        # the first flush after release (the pre-painted frame stays meanwhile).
        self.hold = False
        self.text_written = False  # any text since this was last set to False
        # When a list: every byte of screen output (not the passed-through mode
        # sequences) is appended to it (tui/console/frame_cache.py keeps the start-up's).
        self.recorded: list[str] | None = None
        self._margins: tuple[int, int] | None = None  # the incoming stream's DECSTBM
        # Rows that moved up or down as a block are scrolled on the terminal
        # (DECSTBM + RI / IND, vt100) instead of being rewritten.
        self.scroll = True
        self.resize(width, height, clear=clear_on_start)

    # -- state -------------------------------------------------------------------------

    def resize(self, width: int, height: int, *, clear: bool = True) -> None:
        """New size: forget the terminal's contents; the next flush repaints all."""
        self.width, self.height = max(1, width), max(1, height)
        self.desired = [[BLANK] * self.width for _ in range(self.height)]
        self.wire: list[list[tuple[str, Pen] | None]] = [
            [None] * self.width for _ in range(self.height)
        ]
        self._wire_pen: Pen | None = None
        self._wire_x: int | None = None
        self._wire_y: int | None = None
        self._wire_cursor_visible: bool | None = None
        self._needs_clear = clear
        self._dirty = False  # the app repaints after a resize

    def invalidate(self) -> None:
        """Forget what the terminal shows (Ctrl+L, line noise): next flush repaints."""
        self.wire = [[None] * self.width for _ in range(self.height)]
        self._wire_pen = None
        self._wire_x = self._wire_y = None
        self._wire_cursor_visible = None
        self._needs_clear = True
        self._dirty = True

    def rows(self) -> list[str]:
        """The desired screen as text (for tests)."""
        return ["".join(ch for ch, _pen in row) for row in self.desired]

    # -- input stream ------------------------------------------------------------------

    def write(self, data: str) -> None:
        pos = 0
        n = len(data)
        while pos < n:
            ch = data[pos]
            if ch == "\x1b":
                match = _CSI.match(data, pos)
                if match is None and data[pos + 1 : pos + 2] in ("M", "D"):
                    self._index(-1 if data[pos + 1] == "M" else 1)  # RI / IND
                    pos += 2
                    continue
                if match is None:
                    # a lone ESC or a non-CSI sequence (OSC, ...): pass through
                    end = self._other_escape_end(data, pos)
                    self._passthrough(data[pos:end])
                    pos = end
                    continue
                self._csi(match.group(0), match.group(1), match.group(2), match.group(3))
                pos = match.end()
            elif ch == "\n":
                if self._margins is not None and self._y == self._margins[1]:
                    self._index(1)
                else:
                    self._y += 1
                self._x = 0
                pos += 1
            elif ch == "\r":
                self._x = 0
                pos += 1
            elif ch == "\b":
                self._x = max(0, self._x - 1)
                pos += 1
            elif ch < " " or ch == "\x7f":
                pos += 1  # other C0 controls (BEL...) are not screen content
            else:
                end = pos + 1
                while end < n and data[end] >= " " and data[end] != "\x7f":
                    end += 1
                self._text(data[pos:end])
                pos = end

    @staticmethod
    def _other_escape_end(data: str, pos: int) -> int:
        if pos + 1 >= len(data):
            return pos + 1
        if data[pos + 1] == "]":  # OSC ... BEL or ST
            bel = data.find("\x07", pos)
            st = data.find("\x1b\\", pos)
            ends = [e + 1 for e in (bel,) if e != -1] + [e + 2 for e in (st,) if e != -1]
            return min(ends) if ends else len(data)
        return pos + 2

    def _csi(self, seq: str, params: str, inter: str, final: str) -> None:
        if inter == "" and not params.startswith(("?", ">", "<", "=")):
            if final == "m":
                self._pen = apply_sgr(self._pen, params)
                return
            if final in "Hf":
                parts = params.split(";") if params else []
                row = int(parts[0]) if parts and parts[0] else 1
                col = int(parts[1]) if len(parts) > 1 and parts[1] else 1
                self._x, self._y = col - 1, row - 1
                self.cursor_x, self.cursor_y = self._x, self._y
                return
            count = int(params) if params.isdigit() else 1
            if final in "ABCD":
                dx = {"C": count, "D": -count}.get(final, 0)
                dy = {"B": count, "A": -count}.get(final, 0)
                self._x = max(0, self._x + dx)
                self._y = max(0, self._y + dy)
                self.cursor_x, self.cursor_y = self._x, self._y
                return
            if final == "G":
                self._x = count - 1
                return
            if final == "K":
                self._erase_line(int(params) if params.isdigit() else 0)
                return
            if final == "J":
                self._erase_display(int(params) if params.isdigit() else 0)
                return
            if final == "r":  # DECSTBM: scrolling region (home afterwards)
                parts = params.split(";") if params else []
                top = int(parts[0]) - 1 if parts and parts[0] else 0
                bottom = int(parts[1]) - 1 if len(parts) > 1 and parts[1] else self.height - 1
                full = top <= 0 and bottom >= self.height - 1
                self._margins = None if full or top >= bottom else (top, bottom)
                self._x = self._y = 0
                return
        if params == "?25" and final in "hl":
            self.cursor_visible = final == "h"
            return
        if params == "?1049" and final == "h" and self.keep_screen_once:
            self.keep_screen_once = False
            return
        if params == "?1049" and final in "hl":
            # alternate screen: Textual's frames are absolute, the terminal is blank
            # (or, on a vt100 without an alternate screen, whatever: we clear it)
            self._passthrough(seq)
            self.desired = [[BLANK] * self.width for _ in range(self.height)]
            self.invalidate()
            self._dirty = False  # nothing to draw until the app paints
            return
        self._passthrough(seq)

    def _text(self, text: str) -> None:
        translate = self.translate
        if translate is not None:
            text = translate(text)
        self.text_written = True
        pen = self._pen
        y = self._y
        if not 0 <= y < self.height:
            self._x += len(text)
            return
        self._dirty = True
        space_pen = _space_pen(pen)
        row = self.desired[y]
        width = self.width
        x = self._x
        char_width = self.char_width
        for ch in text:
            w = char_width(ch) if ch > "\x7f" else 1
            if w <= 0:
                continue
            if 0 <= x < width:
                row[x] = (ch, space_pen if ch == " " else pen)
                if w == 2 and x + 1 < width:
                    row[x + 1] = ("", pen)
            x += w
        self._x = x

    def _index(self, step: int) -> None:
        """IND (step 1) / RI (step -1) on the incoming stream: move down / up, and
        scroll the region when the cursor is on its bottom / top margin."""
        top, bottom = self._margins if self._margins is not None else (0, self.height - 1)
        if step > 0 and self._y == bottom:
            self.desired[top : bottom + 1] = [*self.desired[top + 1 : bottom + 1],
                                              [BLANK] * self.width]
            self._dirty = True
        elif step < 0 and self._y == top:
            self.desired[top : bottom + 1] = [[BLANK] * self.width,
                                              *self.desired[top:bottom]]
            self._dirty = True
        else:
            self._y = max(0, self._y + step)

    def _erase_line(self, mode: int) -> None:
        if not 0 <= self._y < self.height:
            return
        self._dirty = True
        blank = (" ", (0, "", self._pen[2]))
        start, end = {0: (self._x, self.width), 1: (0, self._x + 1)}.get(mode, (0, self.width))
        row = self.desired[self._y]
        for x in range(max(0, start), min(self.width, end)):
            row[x] = blank

    def _erase_display(self, mode: int) -> None:
        blank = (" ", (0, "", self._pen[2]))
        self._dirty = True
        if mode in (2, 3):
            self.desired = [[blank] * self.width for _ in range(self.height)]
            return
        saved = self._y
        self._erase_line(mode)
        rows = range(self._y + 1, self.height) if mode == 0 else range(0, self._y)
        for y in rows:
            self.desired[y] = [blank] * self.width
        self._y = saved

    def _passthrough(self, seq: str) -> None:
        if self.drop is not None and self.drop(seq):
            return
        self._emit_diff()
        self._out.append(seq)

    # -- output ------------------------------------------------------------------------

    def flush(self, *, show_cursor: bool | None = None) -> str:
        """Bytes that bring the terminal up to date.

        ``show_cursor`` overrides the app's ?25 state (basic mode shows the hardware
        cursor where a text field's cursor is, since colour may be missing).
        """
        self._emit_diff()
        out = self._out
        if self.hold:
            data = "".join(out)
            out.clear()
            return data
        visible = self.cursor_visible if show_cursor is None else show_cursor
        start = len(out)
        if visible:
            self._move(out, self.cursor_x, self.cursor_y)
        if visible != self._wire_cursor_visible:
            out.append("\x1b[?25h" if visible else "\x1b[?25l")
            self._wire_cursor_visible = visible
        if self.recorded is not None:
            self.recorded.extend(out[start:])
        data = "".join(out)
        out.clear()
        return data

    def _move(self, out: list[str], x: int, y: int) -> None:
        """Move the terminal's cursor to (x, y) with the fewest bytes."""
        x = min(max(x, 0), self.width - 1)
        y = min(max(y, 0), self.height - 1)
        cx, cy = self._wire_x, self._wire_y
        if cx == x and cy == y:
            return
        best = _cup(x, y)
        if cy is not None and cx is not None:
            for vertical, from_x in self._vertical_moves(cx, cy, y):
                horizontal = self._horizontal_move(from_x, x, y if vertical == "" else None)
                if horizontal is not None and len(vertical) + len(horizontal) < len(best):
                    best = vertical + horizontal
        out.append(best)
        self._wire_x, self._wire_y = x, y

    def _vertical_moves(self, cx: int, cy: int, y: int) -> list[tuple[str, int]]:
        """(sequence, resulting column) pairs that reach row y."""
        if y == cy:
            return [("", cx)]
        n = y - cy
        moves = [(f"\x1b[{n}B" if n > 1 else "\x1b[B", cx) if n > 0
                 else (f"\x1b[{-n}A" if n < -1 else "\x1b[A", cx)]
        if 0 < n <= 2:
            moves.append((self.newline * n, 0))
        return moves

    def _horizontal_move(self, cx: int, x: int, row: int | None) -> str | None:
        if x == cx:
            return ""
        if x > cx:
            d = x - cx
            cands = [f"\x1b[{d}C" if d > 1 else "\x1b[C"]
            if row is not None:
                gap = self._gap_text(cx, x, row)
                if gap is not None:
                    cands.append(gap)
        else:
            d = cx - x
            cands = ["\b" * d if d <= 3 else f"\x1b[{d}D"]
            if x == 0:
                cands.append("\r")
            elif x <= 4:
                cands.append("\r" + (f"\x1b[{x}C" if x > 1 else "\x1b[C"))
        return min(cands, key=len)

    def _gap_text(self, x0: int, x1: int, y: int) -> str | None:
        """Text that re-writes cells x0..x1-1 unchanged, if they all use the current pen."""
        if x1 - x0 > 4:
            return None
        chars = []
        for x in range(x0, x1):
            cell = self.wire[y][x]
            if cell is None or cell[0] == "" or cell[0] > "\x7f" or not self._pen_fits(cell):
                return None
            chars.append(cell[0])
        return "".join(chars)

    def _pen_fits(self, cell: tuple[str, Pen]) -> bool:
        """Does writing this cell with the terminal's current pen look right?"""
        pen = self._wire_pen
        if pen is None:
            return False
        return cell[1] == pen or (cell[0] == " " and cell[1] == _space_pen(pen))

    def _set_pen(self, out: list[str], pen: Pen) -> None:
        if pen != self._wire_pen:
            out.append(
                sgr_transition(self._wire_pen, pen)
                if self._wire_pen is not None
                else "\x1b[0;" + ";".join(_pen_params(pen)) + "m"
            )
            self._wire_pen = pen

    def _erasable(self, cell: tuple[str, Pen]) -> bool:
        """Can erase-to-end-of-line produce this cell?"""
        return cell == BLANK or (self.bce and cell[0] == " " and cell[1] == (0, "", cell[1][2]))

    def _emit_diff(self) -> None:
        if not self._dirty or self.hold:
            return
        self._dirty = False
        out = self._out
        start = len(out)
        try:
            self._diff_into(out)
        finally:
            if self.recorded is not None:
                self.recorded.extend(out[start:])

    def _scroll_into(self, out: list[str]) -> None:
        """If a block of rows moved up or down by 1-3 rows (a problem line that
        appears or goes under a field), scroll it on the terminal: a few bytes
        instead of rewriting every row below.  Rows count as moved when all but
        two of their cells match (a scrollbar column may differ); the normal
        diff then fixes what still differs."""
        desired, wire, width, height = self.desired, self.wire, self.width, self.height
        changed = [y for y in range(height) if desired[y] != wire[y]]
        if len(changed) < 3:
            return

        def similar(a: list[tuple[str, Pen]], b: list[tuple[str, Pen] | None]) -> bool:
            if a == b:
                return True
            misses = 0
            for x in range(width):
                if a[x] != b[x]:
                    misses += 1
                    if misses > 2:
                        return False
            return True

        best_gain = 0
        best_run = (0, 0, 0)  # (shift, first row, last row)
        for shift in (1, -1, 2, -2, 3, -3):
            y = 0
            while y < height:
                if not (0 <= y - shift < height and similar(desired[y], wire[y - shift])):
                    y += 1
                    continue
                first = y
                while y < height and 0 <= y - shift < height and similar(
                        desired[y], wire[y - shift]):
                    y += 1
                gain = sum(1 for r in range(first, y) if desired[r] != wire[r]
                           and not similar(desired[r], wire[r]))
                if gain >= 3 and gain > best_gain:
                    best_gain, best_run = gain, (shift, first, y - 1)
        if not best_gain:
            return
        shift, first, last = best_run
        if shift > 0:  # rows first..last come from first-shift..last-shift
            top, bottom = first - shift, last
        else:
            top, bottom = first, last - shift
        if self._wire_pen != DEFAULT_PEN:  # the rows scrolled in take the pen's colour
            out.append("\x1b[m")
            self._wire_pen = DEFAULT_PEN
        out.append(f"\x1b[{top + 1};{bottom + 1}r")  # DECSTBM homes the cursor
        self._wire_x = self._wire_y = 0
        if shift > 0:
            self._move(out, 0, top)
            out.append("\x1bM" * shift)  # RI at the top margin: down
            blank_rows: list[list[tuple[str, Pen] | None]] = [
                [BLANK] * width for _ in range(shift)]
            wire[top : bottom + 1] = [*blank_rows, *wire[top : bottom + 1 - shift]]
        else:
            self._move(out, 0, bottom)
            out.append("\x1bD" * -shift)  # IND at the bottom margin: up
            blank_rows = [[BLANK] * width for _ in range(-shift)]
            wire[top : bottom + 1] = [*wire[top - shift : bottom + 1], *blank_rows]
        out.append("\x1b[r")  # the whole screen again (home)
        self._wire_x = self._wire_y = 0

    def wire_state(self) -> dict[str, object]:
        """What the terminal shows and its pen/cursor (after a flush), JSON-able."""
        return {"cells": [list(row) for row in self.wire], "pen": self._wire_pen,
                "x": self._wire_x, "y": self._wire_y, "visible": self._wire_cursor_visible,
                "cursor": [self.cursor_x, self.cursor_y]}

    def set_wire_state(self, state: dict[str, Any]) -> None:
        """The terminal shows ``state`` (from :meth:`wire_state`); so does the app."""
        cells = state["cells"]
        self.wire = [list(row) for row in cells]
        self.desired = [list(row) for row in cells]
        pen = state["pen"]
        self._wire_pen = (int(pen[0]), str(pen[1]), str(pen[2])) if pen is not None else None
        self._wire_x, self._wire_y = state["x"], state["y"]
        self._wire_cursor_visible = state["visible"]
        self.cursor_x, self.cursor_y = state["cursor"]
        self._needs_clear = False
        self._dirty = False

    def _diff_into(self, out: list[str]) -> None:
        if self._needs_clear:
            out.append("\x1b[m\x1b[H\x1b[2J")
            self._wire_pen = DEFAULT_PEN
            self._wire_x = self._wire_y = 0
            self.wire = [[BLANK] * self.width for _ in range(self.height)]
            self._needs_clear = False
        width = self.width
        if self.scroll:
            self._scroll_into(out)
        for y in range(self.height):
            want = self.desired[y]
            have = self.wire[y]
            if want == have:
                continue
            # a run of blank cells up to the end of the row: erase-to-end-of-line
            tail = width
            last: tuple[str, Pen] | None = want[-1]
            if last is not None and self._erasable(last):
                while tail > 0 and want[tail - 1] == last:
                    tail -= 1
                if sum(1 for xx in range(tail, width) if have[xx] != last) <= 3:
                    tail = width  # cheaper to write the few cells that differ
            else:
                last = None
            x = 0
            while x < tail:
                if want[x] == have[x]:
                    x += 1
                    continue
                cell = want[x]
                if cell[0] == "" and x > 0:  # the right half of a wide character
                    x -= 1
                    cell = want[x]
                elif cell[0] == "":
                    cell = (" ", cell[1])
                self._move(out, x, y)
                if not self._pen_fits(cell):
                    self._set_pen(out, cell[1])
                out.append(cell[0])
                have[x] = cell
                step = 1
                if x + 1 < width and want[x + 1][0] == "":
                    have[x + 1] = want[x + 1]
                    step = 2
                x += step
                if x >= width:
                    self._wire_x = self._wire_y = None  # no autowrap: position unsure
                else:
                    self._wire_x = x
            if last is not None and tail < width:
                self._move(out, tail, y)
                self._set_pen(out, last[1])
                out.append("\x1b[K")
                for xx in range(tail, width):
                    have[xx] = last
