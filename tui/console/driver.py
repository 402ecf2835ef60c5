"""A Textual driver for slow, dumb lines (imports Textual; used by tui/console/mode.py).

On top of Textual's LinuxDriver it:

* sends its output through the cell-diff :class:`~tui.console.celldiff.WireEncoder`
  (only changed cells reach the terminal; identical frames cost nothing);
* in basic mode: maps every character to ASCII, turns mouse reporting off, drops
  terminal queries and modes a serial terminal ignores, and shows the hardware cursor
  where a text field's cursor is (visible without colour, and it never blinks);
* decodes input tolerantly: an invalid UTF-8 byte becomes its Latin-1 character
  (a Latin-1 keyboard's ``ä``) or nothing (C1 line noise) instead of ending the app;
* repaints the whole screen on Ctrl+L (the key still reaches the app as well);
* line discipline: a read that decodes to nothing (a lone C1 byte, half of a UTF-8
  sequence) is nothing, not the end of the input; the end of the input (EOF, EIO: the
  line or connection is gone, with or without SIGHUP) ends the app at once without
  saving (exit code 129, as a hang-up), with a watchdog that ends the process if the
  app has not ended 1.5 s later; an error in the input loop never reaches the admin as
  a traceback (one line; the details go to the debug log, tui/start.py);
* leaves the terminal clean: the restoring sequences go straight to the terminal (not
  through the cell-diff layer, which would move the cursor back into the old frame),
  the cursor visible, and on a terminal without an alternate screen (vt100, linux
  console) the screen cleared with the cursor home.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import os
import re
import selectors
import threading
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


# Exit code when the terminal went away (EOF/EIO on input): as a process ended by SIGHUP.
HANGUP_EXIT = 129
# Seconds the app has to end after the terminal went away before the process is ended.
HANGUP_GRACE = 1.5
# TERM values of terminals without an alternate screen (no smcup in terminfo): at exit
# the screen is cleared and the cursor put home instead of switching screens back.
NO_ALTERNATE_SCREEN = frozenset({"", "dumb", "vt52", "vt100", "vt102", "vt220", "vt320",
                                 "linux", "ansi"})
# What ends the app's screen on such a terminal: default pen, cursor home, clear.
CLEAN_SCREEN = "\x1b[m\x1b[H\x1b[2J\x1b[?25h"


# Exceptions of the input loop (tui/start.py reports them in one line, never a traceback).
INPUT_ERRORS: list[BaseException] = []


def has_alternate_screen(term: str | None = None) -> bool:
    """Does the terminal (``$TERM``) switch to an alternate screen and back?"""
    name = (os.environ.get("TERM", "") if term is None else term).strip().lower()
    return name not in NO_ALTERNATE_SCREEN and not re.fullmatch(r"vt\d+", name)


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
            self._raw_output = False  # set while leaving: no cell-diff layer
            self._terminal_gone = False  # EOF/EIO on input: write nothing more
            self.input_error: BaseException | None = None  # the input loop failed
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
            if self._terminal_gone:
                return
            if self._raw_output:  # leaving: straight to the terminal
                if not (self._basic and BASIC_DROP(data)):
                    super().write(data)
                return
            self._apply_pending_size()
            self._encoder.write(data)

        def flush(self) -> None:
            if self._terminal_gone:
                return
            if self._raw_output:
                super().flush()
                return
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
            if self._terminal_gone:
                self.disable_input()
                return  # nothing to restore on a terminal that is gone
            if self.in_application_mode:
                self.flush()  # the last frame, through the cell-diff layer
            # From here on Textual's restoring sequences go to the terminal as they are:
            # through the cell-diff layer they would end with a cursor move into the old
            # frame (the shell's prompt would land there) and the cursor hidden.
            self._raw_output = True
            super().stop_application_mode()
            if not has_alternate_screen():
                self.write(CLEAN_SCREEN)
            else:
                self.write("\x1b[?25h")
            self.flush()

        def close(self) -> None:
            if self._terminal_gone:
                return  # the writer thread may be stuck on the dead terminal (a daemon)
            super().close()

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
            """Textual's input loop, with a decoder that never raises, an end of input
            that ends the app, and no traceback for the admin."""
            try:
                self._input_loop()
            except BaseException as error:  # reported by tui/start.py, never drawn
                self.input_error = error
                INPUT_ERRORS.append(error)
                self._exit_app(70)

        def _input_loop(self) -> None:
            selector = selectors.SelectSelector()
            selector.register(self.fileno, selectors.EVENT_READ)
            fileno = self.fileno
            parser = compat.xterm_parser(self.debug_mode)
            feed = parser.feed
            tick = parser.tick
            decode = tolerant_decoder().decode

            def process_selector_events(selector_events: list[Any],
                                        final: bool = False) -> bool:
                """Feed what was read to the parser; False at the end of the input."""
                for last, (_key, mask) in compat.loop_last(selector_events):
                    if mask & selectors.EVENT_READ:
                        try:
                            data = os.read(fileno, 1024 * 4)
                        except OSError as error:
                            if error.errno in (errno.EAGAIN, errno.EINTR):
                                continue
                            return False  # EIO: the terminal hung up
                        if not data:
                            return False  # EOF: the line or connection is gone
                        unicode_data = decode(data, final=final and last)
                        if unicode_data:  # "" would tell the parser the input ended
                            for event in feed(unicode_data):
                                self.process_message(event)
                for event in tick():
                    self.process_message(event)
                return True

            try:
                while not self.exit_event.is_set():
                    if not process_selector_events(selector.select(0.1)):
                        self._hang_up()
                        return
                selector.unregister(self.fileno)
                process_selector_events(selector.select(0.1), final=True)
            finally:
                selector.close()
                try:
                    for _event in feed(""):
                        pass
                except compat.parse_errors():
                    pass

        def _hang_up(self) -> None:
            """The terminal is gone (EOF or EIO, with or without SIGHUP): end the app
            without saving and without writing; end the process if that takes longer
            than HANGUP_GRACE seconds (a write stuck on the dead line)."""
            self._terminal_gone = True
            watchdog = threading.Timer(HANGUP_GRACE, os._exit, (HANGUP_EXIT,))
            watchdog.daemon = True
            watchdog.start()
            self._exit_app(HANGUP_EXIT)

        def _exit_app(self, code: int) -> None:
            loop, app = self._loop, self.driven_app
            if loop is None or loop.is_closed():
                os._exit(code)
            try:
                loop.call_soon_threadsafe(lambda: app.exit(return_code=code))
            except RuntimeError:  # the loop closed meanwhile
                os._exit(code)

    ConsoleDriver.__name__ = ConsoleDriver.__qualname__ = f"Console{base.__name__}"
    return ConsoleDriver


def _cell_width(ch: str) -> int:
    from rich.cells import get_character_cell_size

    return get_character_cell_size(ch)
