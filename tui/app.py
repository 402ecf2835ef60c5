"""The Textual app and its one factory.

``make_app`` builds the app for ``run`` (the ``mailconsole`` command), the
demo and the tests alike; ``run`` adds the console set-up around it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from config.errors import ConfigError
from config.i18n import _, ascii_only, set_language, transliterate
from config.service import SettingsService
from tui.mail_server import MailServerScreen


class MailConsoleApp(App[int]):
    """The console app: today one screen, the mail server."""

    TITLE = "mailconsole"
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False  # no screen text selection (and nothing to copy from it)
    # App's own Ctrl+Q binding stays; action_quit below asks the screen first.
    # F2 (PF2 on a vt100) or Ctrl+B: basic <-> rich display (tui/console.py).
    BINDINGS = [Binding("f2,ctrl+b", "console_mode", "Basic/rich", show=False,
                        priority=True)]
    # The form is the app's default screen (get_default_screen), not pushed over
    # a blank one: Textual then composes and lays out one screen before the
    # first paint, not two (issue 6).  A default screen's CSS_PATH is not read
    # by Textual, so the app reads the same file (one source, parsed once).
    CSS_PATH = "mail_server.tcss"

    def __init__(self, service: SettingsService, mailer: Any, *, mode: str = "rich",
                 demo_note: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.mailer = mailer
        self.mode = mode
        # made before basic mode was chosen: spell it in ASCII here (ä -> ae), too
        self.demo_note = transliterate(demo_note) if demo_note and ascii_only() else demo_note

    def get_default_screen(self) -> MailServerScreen:
        return MailServerScreen(self.service, self.mailer, demo_note=self.demo_note)

    async def on_mount(self) -> None:
        # A pushed screen is composed before the app counts as ready (pilots,
        # tests); Textual does not wait for a default screen, so wait here.
        await self.screen._mounted_event.wait()

    async def action_console_mode(self) -> None:
        """F2 / Ctrl+B: switch between basic (ASCII, no mouse) and rich display."""
        from tui import console

        await console.switch_mode(self)

    async def action_quit(self) -> None:
        """Ctrl+Q: the form decides (it asks when there are unsaved changes)."""
        top = self.screen
        if isinstance(top, MailServerScreen):
            top.action_request_quit()
        elif any(isinstance(s, MailServerScreen) for s in self.screen_stack):
            self.notify(_("Close this dialog first (Esc), then quit with Ctrl+Q."))
        else:
            self.exit(0)

    def _fatal_error(self) -> None:
        """Textual's crash report, without local variables (they may hold the
        password: Textual's default is ``Traceback(show_locals=True)``)."""
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()


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


def run(config_path: str | Path, *, mode: str | None = None, lang: str | None = None,
        demo_note: str | None = None, mailer: Any = None) -> int:
    """Run the screen on ``config_path`` in the terminal; return the exit code."""
    from tui import console

    set_language(lang)
    service = SettingsService(config_path)
    try:
        service.load()
    except ConfigError as err:
        print(_("mailconsole: cannot open the settings: {error}").format(error=err),
              file=sys.stderr)
        return err.exit_code
    chosen = console.detect_mode(mode)
    console.prepare_environment(chosen)
    app = make_app(config_path, mode=chosen, mailer=mailer, demo_note=demo_note,
                   service=service)
    console.install(app, chosen)
    result = app.run()
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return int(result or 0)
