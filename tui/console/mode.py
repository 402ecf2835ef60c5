"""Console delivery: basic mode for dumb terminals and serial lines, and the byte budget.

CONTRACT with tui/start.py:

    mode = detect_mode(requested)   # requested: "basic" | "rich" | None (auto) -> "basic"|"rich"
    prepare_environment(mode)       # BEFORE the App is constructed: colour system, ANSI theme,
                                    # terminal size fallback for 0x0 ttys, etc.
    install(app, mode)              # after construction, before run(): line filters (ASCII),
                                    # tolerant input decoding, no mouse, output tweaks

Basic mode (as subiquity does on serial consoles): 16 colours through an ANSI theme
(none with NO_COLOR), ASCII only with widths kept, no mouse reporting, no cursor blink,
no animations, the hardware cursor shown in text fields, and a cell-diff output layer
(tui/console/celldiff.py) that writes only the cells that changed.  Rich mode keeps
Textual's look but uses the same output layer and tolerant input.  Ctrl+L repaints
the screen in both modes; :func:`switch_mode` (the app's F2 / Ctrl+B key) switches
between the modes at run time.  See docs/console.md.

This module imports Textual only inside :func:`install` (and, if Textual is already
imported, :func:`prepare_environment` updates its constants), so ``detect_mode`` is cheap.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

MODES = ("basic", "rich")
BASIC_TERMS = frozenset({"", "dumb", "linux", "vt100", "vt102", "vt220", "vt52", "vt320"})
_SERIAL_TTY = re.compile(r"^(ttyS|ttyUSB|ttyACM|ttyAMA|ttymxc|ttyO|hvc)\d*$")
BASIC_THEME = "ansi-dark"

# Environment variables prepare_environment sets, with the value they had before.
_saved_env: dict[str, str | None] = {}


def is_serial_tty(name: str | None) -> bool:
    """True for a serial device name such as /dev/ttyS0, ttyUSB1, ttyAMA0, hvc0."""
    return bool(name) and bool(_SERIAL_TTY.match(os.path.basename(name or "")))


def _tty_name(fd: int = 0) -> str | None:
    try:
        return os.ttyname(fd)
    except OSError:
        return None


def detect_mode(
    requested: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    tty_name: str | None = None,
) -> str:
    """"basic" or "rich".  An explicit request (``--basic`` / ``--rich``) wins.

    Basic for TERM vt100/vt220/linux/dumb/unset/empty, a serial tty on stdin (ttyS*,
    ttyUSB*, ttyAMA*, hvc*, ...), or NO_COLOR set; rich otherwise.
    """
    if requested:
        choice = requested.lstrip("-").lower()
        if choice not in MODES:
            raise ValueError(f"unknown console mode {requested!r} (basic or rich)")
        return choice
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env:
        return "basic"
    term = env.get("TERM", "").strip().lower()
    if term in BASIC_TERMS or re.fullmatch(r"vt\d+", term):
        return "basic"
    if is_serial_tty(tty_name if tty_name is not None else _tty_name(0)):
        return "basic"
    return "rich"


def locale_has_unicode(environ: Mapping[str, str] | None = None) -> bool:
    """True when the locale's character set is UTF-8 (LC_ALL, else LC_CTYPE, else
    LANG; unset or C/POSIX is ASCII).  Without it the terminal is not sent
    Unicode, whatever TERM says: LANG=C with TERM=xterm gets ASCII, as dialog
    and whiptail do."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name, "")
        if value:
            return bool(re.search(r"utf-?8", value, re.IGNORECASE))
    return False


def ascii_needed(mode: str, environ: Mapping[str, str] | None = None) -> bool:
    """ASCII only: in basic mode, and in any mode without a UTF-8 locale."""
    return mode == "basic" or not locale_has_unicode(environ)


def _set_env(name: str, value: str) -> None:
    if name not in _saved_env:
        _saved_env[name] = os.environ.get(name)
    os.environ[name] = value


def _restore_env() -> None:
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_env.clear()


def restore_environment() -> None:
    """Undo :func:`prepare_environment`: the variables it set get their earlier
    values (Textual's copies too), translated text is no longer spelled in ASCII
    (tests that build apps for several terminals in one process)."""
    from config.i18n import set_ascii
    from tui.console.compat import sync_textual_constants

    _restore_env()
    sync_textual_constants()
    set_ascii(False)


def _terminal_size_is_zero() -> bool:
    for fd in (0, 1, 2):
        try:
            if not os.isatty(fd):
                continue
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        return size.columns == 0 or size.lines == 0
    return False


def prepare_environment(mode: str) -> None:
    """Set up Textual's environment for ``mode``.  Call BEFORE the App is constructed.

    Basic: TEXTUAL_COLOR_SYSTEM=standard, the ANSI theme (so NO_COLOR gives the
    terminal's default colours, never black on black), no animations, no kitty
    keyboard protocol.  Any mode: a dumb/unset TERM never gets truecolor, NO_COLOR gets
    the ANSI theme, and a tty that reports 0x0 (a serial getty) gets COLUMNS=80 LINES=24
    so that Textual and Rich agree on 80x24 frames.
    """
    if mode not in MODES:
        raise ValueError(f"unknown console mode {mode!r}")
    _restore_env()  # undo a previous call (tests build several apps in one process)
    term = os.environ.get("TERM", "").strip().lower()
    if mode == "basic":
        _set_env("TEXTUAL_COLOR_SYSTEM", "standard")
        _set_env("TEXTUAL_THEME", BASIC_THEME)
        _set_env("TEXTUAL_ANIMATIONS", "none")
        _set_env("TEXTUAL_DISABLE_KITTY_KEY", "1")
    else:
        if term in ("", "dumb") and os.environ.get("TEXTUAL_COLOR_SYSTEM", "auto") == "auto":
            _set_env("TEXTUAL_COLOR_SYSTEM", "standard")
        if "NO_COLOR" in os.environ:
            _set_env("TEXTUAL_THEME", BASIC_THEME)
    if _terminal_size_is_zero():
        if not os.environ.get("COLUMNS", "").isdigit() or os.environ["COLUMNS"] == "0":
            _set_env("COLUMNS", "80")
        if not os.environ.get("LINES", "").isdigit() or os.environ["LINES"] == "0":
            _set_env("LINES", "24")
    from tui.console.compat import sync_textual_constants

    sync_textual_constants()
    from config.i18n import set_ascii

    set_ascii(ascii_needed(mode))  # translated text spelled in ASCII (ae for ä), before layout


