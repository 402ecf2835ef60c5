"""Every private Textual and Rich name mailconsole relies on, in one place.

Textual and Rich have no public API for the things below.  Each entry says what it
touches and why; ``tests/tui/console/test_compat.py`` asserts that every one still
exists with the signature and the behaviour assumed here.  After a Textual or Rich
upgrade that changes one of them, that test fails naming the entry, instead of the
screen failing somewhere at run time.  Nothing outside this module uses a private
(``_name``) attribute of a Textual or Rich object.

Written against the versions pinned in pyproject.toml (:data:`TESTED_WITH`).

This module imports Textual and Rich only inside functions: the frame cache
(tui/console/frame_cache.py) reads :data:`ALT_SCREEN_ON` before Textual is imported.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console
    from textual.app import App
    from textual.driver import Driver
    from textual.screen import Screen
    from textual.strip import Strip
    from textual.widgets import RadioSet

TESTED_WITH = {"textual": "8.2.8", "rich": "15.0.0"}

T = TypeVar("T")


# -- bytes Textual's LinuxDriver writes ------------------------------------------------

# LinuxDriver.start_application_mode switches to the alternate screen with exactly
# this sequence.  The frame cache paints the cached frame after its own copy of it and
# tells the cell-diff layer to swallow Textual's (celldiff.WireEncoder.keep_screen_once
# matches it), so that Textual's switch does not clear the painted frame.
ALT_SCREEN_ON = "\x1b[?1049h"


# -- the driver's input loop -----------------------------------------------------------

def xterm_parser(debug: bool = False) -> Any:
    """Textual's terminal input parser (``textual._xterm_parser.XTermParser``).

    The console driver's input loop (a copy of ``LinuxDriver.run_input_thread`` with a
    decoder that survives line noise) feeds it the decoded text, as Textual does;
    Textual has no public way to replace only the decoder."""
    from textual._xterm_parser import XTermParser

    return XTermParser(debug)


def parse_errors() -> tuple[type[BaseException], ...]:
    """What the parser may raise when it is fed the end of the input
    (``textual._parser.ParseError``, and EOFError): the input loop ignores them."""
    from textual._parser import ParseError

    return (EOFError, ParseError)


def loop_last(values: Iterable[T]) -> Iterator[tuple[bool, T]]:
    """(is_last, value) pairs (our copy of ``textual._loop.loop_last``, a tiny helper)."""
    iterator = iter(values)
    try:
        previous = next(iterator)
    except StopIteration:
        return
    for value in iterator:
        yield False, previous
        previous = value
    yield True, previous


# tui/console/driver.py's ConsoleDriver.run_input_thread is a copy of this method with
# one change (the decoder).  The hash of the upstream source it was copied from: when
# Textual changes the method, the copy must be compared with it again.
RUN_INPUT_THREAD_SHA256 = "661cd3c5057b0b8c83537409bdc945e6e9ebb80a2d9c3b0ab3400f5fe3f1f748"


def run_input_thread_source() -> str:
    """The source of Textual's ``LinuxDriver.run_input_thread`` (dedented)."""
    import inspect

    from textual.drivers.linux_driver import LinuxDriver

    return inspect.cleandoc(inspect.getsource(LinuxDriver.run_input_thread))


def run_input_thread_hash() -> str:
    return hashlib.sha256(run_input_thread_source().encode("utf-8")).hexdigest()


# -- the driver's private parts --------------------------------------------------------

class DriverHooks:
    """Mixed in before Textual's LinuxDriver (``class D(DriverHooks, LinuxDriver)``):
    the private parts of Textual's driver the console driver needs, under names of
    ours.  Every attribute used here is set by ``Driver.__init__`` /
    ``LinuxDriver.__init__``."""

    # LinuxDriver asks _get_terminal_size() at start and on every SIGWINCH (in the
    # signal handler, then sends a Resize event); overriding it is the only way to
    # see the new size before Textual's first frame in that size.
    def _get_terminal_size(self) -> tuple[int, int]:
        size: tuple[int, int] = super()._get_terminal_size()  # type: ignore[misc]
        self.terminal_size_seen(size)
        return size

    def terminal_size_seen(self, size: tuple[int, int]) -> None:
        """Called with every terminal size Textual's driver measures."""

    def measure_terminal(self) -> tuple[int, int]:
        """(columns, rows) as Textual's driver measures them."""
        return self._get_terminal_size()

    @property
    def mouse_reporting(self) -> bool:
        """Is mouse reporting on (``Driver._mouse``: the ``mouse`` argument, changed
        by :meth:`set_mouse_reporting`)?"""
        return bool(self._mouse)

    def set_mouse_reporting(self, on: bool) -> None:
        """Turn mouse reporting on or off at run time (the basic/rich switch):
        LinuxDriver's _enable/_disable_mouse_support write the mode sequences, and
        each does nothing unless ``_mouse`` is set."""
        if on == self.mouse_reporting:
            return
        if on:
            self._mouse = True
            self._enable_mouse_support()  # type: ignore[attr-defined]
        else:
            self._disable_mouse_support()  # type: ignore[attr-defined]
            self._mouse = False

    @property
    def in_application_mode(self) -> bool:
        """Between start_application_mode and stop_application_mode: LinuxDriver's
        writer thread exists (write() asserts it)."""
        return getattr(self, "_writer_thread", None) is not None

    @property
    def driven_app(self) -> Any:
        """The app this driver serves (``Driver._app``)."""
        return self._app  # type: ignore[attr-defined]

    @property
    def debug_mode(self) -> bool:
        """The ``debug`` argument (``Driver._debug``; the input parser takes it)."""
        return bool(self._debug)  # type: ignore[attr-defined]


