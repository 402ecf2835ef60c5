"""How the screen starts: ``run``.

``run`` chooses the console mode (tui/console/), paints the last session's first
frame when the frame cache has it for exactly these inputs
(tui/console/frame_cache.py), loads the settings, and only then imports Textual
and starts the app that ``tui.app.make_app`` builds.  This module imports neither
Textual nor the settings service at import time, so that the cached frame is on
the terminal before Textual's import time is spent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def run(config_path: str | Path, *, mode: str | None = None, lang: str | None = None,
        demo_note: str | None = None, mailer: Any = None) -> int:
    """Run the screen on ``config_path`` in the terminal; return the exit code."""
    from config.i18n import _, ascii_only, set_language
    from tui import console

    language = set_language(lang)
    if mode is None and os.environ.get("TERM", "").strip().lower() == "dumb":
        # no cursor addressing: a full screen would be garbage there
        print(_("mailconsole: this terminal (TERM=dumb) cannot show the mail-server screen. "
                "The command line works here: 'mailconsole show', 'mailconsole set "
                "KEY=VALUE', 'mailconsole validate', 'mailconsole test-mail' (all of them: "
                "'mailconsole --help'). To try the screen anyway: 'mailconsole --basic'."),
              file=sys.stderr)
        return 2
    if not _on_a_terminal():
        # e.g. `ssh admin@host` without -t, or a script: Textual would draw into a pipe
        print(_("mailconsole: the screen needs a terminal (over SSH: ssh -t); without "
                "one, use a command such as 'mailconsole show' (see --help)"),
              file=sys.stderr)
        return 2
    chosen = console.detect_mode(mode)
    console.prepare_environment(chosen)
    early = None
    inputs = {"mode": chosen, "language": language, "ascii_only": ascii_only()}
    if not demo_note:  # the demo's config is a new temporary file each time
        from tui.console import frame_cache as prepaint

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
            from config.text import visible

            print(visible(_("mailconsole: cannot open the settings: {error}").format(
                error=err)), file=sys.stderr)
            return err.exit_code
        if early is not None:  # the file may have changed since the frame was chosen
            early.recheck(str(config_path), size=early.size, **inputs)
        from tui.app import make_app

        app = make_app(config_path, mode=chosen, mailer=mailer, demo_note=demo_note,
                       service=service)
        console.install(app, chosen, early)
        from tui.console import compat, driver

        crashes: list[Any] = []
        compat.divert_crash_report(app, crashes.extend)
        result = app.run()
        if crashes or driver.INPUT_ERRORS:
            return _report_crash(crashes, driver.INPUT_ERRORS)
    finally:
        if early is not None:
            early.abort()  # nothing once the console driver has taken over
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return int(result or 0)


def _on_a_terminal() -> bool:
    """Are stdin and stdout both terminals (the screen reads keys and draws)?"""
    try:
        stdin, stdout = sys.__stdin__, sys.__stdout__
        return (stdin is not None and stdout is not None
                and os.isatty(stdin.fileno()) and os.isatty(stdout.fileno()))
    except (AttributeError, ValueError, OSError):
        return False


def _report_crash(renderables: list[Any], errors: list[BaseException]) -> int:
    """One line for the admin instead of a traceback; the details go to a log file
    (only with MAILCONSOLE_DEBUG set: ``<frame cache directory>/error.log``, in a
    directory of this user with mode 0700).  Exit code 70 (internal error)."""
    from config.i18n import _

    log = None
    if os.environ.get("MAILCONSOLE_DEBUG"):
        log = _write_debug_log(renderables, errors)
    if log is not None:
        hint = _("details: {path}").format(path=log)
    else:
        hint = _("set MAILCONSOLE_DEBUG=1 to keep the details in a log file")
    print(_("mailconsole: internal error; the screen ended without saving ({hint})").format(
        hint=hint), file=sys.stderr)
    return 70


def _write_debug_log(renderables: list[Any], errors: list[BaseException]) -> str | None:
    import io
    import time
    import traceback

    from rich.console import Console

    from tui.console import frame_cache

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, force_terminal=False)
    console.print(time.strftime("--- %Y-%m-%d %H:%M:%S %z"))
    for renderable in renderables:
        console.print(renderable)
    for error in errors:  # the input loop's (no locals: plain traceback text)
        buffer.write("".join(traceback.format_exception(error)))
    return frame_cache.append_private("error.log", buffer.getvalue())
