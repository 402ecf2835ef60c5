"""The Textual app and its one factory (``make_app``).

``make_app`` builds the app for ``tui.start.run`` (the ``mailconsole`` command),
the demo and the tests alike.  ``tui.app`` re-exports both names; this module is
separate so that ``tui.start.run`` can paint the cached first frame before Textual
is imported (tui/console/frame_cache.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.filter import LineFilter

from config.i18n import _, ascii_only, set_language, transliterate
from config.service import SettingsService
from tui.console.compat import NoLocalsCrashReport, screen_mounted
from tui.screens.mail_server import MailServerScreen


class MailConsoleApp(NoLocalsCrashReport, App[int]):
    """The console app: today one screen, the mail server.

    Textual's crash report is shown without local variables (they may hold the
    password): :class:`tui.console.compat.NoLocalsCrashReport`."""

    TITLE = "mailconsole"
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False  # no screen text selection (and nothing to copy from it)
    # App's own Ctrl+Q binding stays; action_quit below asks the screen first.
    # F2 (PF2 on a vt100) or Ctrl+B: basic <-> rich display (tui/console/mode.py).
    #
    # Tab / Shift+Tab move the focus as PRIORITY bindings, i.e. at once, in the
    # app's own message loop.  Textual's default (non-priority screen bindings)
    # first posts the key to the focused widget, from which it bubbles to the
    # screen; keys that arrive in the same read meanwhile are routed to the
    # widget that was focused BEFORE the move and are lost -- "Tab Tab x" typed
    # ahead (a paste, a fast typist, a serial line delivering a burst) never put
    # the "x" into the field.  Nothing in this app uses Tab for anything else.
    BINDINGS = [Binding("f2,ctrl+b", "console_mode", "Basic/rich", show=False,
                        priority=True),
                Binding("tab", "focus_next", show=False, priority=True),
                # Ctrl+C aborts, as in dialog/whiptail: a dialog as its Esc does,
                # the form as Ctrl+Q (asks when there are unsaved changes)
                Binding("ctrl+c", "interrupt", show=False, priority=True),
                Binding("shift+tab", "focus_previous", show=False, priority=True)]
    # The form is the app's default screen (get_default_screen), not pushed over
    # a blank one: Textual then composes and lays out one screen before the
    # first paint, not two.  A default screen's CSS_PATH is not read
    # by Textual, so the app reads the same file (one source, parsed once).
    CSS_PATH = "screens/mail_server.tcss"

    def __init__(self, service: SettingsService, mailer: Any, *, mode: str = "rich",
                 demo_note: str | None = None) -> None:
        super().__init__()
        # Keys typed before the form is on screen with its first focus (while
        # Textual starts, or while the cached first frame is shown,
        # tui/console/frame_cache.py) are held here and replayed in order once it is:
        # routed earlier they would reach no field and be lost.
        self._held_keys: list[events.Key] | None = []
        self.service = service
        self.mailer = mailer
        self.mode = mode
        # made before basic mode was chosen: spell it in ASCII here (ä -> ae), too
        self.demo_note = transliterate(demo_note) if demo_note and ascii_only() else demo_note
        # basic mode's ASCII filter (tui/console/ascii.py), set by tui.console.install
        self.console_ascii_filter: Any = None

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = list(super().get_line_filters())
        ascii_filter = self.console_ascii_filter
        if ascii_filter is not None and ascii_filter.enabled:
            filters.append(ascii_filter)
        return filters

    def get_default_screen(self) -> MailServerScreen:
        return MailServerScreen(self.service, self.mailer, demo_note=self.demo_note)

    async def on_mount(self) -> None:
        # A pushed screen is composed before the app counts as ready (pilots,
        # tests); Textual does not wait for a default screen, so wait here.
        await screen_mounted(self.screen)
        self.call_after_refresh(self._release_keys)
        self._check_size()

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size)

    def _check_size(self, size: Any = None) -> None:
        """The "terminal too small" notice over everything, while it is."""
        from tui.dialogs.too_small import TooSmallScreen, too_small

        small = too_small(*(size or self.size))
        shown = isinstance(self.screen, TooSmallScreen)
        if small and not shown:
            self.push_screen(TooSmallScreen())
        elif shown and not small:
            self.pop_screen()

    async def action_interrupt(self) -> None:
        """Ctrl+C: a dialog is left as with Esc; on the form it is Ctrl+Q."""
        from tui.dialogs.too_small import TooSmallScreen

        top = self.screen
        if isinstance(top, (MailServerScreen, TooSmallScreen)):
            await self.action_quit()
            return
        abort = getattr(top, "action_abort", None)
        if abort is not None:
            await abort()
        else:
            top.dismiss(None)

    async def on_event(self, event: events.Event) -> None:
        if (isinstance(event, events.Key) and not event.is_forwarded
                and self._held_keys is not None):
            self._held_keys.append(event)
            return
        await super().on_event(event)

    async def _release_keys(self) -> None:
        """After the first paint (the focus is set): replay the held keys, in
        order, in this one message handler (no later key can overtake them)."""
        held, self._held_keys = self._held_keys or [], None
        for event in held:
            await super().on_event(event)

    async def action_console_mode(self) -> None:
        """F2 / Ctrl+B: switch between basic (ASCII, no mouse) and rich display."""
        from tui import console

        await console.switch_mode(self)

    async def action_quit(self) -> None:
        """Ctrl+Q: the form decides (it asks when there are unsaved changes)."""
        from tui.dialogs.too_small import TooSmallScreen

        top = self.screen
        if isinstance(top, TooSmallScreen) and len(self.screen_stack) > 1:
            top = self.screen_stack[-2]  # the notice is over it: it decides
        if isinstance(top, MailServerScreen):
            top.action_request_quit()
        elif any(isinstance(s, MailServerScreen) for s in self.screen_stack):
            self.notify(_("Close this dialog first (Esc), then quit with Ctrl+Q."))
        else:
            self.exit(0)


def default_mailer() -> Any:
    """The real mailer package (imported late: it is only needed to send)."""
    import mailer

    return mailer


def make_app(config_path: str | Path, *, mode: str = "rich", lang: str | None = None,
             mailer: Any = None, demo_note: str | None = None,
             service: SettingsService | None = None) -> MailConsoleApp:
    """Build the app on ``config_path`` (the one factory for run, demo and tests)."""
    if lang is not None:
        set_language(lang)
    return MailConsoleApp(
        service if service is not None else SettingsService(config_path),
        mailer if mailer is not None else default_mailer(),
        mode=mode,
        demo_note=demo_note,
    )
