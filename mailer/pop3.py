"""A small POP3 client for SMTP after POP3 (M15): POP3S for security "tls",
STLS for "starttls", plain for "none"; same certificate rules as SMTP;
USER/PASS; QUIT.  The PASS line never reaches the transcript."""

from __future__ import annotations

from config.i18n import _
from config.model import Settings
from mailer.errors import MailerError
from mailer.session import HIDDEN, Recorder, Secret
from mailer.wire import WireLike, injection_warning, tls_context

MAX_CAPA_LINES = 100


class Pop3Client:
    def __init__(self, wire: WireLike, settings: Settings, password: Secret) -> None:
        self.wire = wire
        self.rec: Recorder = wire.rec
        self.smtp = settings.mail.smtp
        self.password = password

    async def _line(self) -> str:
        line = await self.wire.read_line()
        self.rec.server(line.text)
        return line.text

    async def _status(self) -> tuple[bool, str]:
        text = await self._line()
        if text.startswith("+OK"):
            return True, text
        if text.startswith("-ERR"):
            return False, text
        raise self.rec.error("protocol_error", detail=_(
            "the line {line!r} is not a POP3 answer").format(line=text[:80]))

    async def _command(self, text: str, *, shown: str | None = None) -> tuple[bool, str]:
        await self.wire.write_line(text, shown=shown)
        return await self._status()

    async def login(self) -> None:
        """Greeting, TLS as configured, USER/PASS, QUIT.  Raises MailerError."""
        security = self.smtp.security
        ctx = None
        if security != "none":
            ctx = tls_context(self.smtp.verify_certificates, self.smtp.ca_file)
        if security == "tls" and ctx is not None:
            await self.wire.start_tls(ctx, implicit=True)
        ok, text = await self._status()
        if not ok:
            self.rec.set_reply(text)
            raise self.rec.error("pop3_login_failed", reply=text)
        if security == "starttls" and ctx is not None:
            ok, text = await self._command("STLS")
            if not ok:
                self.rec.set_reply(text)
                raise self.rec.error("starttls_refused", reply=text)
            junk = await self.wire.discard_pending()  # never read as answers
            if junk:
                self.rec.note(_("data arrived after the STLS answer before the handshake; "
                                "discarded"))
                self.rec.warn(injection_warning(self.rec, "STLS", junk))
            await self.wire.start_tls(ctx, implicit=False)
        if not self.wire.encrypted and not self.smtp.allow_plaintext_auth:
            raise self.rec.error("plaintext_auth_refused")
        summary = self.wire.certificate_summary()
        if summary:
            self.rec.note(summary)
        ok, text = await self._command(f"USER {self.smtp.username}")
        if ok:
            ok, text = await self._command(f"PASS {self.password.reveal()}",
                                           shown=f"PASS {HIDDEN}")
        if not ok:
            self.rec.set_reply(text)
            raise self.rec.error("pop3_login_failed", reply=text)
        self.rec.set_reply(text)
        try:
            async with self.wire.timeout(2.0):
                await self._command("QUIT")
        except (MailerError, TimeoutError):  # the login counted; a rude goodbye is fine
            self.rec.note(_("no clean POP3 goodbye"))
