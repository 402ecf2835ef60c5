"""A small POP3 client for SMTP after POP3 (M15): POP3S for security "tls",
STLS for "starttls", plain for "none"; same certificate rules as SMTP;
USER/PASS; QUIT.  The PASS line never reaches the transcript."""

from __future__ import annotations

from config.i18n import _
from config.model import Settings
from mailer.errors import MailerError
from mailer.session import HIDDEN, Recorder, Secret
from mailer.wire import WireLike, injection_warning, probe_silent_port, tls_context

MAX_CAPA_LINES = 100


class Pop3Client:
    def __init__(self, wire: WireLike, settings: Settings, password: Secret) -> None:
        self.wire = wire
        self.rec: Recorder = wire.rec
        self.smtp = settings.mail.smtp
        self.password = password

    def _line(self) -> str:
        line = self.wire.read_line()
        self.rec.server(line.text)
        return line.text

    def _status(self) -> tuple[bool, str]:
        text = self._line()
        if text.startswith("+OK"):
            return True, text
        if text.startswith("-ERR"):
            return False, text
        if text[:3].isdigit() and text[3:4] in (" ", "-", ""):
            raise self.rec.error("protocol_error", detail=_(
                "the line {line!r} is an SMTP reply: this is an SMTP port, not POP3").format(
                    line=text[:80]))
        raise self.rec.error("protocol_error", detail=_(
            "the line {line!r} is not a POP3 answer").format(line=text[:80]))

    def _command(self, text: str, *, shown: str | None = None) -> tuple[bool, str]:
        self.wire.write_line(text, shown=shown)
        return self._status()

    def _quit(self) -> None:
        """QUIT, best effort, at most 2 seconds (also after a failure, while
        the connection is in step: polite, and quiet in the server's log)."""
        try:
            with self.wire.timeout(2.0):
                self._command("QUIT")
        except (MailerError, TimeoutError):
            self.rec.note(_("no clean POP3 goodbye"))

    def _refuse(self, cls: str, text: str) -> MailerError:
        self.rec.set_reply(text)
        err = self.rec.error(cls, reply=text)
        self._quit()
        return err

    def _offers_stls(self) -> bool:
        """CAPA (RFC 2449): whether STLS is listed; True if CAPA is unknown."""
        ok, _text = self._command("CAPA")
        if not ok:
            return True
        found = False
        for _n in range(MAX_CAPA_LINES):
            line = self._line()
            if line == ".":
                return found
            found = found or line.strip().upper() == "STLS"
        raise self.rec.error("protocol_error", detail=_(
            "a CAPA answer of more than {n} lines").format(n=MAX_CAPA_LINES))

    def login(self) -> None:
        """Greeting, TLS as configured, USER/PASS, QUIT.  Raises MailerError."""
        security = self.smtp.security
        ctx = None
        if security != "none":
            ctx = tls_context(self.smtp.verify_certificates, self.smtp.ca_file)
        if security == "tls" and ctx is not None:
            self.wire.start_tls(ctx, implicit=True)
        else:
            probe_silent_port(self.wire, self.rec)
        ok, text = self._status()
        if not ok:
            raise self._refuse("pop3_login_failed", text)
        if security == "starttls" and ctx is not None:
            if not self._offers_stls():
                self.rec.set_reply(_("STLS not offered"))
                err = self.rec.error("starttls_not_offered")
                self._quit()
                raise err
            ok, text = self._command("STLS")
            if not ok:
                raise self._refuse("starttls_refused", text)
            junk = self.wire.discard_pending()  # never read as answers
            if junk:
                self.rec.note(_("data arrived after the STLS answer before the handshake; "
                                "discarded"))
                self.rec.warn(injection_warning(self.rec, "STLS", junk))
            self.wire.start_tls(ctx, implicit=False)
        if not self.wire.encrypted and not self.smtp.allow_plaintext_auth:
            raise self.rec.error("plaintext_auth_refused")
        summary = self.wire.certificate_summary()
        if summary:
            self.rec.note(summary)
        ok, text = self._command(f"USER {self.smtp.username}")
        if ok:
            ok, text = self._command(f"PASS {self.password.reveal()}",
                                           shown=f"PASS {HIDDEN}")
        if not ok:
            raise self._refuse("pop3_login_failed", text)
        self.rec.set_reply(text)
        self._quit()  # the login counted; a rude goodbye is fine
