"""A Textual driver for slow, dumb lines (imports Textual; used by tui/console/mode.py).

On top of Textual's LinuxDriver it:

* sends its output through the cell-diff :class:`~tui.console.celldiff.WireEncoder`
  (only changed cells reach the terminal; identical frames cost nothing);
* in basic mode: maps every character to ASCII, turns mouse reporting off, drops
  terminal queries and modes a serial terminal ignores, and shows the hardware cursor
  where a text field's cursor is (visible without colour, and it never blinks);
* decodes input tolerantly: an invalid UTF-8 byte becomes its Latin-1 character
  (a Latin-1 keyboard's ``ä``) or nothing (C1 line noise) instead of ending the app;
* repaints the whole screen on Ctrl+L (the key still reaches the app as well).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import re
import selectors
import time
from typing import Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver

from tui.console import compat
from tui.console.ascii import to_ascii
from tui.console.celldiff import BLANK, WireEncoder, tty_newline

_ERRORS = "mailconsole-latin1"


def _latin1_or_nothing(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: bytes 0xA0-0xFF as Latin-1, C1 bytes 0x80-0x9F dropped."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return "".join(chr(b) for b in bad if b >= 0xA0), error.end


codecs.register_error(_ERRORS, _latin1_or_nothing)


def tolerant_decoder() -> codecs.IncrementalDecoder:
    """An incremental UTF-8 decoder that never raises."""
    return codecs.getincrementaldecoder("utf-8")(errors=_ERRORS)


# What basic mode does not send: focus reporting (?1004), the synchronized-output and
# in-band resize queries (?2026$p, ?2048$p: nobody answers them on a serial line), the
# kitty keyboard protocol (CSI > flags u, CSI < u, CSI = flags u: any flags) and the
# mouse pointer shape (OSC 22).  A predicate on one whole sequence.
BASIC_DROP = re.compile(
    r"\x1b\[\?1004[hl]"
    r"|\x1b\[\?(?:2026|2048)\$p"
    r"|\x1b\[[<>=][0-9;]*u"
    r"|\x1b\]22;[^\x07\x1b]*(?:\x07|\x1b\\)"
).fullmatch


# Seconds after the driver starts during which the screen counts as the start-up
# screen (stored in the frame cache; a pre-painted one is held at most this long).
STARTUP_WINDOW = 2.0
# ... and the start-up screen is stored when it stayed the same this long (or the
# window passed without a key).
SETTLED = 0.25


def make_driver_class(base: type[LinuxDriver], mode: str,
                      prepaint: Any = None) -> type[LinuxDriver]:
    """A subclass of ``base`` (Textual's LinuxDriver) that starts in ``mode``
    (:meth:`set_mode` switches at run time).  ``prepaint``: the
    :class:`tui.console.frame_cache.Prepaint` of this start (the terminal may already show the
    cached first frame; the first frame is stored in it)."""

    class ConsoleDriver(compat.DriverHooks, base):  # type: ignore[valid-type,misc]
        console_mode = mode

        def __init__(self, app: Any, *, debug: bool = False, mouse: bool = True,
                     size: tuple[int, int] | None = None) -> None:
            basic = mode == "basic"
            self._mouse_wanted = mouse
            super().__init__(app, debug=debug, mouse=mouse and not basic, size=size)
            width, height = size or self.measure_terminal()
            self._pending_size: tuple[int, int] | None = None
            newline = tty_newline(self.fileno)
            self._prepaint = prepaint
            # The start-up screen: recorded until the first key (or STARTUP_WINDOW
            # seconds) and kept in the frame cache for the next start.
            self._recording = prepaint is not None
            self._snapshot: tuple[int, dict[str, Any]] | None = None  # (bytes, state)
            self._snapshot_at = 0.0  # when the recorded screen last changed
            self._painted: list[list[Any]] | None = None  # the pre-painted screen
            adopt = prepaint.encoder if prepaint is not None else None
            if adopt is not None and (adopt.width, adopt.height, adopt.newline) == (
                    width, height, newline):
                # The terminal shows the cached start-up screen: nothing is sent
                # until Textual has drawn the same screen (then nothing at all),
                # a key arrives or the start-up window ends (then the difference).
                self._encoder = adopt
                self._painted = [list(row) for row in adopt.desired]
                adopt.hold = True
                adopt.text_written = False
            else:
                self._encoder = WireEncoder(width, height, newline=newline)
            if self._recording:
                # what the terminal got for its screen so far (the pre-painted bytes)
                self._encoder.recorded = [prepaint.screen] if self._painted else []
            if prepaint is not None:
                prepaint.adopted = True  # this driver restores the terminal now
            self._basic = False
            self._set_encoder_mode(basic)
            self._loop: asyncio.AbstractEventLoop | None = None
            self.bytes_written = 0
            # bench/startup.py: when Textual drew its first frame (sent or not); the
            # tests: when the start-up was over (the frame cache stored or released)
            self._startup_log = os.environ.get("MAILCONSOLE_STARTUP_LOG") or None
            self._startup_over_log = self._startup_log

        def _set_encoder_mode(self, basic: bool) -> None:
            self._basic = basic
            self.console_mode = "basic" if basic else "rich"
            encoder = self._encoder
            encoder.translate = to_ascii if basic else None
            encoder.char_width = (lambda ch: 1) if basic else _cell_width
            encoder.drop = BASIC_DROP if basic else None
            encoder.bce = not basic

        def set_mode(self, mode: str) -> None:
            """Switch to ``mode`` at run time: ASCII translation, mouse reporting,
            the hardware cursor.  The next flush repaints the whole screen (the
            terminal may show garbage where Unicode reached a dumb terminal)."""
            basic = mode == "basic"
            if basic == self._basic:
                return
            if basic:
                self.set_mouse_reporting(False)
            self._set_encoder_mode(basic)
            if not basic:
                self.set_mouse_reporting(self._mouse_wanted)
            self._encoder.invalidate()

        # -- output --------------------------------------------------------------------

        def terminal_size_seen(self, size: tuple[int, int]) -> None:
            encoder = getattr(self, "_encoder", None)
            if encoder is not None and size != (encoder.width, encoder.height):
                self._pending_size = size  # applied on the app's thread, in write()

        def _apply_pending_size(self) -> None:
            if self._pending_size is not None:
                width, height = self._pending_size
                self._pending_size = None
                self._encoder.resize(width, height)

        def write(self, data: str) -> None:
            self._apply_pending_size()
            self._encoder.write(data)

        def flush(self) -> None:
            self._apply_pending_size()
            show_cursor = self._show_cursor()
            encoder = self._encoder
            if encoder.hold and encoder.text_written and encoder.desired == self._painted:
                encoder.hold = False  # Textual drew the pre-painted screen: 0 bytes
            data = encoder.flush(show_cursor=show_cursor)
            if data:
                self.bytes_written += len(data)
                super().write(data)
            super().flush()
            if getattr(self, "_startup_log", None) and encoder.text_written:
                self._log_first_frame()
            if getattr(self, "_recording", False) and not encoder.hold:
                if any(cell != BLANK for row in encoder.wire for cell in row):
                    recorded = encoder.recorded or []
                    state = encoder.wire_state()
                    if self._snapshot is None or self._snapshot[1] != state:
                        self._snapshot_at = time.monotonic()
                    self._snapshot = (len(recorded), state)

        def _log_first_frame(self) -> None:
            path, self._startup_log = self._startup_log, None
            if path is None:
                return
            try:
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(f"{time.time():.6f} first-frame held={self._encoder.hold}\n")
            except OSError:
                pass

        def _end_startup(self, flush: bool = True, settled: bool = False) -> None:
            """The start-up is over (first key, STARTUP_WINDOW, or exit): store the
            start-up screen if it is not the cached one, stop holding output.

            Stored only when the screen had settled: unchanged for SETTLED seconds,
            or the whole window passed without a key (a screen caught half-built
            would be held on the next start until Textual happens to match it)."""
            if self._encoder.hold:  # first: what Textual drew reaches the terminal
                self._encoder.hold = False
                if flush and self.in_application_mode:
                    self.flush()  # (recorded too)
            stored = False
            if self._recording:
                self._recording = False
                snapshot, prepaint = self._snapshot, self._prepaint
                recorded, self._encoder.recorded = self._encoder.recorded, None
                settled = settled or time.monotonic() - self._snapshot_at >= SETTLED
                if snapshot is not None and prepaint is not None and recorded is not None \
                        and settled and snapshot[1]["cells"] != self._painted:
                    prepaint.store("".join(recorded[:snapshot[0]]), snapshot[1])
                    stored = True
            path, self._startup_over_log = self._startup_over_log, None
            if path is not None:
                try:
                    with open(path, "a", encoding="utf-8") as fh:
                        fh.write(f"{time.time():.6f} startup-over stored={stored}\n")
                except OSError:
                    pass

        def _show_cursor(self) -> bool | None:
            if not self._basic:
                return None
            try:
                focused = self.driven_app.focused
            except Exception:
                return False
            return focused is not None and hasattr(focused, "cursor_screen_offset")

        def redraw(self) -> None:
            """Repaint the whole screen from what the app last drew (Ctrl+L)."""
            if not self.in_application_mode:
                return
            self._encoder.invalidate()
            self.flush()

        def start_application_mode(self) -> None:
            self._loop = asyncio.get_running_loop()
            super().start_application_mode()
            saved = getattr(prepaint, "saved_attrs", None)
            if saved is not None:
                # the pre-paint turned echo off: restore what the shell had at exit
                self.attrs_before = saved
            if self._recording or self._encoder.hold:
                self._loop.call_later(STARTUP_WINDOW, self._end_startup, True, True)

        def stop_application_mode(self) -> None:
            self._end_startup(flush=False)
            super().stop_application_mode()

        # -- input ---------------------------------------------------------------------

        def process_message(self, message: Any) -> None:
            if (
                isinstance(message, events.Key)
                and message.key == "ctrl+l"
                and self._loop is not None
            ):
                self._loop.call_soon_threadsafe(self.redraw)
            if (
                (self._recording or self._encoder.hold)
                and isinstance(message, (events.Key, events.MouseDown, events.Paste))
                and self._loop is not None
            ):
                self._loop.call_soon_threadsafe(self._end_startup)
            super().process_message(message)

        def run_input_thread(self) -> None:
            """Textual's input loop, with a decoder that never raises."""
            selector = selectors.SelectSelector()
            selector.register(self.fileno, selectors.EVENT_READ)
            fileno = self.fileno
            parser = compat.xterm_parser(self.debug_mode)
            feed = parser.feed
            tick = parser.tick
            decode = tolerant_decoder().decode

            def process_selector_events(selector_events: list[Any], final: bool = False) -> None:
                for last, (_key, mask) in compat.loop_last(selector_events):
                    if mask & selectors.EVENT_READ:
                        data = os.read(fileno, 1024 * 4)
                        if not data:
                            break
                        unicode_data = decode(data, final=final and last)
                        for event in feed(unicode_data):
                            self.process_message(event)
                for event in tick():
                    self.process_message(event)

            try:
                while not self.exit_event.is_set():
                    process_selector_events(selector.select(0.1))
                selector.unregister(self.fileno)
                process_selector_events(selector.select(0.1), final=True)
            finally:
                selector.close()
                try:
                    for _event in feed(""):
                        pass
                except compat.parse_errors():
                    pass

    ConsoleDriver.__name__ = ConsoleDriver.__qualname__ = f"Console{base.__name__}"
    return ConsoleDriver


def _cell_width(ch: str) -> int:
    from rich.cells import get_character_cell_size

    return get_character_cell_size(ch)