def app_driver(app: App[Any]) -> Driver | None:
    """The driver of a running app (``App._driver``; None before the run)."""
    return getattr(app, "_driver", None)


# -- constants Textual reads once, at import -------------------------------------------

def sync_textual_constants(environ: dict[str, str] | os._Environ[str] | None = None) -> None:
    """Textual reads TEXTUAL_COLOR_SYSTEM, TEXTUAL_ANIMATIONS, TEXTUAL_DISABLE_KITTY_KEY
    and TEXTUAL_THEME once, into ``Final`` names of ``textual.constants``, and the
    App's ``theme`` reactive keeps the theme as its default.  When Textual is already
    imported (tests build several apps in one process; the F2 switch), the console's
    environment must reach those copies: written here (``_get_textual_animations``
    parses the animation level as Textual does; ``Reactive._default``)."""
    constants = sys.modules.get("textual.constants")
    if constants is None:
        return  # read from the environment at import
    env = os.environ if environ is None else environ
    values = {
        "COLOR_SYSTEM": env.get("TEXTUAL_COLOR_SYSTEM", "auto"),
        "TEXTUAL_ANIMATIONS": constants._get_textual_animations(),
        "DISABLE_KITTY_KEY": env.get("TEXTUAL_DISABLE_KITTY_KEY") == "1",
        "DEFAULT_THEME": env.get("TEXTUAL_THEME", "textual-dark"),
    }
    for name, value in values.items():
        setattr(constants, name, value)
    app_module = sys.modules.get("textual.app")
    if app_module is not None:
        app_module.App.theme._default = values["DEFAULT_THEME"]


# -- Rich ------------------------------------------------------------------------------

def set_color_system(console: Console, name: str) -> None:
    """Change a Rich console's colour system after it was made (the F2 switch:
    Textual's app console is made once).  Rich keeps it in ``Console._color_system``
    and has no setter; an unknown name means "standard"."""
    from rich.console import COLOR_SYSTEMS

    console._color_system = COLOR_SYSTEMS.get(name, COLOR_SYSTEMS["standard"])


# -- widgets ---------------------------------------------------------------------------

class InputShownValue:
    """Mixed into an Input: the line drawn is ``shown_value()``, the value itself
    (what is edited and saved) unchanged.

    Textual's Input draws its line from the private property ``Input._value`` (a
    rich Text; bullets for a password) and places the cursor by the cells of
    ``value``, so ``shown_value`` must keep the value's cell length.  Overriding
    ``_value`` is the one way to change the drawing without changing the value."""

    def shown_value(self) -> str:
        field: Any = self
        return str(field.value)

    @property
    def _value(self) -> Any:  # rich.text.Text
        from rich.text import Text

        field: Any = self
        shown = self.shown_value()
        if field.password or shown == field.value:
            return super()._value  # type: ignore[misc]
        text = Text(shown, no_wrap=True, overflow="ignore", end="")
        if field.highlighter is not None:
            text = field.highlighter(text)
        return text


# -- the app ---------------------------------------------------------------------------

class NoLocalsCrashReport:
    """Mixed into the App: Textual's crash report without local variables.

    ``App._fatal_error`` renders ``Traceback(show_locals=True)`` into
    ``App._exit_renderables`` (printed after the app exits) and stops the app with
    ``_close_messages_no_wait``; the locals may hold the password.  This override
    is the same without the locals."""

    def _fatal_error(self) -> None:
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        app: Any = self
        app.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        app._exit_renderables.append(
            Segments(app.console.render(traceback, app.console.options))
        )
        app._close_messages_no_wait()


def divert_crash_report(app: App[Any], report: Any) -> None:
    """Hand the crash report to ``report(renderables)`` instead of printing it.

    ``App._print_error_renderables`` prints ``App._exit_renderables`` (the traceback
    of :class:`NoLocalsCrashReport`) on the terminal as the app ends; on the admin's
    console tui/start.py shows one line instead and keeps the details in a log file."""

    def print_nothing() -> None:
        renderables = list(app._exit_renderables)
        app._exit_renderables.clear()
        if renderables:
            report(renderables)

    app._print_error_renderables = print_nothing  # type: ignore[method-assign]


def crash_report(app: App[Any]) -> list[Any]:
    """What the app prints when it exits after a crash (``App._exit_renderables``)."""
    renderables: list[Any] = app._exit_renderables
    return renderables


async def screen_mounted(screen: Screen[Any]) -> None:
    """Wait until ``screen`` is composed and mounted.  Textual waits for a pushed
    screen before the app counts as ready, not for the default screen; its
    ``_mounted_event`` (an asyncio.Event) is set once the mount is done."""
    await screen._mounted_event.wait()


def screen_lines(screen: Screen[Any]) -> list[Strip]:
    """The screen's lines as the compositor renders them (tests compare the text):
    ``Screen._compositor.render_strips()``."""
    strips: list[Strip] = screen._compositor.render_strips()
    return strips


# -- widgets ---------------------------------------------------------------------------

def highlight_radio(radio_set: RadioSet, index: int) -> None:
    """Move a RadioSet's highlight to button ``index`` without pressing it.
    RadioSet keeps the highlight in its private ``_selected`` var (its watcher moves
    the ``-selected`` class); there is no public setter."""
    radio_set._selected = index

