"""The ``mailconsole`` screen's entry point, ``run``.

``run`` adds the console set-up (tui/console.py) around the app that
``make_app`` builds (tui/application.py; ``MailConsoleApp``, ``make_app`` and
``default_mailer`` are importable from here as before).  This module imports
neither Textual nor the settings service at import time: ``run`` first paints
the last session's first frame when the frame cache has it for exactly these
inputs (tui/prepaint.py), then imports Textual and starts the app (issue 6).
Before all that it hands the session to a pre-started console process if one
is running (tui/prestart.py).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from tui.application import MailConsoleApp, default_mailer, make_app

__all__ = ["MailConsoleApp", "default_mailer", "make_app", "run"]


def __getattr__(name: str) -> Any:
    """``MailConsoleApp``, ``make_app``, ``default_mailer``: from tui.application
    (importing it imports Textual)."""
    if name in ("MailConsoleApp", "make_app", "default_mailer"):
        from tui import application

        return getattr(application, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(config_path: str | Path, *, mode: str | None = None, lang: str | None = None,
        demo_note: str | None = None, mailer: Any = None) -> int:
    """Run the screen on ``config_path`` in the terminal; return the exit code.

    A pre-started console process (tui/prestart.py), when one answers on its
    socket, runs this same function for us on our terminal; otherwise (or in
    that process) the screen starts here."""
    if not demo_note and mailer is None:
        from tui import prestart

        code = prestart.client(str(config_path), mode, lang)
        if code is not None:
            return code
    from config.i18n import _, ascii_only, set_language
    from tui import console

    language = set_language(lang)
    chosen = console.detect_mode(mode)
    console.prepare_environment(chosen)
    early = None
    inputs = {"mode": chosen, "language": language, "ascii_only": ascii_only()}
    if not demo_note:  # the demo's config is a new temporary file each time
        from tui import prepaint

        early = prepaint.start(str(config_path), **inputs)  # type: ignore[arg-type]
    try:
        from config.errors import ConfigError
        from config.service import SettingsService

        service = SettingsService(config_path)
        try:
            service.load()
        except ConfigError as err:
            if early is not None:
                early.abort()
            print(_("mailconsole: cannot open the settings: {error}").format(error=err),
                  file=sys.stderr)
            return err.exit_code
        if early is not None:  # the file may have changed since the frame was chosen
            early.recheck(str(config_path), size=early.size, **inputs)
        from tui.application import make_app

        app = make_app(config_path, mode=chosen, mailer=mailer, demo_note=demo_note,
                       service=service)
        console.install(app, chosen, early)
        result = app.run()
    finally:
        if early is not None:
            early.abort()  # nothing once the console driver has taken over
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return int(result or 0)