def install(app: Any, mode: str, prepaint: Any = None) -> None:
    """Adapt a constructed (not yet running) App to ``mode``.  Call before app.run().

    ``prepaint``: the :class:`tui.console.frame_cache.Prepaint` of this start, if any (the
    driver starts from the frame it painted and stores the first frame in it)."""
    if mode not in MODES:
        raise ValueError(f"unknown console mode {mode!r}")
    from tui.console.driver import make_driver_class

    base = getattr(app.driver_class, "_console_base", app.driver_class)
    from textual.drivers.linux_driver import LinuxDriver

    if isinstance(base, type) and issubclass(base, LinuxDriver):
        driver_class = make_driver_class(base, mode, prepaint)
        driver_class._console_base = base  # type: ignore[attr-defined]
        app.driver_class = driver_class
    app.console_mode = mode
    # What switch_mode needs to go back to rich mode (the app may start in basic).
    app.console_rich = {
        "theme": _original_env("TEXTUAL_THEME") or "textual-dark",
        "color_system": _rich_color_system(),
        "animations": _original_env("TEXTUAL_ANIMATIONS") or "full",
    }
    from tui.console.ascii import make_line_filter

    ascii_filter = make_line_filter()
    ascii_filter.enabled = ascii_needed(mode)
    app.console_ascii_filter = ascii_filter  # the app's get_line_filters() adds it


def _original_env(name: str) -> str | None:
    """The variable's value before prepare_environment changed it."""
    return _saved_env[name] if name in _saved_env else os.environ.get(name)


def _rich_color_system() -> str:
    """The colour system rich mode uses here: the user's TEXTUAL_COLOR_SYSTEM, or
    what Rich detects from TERM/COLORTERM; never truecolor for a dumb/unset TERM."""
    chosen = (_original_env("TEXTUAL_COLOR_SYSTEM") or "auto").strip().lower()
    if chosen != "auto":
        return chosen
    term = os.environ.get("TERM", "").strip().lower()
    if term in ("", "dumb"):
        return "standard"
    import io

    from rich.console import Console

    detected = Console(file=io.StringIO(), force_terminal=True).color_system
    return detected or "standard"


async def switch_mode(app: Any, mode: str | None = None) -> str:
    """Switch a running app between basic and rich mode (the F2 / Ctrl+B key).

    Changes the wire layer's ASCII mapping, mouse reporting, the colour system, the
    theme (ANSI theme in basic mode; with NO_COLOR the ANSI theme stays in both
    modes, so nothing ever renders black on black), animations and ASCII spelling of
    translated text; screens with a ``relabel()`` coroutine compose their texts
    again (keeping unsaved values); then the whole screen is repainted.  Returns the
    new mode.
    """
    current = getattr(app, "console_mode", "rich")
    new = mode or ("rich" if current == "basic" else "basic")
    if new not in MODES:
        raise ValueError(f"unknown console mode {new!r}")
    basic = new == "basic"
    from config.i18n import _, set_ascii
    from tui.console.compat import app_driver, set_color_system

    rich_settings = getattr(app, "console_rich", None) or {
        "theme": "textual-dark", "color_system": "truecolor", "animations": "full"}
    app.console_mode = new
    set_ascii(ascii_needed(new))
    ascii_filter = getattr(app, "console_ascii_filter", None)
    if ascii_filter is not None:
        ascii_filter.enabled = ascii_needed(new)
    system = "standard" if basic else rich_settings["color_system"]
    set_color_system(app.console, system)
    app.animation_level = "none" if basic else rich_settings["animations"]
    if not app.no_color:  # NO_COLOR: the ANSI theme chosen at start stays
        app.theme = BASIC_THEME if basic else rich_settings["theme"]
    driver = app_driver(app)
    if driver is not None and hasattr(driver, "set_mode"):
        driver.set_mode(new)
    for screen in list(app.screen_stack):
        relabel = getattr(screen, "relabel", None)
        if relabel is not None:
            await relabel()
        say = getattr(screen, "say", None)
        if say is not None:
            say(_("Basic display: ASCII, no mouse. F2 or Ctrl+B: rich display.") if basic
                else _("Rich display. F2 or Ctrl+B: basic display (ASCII, no mouse)."))
        for widget in screen.walk_children(with_self=True):
            widget.refresh()  # line caches hold the old (ASCII or not) text
    app.refresh(repaint=True, layout=True)
    if driver is not None and hasattr(driver, "flush"):
        app.call_after_refresh(driver.flush)  # repaint even if nothing else changed
    return new


def redraw(app: Any) -> None:
    """Repaint the whole terminal (what Ctrl+L does; for an app's own redraw action)."""
    from tui.console.compat import app_driver

    driver = app_driver(app)
    if driver is not None and hasattr(driver, "redraw"):
        driver.redraw()
    else:
        app.refresh(repaint=True, layout=True)
