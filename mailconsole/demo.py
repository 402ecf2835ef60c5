"""``mailconsole demo``: the screen on a throw-away setup.

A temp directory holds the demo config and a Maildir; a capture SMTP server
(aiosmtpd) listens on 127.0.0.1 on a free port and stores every mail it gets
in that Maildir; the config's external relay points at it.  Nothing outside
the temp directory is touched, and it is removed on exit.

The capture server speaks plain SMTP (security "unencrypted", no login): a
certificate would need a CA the mailer trusts, which the demo does not
install.  The screen says so.
"""

from __future__ import annotations

import signal
import socket
import tempfile
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from config.i18n import _, set_language
from config.service import SettingsService

HOST = "127.0.0.1"


def _free_port() -> int:
    """A port that was free a moment ago (the demo's own loopback server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class DemoSetup:
    """The temp dir, the capture server and the demo config (a context manager)."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="mailconsole-demo-")
        self.dir = Path(self._tmp.name)
        self.config = self.dir / "mail.toml"
        self.maildir = self.dir / "maildir"
        self._controller = Controller(
            Mailbox(self.maildir), hostname=HOST, port=_free_port(),
            server_hostname="demo.invalid", ident="mailconsole demo capture server",
        )
        self.port = 0

    def start(self) -> DemoSetup:
        self._controller.start()
        self.port = self._controller.port
        service = SettingsService(self.config)
        service.load()
        settings = service.settings.with_values({
            "mail.relay": "external",
            "mail.sender": "pbx@demo.example",
            "mail.sender_name": "Demo PBX",
            "mail.test_recipient": "admin@demo.example",
            "mail.smtp.server": f"{HOST}:{self.port}",
            "mail.smtp.security": "none",
            "mail.smtp.authentication": False,
            "mail.smtp.verify_certificates": False,
        })
        service.save(settings)
        return self

    def stop(self) -> None:
        try:
            if self._controller._thread is not None:
                self._controller.stop()
        finally:
            self._tmp.cleanup()

    def __enter__(self) -> DemoSetup:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def note(self) -> str:
        return _(
            "DEMO: the relay is a capture server on {host}:{port} (unencrypted: it has no "
            "certificate). Mail to any address lands in {maildir}/new; nothing leaves "
            "this machine. The demo files are removed on exit."
        ).format(host=HOST, port=self.port, maildir=self.maildir, dir=self.dir)

    def received(self) -> list[Path]:
        """The files of the mails captured so far."""
        new = self.maildir / "new"
        return sorted(new.iterdir()) if new.is_dir() else []


def run_demo(*, mode: str | None = None, lang: str | None = None) -> int:
    """Run the screen on a fresh demo setup; return the exit code."""
    from tui.start import run

    set_language(lang)

    def hang_up(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the cleanup below

    old = {sig: signal.signal(sig, hang_up) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        with DemoSetup() as demo:
            code = run(demo.config, mode=mode, lang=lang, demo_note=demo.note())
            count = len(demo.received())
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    print(_("mailconsole demo: {n} mail(s) were captured; the demo files are removed.").format(
        n=count))
    return code
