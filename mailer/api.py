"""The mailer's entry points (keyword-only; see mailer/report.py for the contract).

    send(*, settings, message, sender=None, recipients=None, on_step=None,
         cancel=None, token_file=None) -> Report
    send_test_mail(*, settings, recipient=None, on_step=None, cancel=None) -> Report

``token_file``: where OAuth2 tokens are kept (config.tokens.token_path of
the configuration file; default: beside $MAILCONSOLE_CONFIG or
/etc/mailconsole/mail.toml).  A failed send never raises: the Report says
which step failed, the class and the advice.  ``cancel`` (a threading.Event)
ends the send with class "cancelled" within about 0.2 s and closes the socket.
Both calls block the calling thread; the TUI runs them in a thread worker.

The whole conversation (or the sendmail run) has one deadline,
``mail.smtp.timeout`` seconds.

One transport: blocking sockets (mailer.blocking), driven by the conversation
code of mailer.smtp, mailer.pop3 and mailer.relay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from config.i18n import _
from config.model import Settings
from config.validate import validate
from mailer.blocking import SyncRuntime
from mailer.errors import MailerError
from mailer.message import (
    AddressError,
    build_test_mail_bytes,
    check_address,
    check_envelope,
    check_text,
    message_bytes,
    prepare_for_sending,
)
from mailer.pop3 import Pop3Client
from mailer.relay import send_with_sendmail
from mailer.report import Report
from mailer.session import OnStep, Recorder, Secret, secret_forms
from mailer.smtp import Envelope, SmtpClient
from mailer.wire import Runtime, parse_server, tls_context

if TYPE_CHECKING:  # the email package is imported by the send that needs it
    from email.message import EmailMessage

    # Builds the message at the settings step: an EmailMessage (checked and
    # completed there), or the test mail's bytes (built with the email package).
    MessageSource = Callable[[], EmailMessage | bytes]


# --- public API -------------------------------------------------------------

def send(
    *,
    settings: Settings,
    message: EmailMessage | bytes,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
    on_step: OnStep | None = None,
    cancel: threading.Event | None = None,
    token_file: str | None = None,
) -> Report:
    """Send ``message`` through the relay of ``settings`` to ``recipients``
    (the envelope; never taken from the headers).  ``sender`` defaults to
    mail.sender.  Blocks the calling thread (no event loop; fine inside a
    running one, which it blocks like any blocking call)."""
    return _run(SyncRuntime(), settings, lambda: _as_message(message), sender,
                list(recipients or []), on_step, cancel, token_file)


def send_test_mail(
    *,
    settings: Settings,
    recipient: str | None = None,
    on_step: OnStep | None = None,
    cancel: threading.Event | None = None,
    token_file: str | None = None,
) -> Report:
    """Build the test mail (M5) with ``settings`` (the unsaved values on
    screen) and send it to ``recipient`` (default mail.test_recipient);
    see :func:`send`."""
    to = settings.mail.test_recipient if recipient is None else recipient
    return _run(SyncRuntime(), settings, _test_message(settings, to), None, [to],
                on_step, cancel, token_file)


# --- running ------------------------------------------------------------------

def _test_message(settings: Settings, to: str) -> MessageSource:
    def build() -> bytes:
        return build_test_mail_bytes(settings, to)

    return build


def _as_message(message: EmailMessage | bytes) -> EmailMessage:
    from email.message import EmailMessage

    if isinstance(message, bytes | bytearray):
        from email import policy
        from email.parser import BytesParser

        raw = bytes(message)
        head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
        if re.search(rb"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", head):
            raise AddressError("", _("the message headers contain a control character or a "
                                     "bare carriage return"))
        parsed = BytesParser(policy=policy.SMTP).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        return parsed
    if not isinstance(message, EmailMessage):
        raise AddressError(repr(type(message)), _("the message must be an EmailMessage"))
    return message


def _run(
    runtime: SyncRuntime,
    settings: Settings,
    build: MessageSource,
    sender: str | None,
    recipients: list[str],
    on_step: OnStep | None,
    cancel: threading.Event | None,
    token_file: str | None = None,
) -> Report:
    mail, smtp = settings.mail, settings.mail.smtp
    external = mail.relay == "external"
    report = Report(relay=mail.relay, server=smtp.server if external else "",
                    recipients=list(recipients))
    rec = Recorder(report, on_step=on_step,
                   secrets=secret_forms(smtp.username, smtp.password)
                   + secret_forms("", smtp.oauth2.client_secret),
                   context={"server": smtp.server if external else mail.internal.sendmail,
                            "timeout": smtp.timeout, "host": smtp.server,
                            "path": mail.internal.sendmail})
    try:
        runtime.begin(cancel)
        _deliver(runtime, settings, build, sender or mail.sender, recipients, rec,
                       token_file)
        report.ok = True
        rec.log_info("sent to %s via %s", ", ".join(report.recipients), report.relay)
    except MailerError as err:
        rec.finish_failure(err)
    except TimeoutError:
        cls = "connect_timeout" if rec.step_name in ("connect", "resolve") else "timeout"
        rec.note(_("deadline of {n} seconds reached").format(n=smtp.timeout))
        rec.finish_failure(rec.error(cls))
    except runtime.cancelled:
        rec.note(_("cancelled"))
        rec.finish_failure(rec.error("cancelled"))
    except Exception as exc:  # a bug or an unforeseen error: still a clean report
        detail = f"{type(exc).__name__}: {exc}"
        rec.log_warning("unexpected error while sending: %s", rec.scrub(detail))
        rec.finish_failure(rec.error("protocol_error", detail=detail))
    finally:
        runtime.finish()
    return report


def _deliver(
    runtime: Runtime,
    settings: Settings,
    build: MessageSource,
    sender: str,
    recipients: list[str],
    rec: Recorder,
    token_file: str | None = None,
) -> None:
    mail, smtp = settings.mail, settings.mail.smtp
    external = mail.relay == "external"

    # The deadline covers the settings step too: every file a send reads (the
    # logo, ca_file) is read inside it (and opened only if it is a regular file).
    with runtime.timeout(smtp.timeout):
        # -- check settings (before any connection) ---------------------------
        rec.start("settings", _("Check the settings"))
        data = _check_settings(settings, build, sender, recipients, rec)
        envelope = Envelope(check_address(sender), [check_address(r) for r in recipients],
                            data, eight_bit=any(b > 127 for b in data))
        rec.end("ok")

        if not external:
            send_with_sendmail(rec, runtime, mail.internal.sendmail, envelope.sender,
                                     envelope.recipients, data)
            return
        client = open_smtp(runtime, settings, rec, token_file)
        try:
            client.mail_from(envelope)
            client.rcpt_to(envelope)
            rec.report.queue_id = rec.withhold(client.data(envelope))
        except MailerError:
            client.quit_after_failure()
            raise
        client.quit()
        client.wire.close()


def open_smtp(runtime: Runtime, settings: Settings, rec: Recorder,
                    token_file: str | None = None) -> SmtpClient:
    """Connect to the external relay of ``settings`` and get as far as MAIL FROM:
    (POP3 first if set, an OAuth2 token if auth_method is "oauth2", greeting,
    EHLO, STARTTLS or TLS, login).  Raises MailerError; mailer.queue uses it to
    send many mails over one connection."""
    from mailer.smtp import SmtpClient

    mail, smtp = settings.mail, settings.mail.smtp
    password = Secret(smtp.password)
    if mail.pop3.enabled:
        _pop3_login(runtime, settings, password, rec)
    host, port = parse_server(smtp.server, 25)
    rec.context.update(host=host, server=host_port(host, port))
    tokens = None
    if smtp.authentication and smtp.auth_method == "oauth2" and not mail.pop3.enabled:
        from mailer.oauth import TokenStep

        tokens = TokenStep(runtime, settings, rec, token_file)
        tokens.set_server(host, port)
        rec.context.update(account=tokens.account, user=smtp.username)
        tokens.get()
    wire = runtime.wire(rec, host, port)
    rec.start("resolve", _("Look up {host}").format(host=host))
    addrs = wire.resolve()
    rec.end("ok", reply=", ".join(ip for ip, _p in addrs))
    rec.start("connect", _("Connect to {server}").format(server=smtp.server))
    wire.connect(addrs)
    rec.end("ok")
    client = SmtpClient(wire, settings, password, tokens)
    try:
        if smtp.security == "tls":
            client.implicit_tls()
            client.certificate()
        client.greeting(smtp.security)
        client.ehlo(_("Introduce ourselves (EHLO)"))
        if smtp.security == "starttls":
            client.starttls()
            client.certificate()
            client.ehlo(_("Introduce ourselves again, encrypted (EHLO)"))
        if smtp.authentication and not mail.pop3.enabled:
            client.login()
        else:
            rec.skip("login", _("Log in"), _("SMTP after POP3") if mail.pop3.enabled
                     else _("authentication is off"))
    except MailerError:
        client.quit_after_failure()  # polite while the connection is in step
        raise
    return client


def host_port(host: str, port: int) -> str:
    """``host:port`` as messages name a server (``[::1]:587`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_settings(settings: Settings, build: MessageSource, sender: str,
                    recipients: list[str], rec: Recorder) -> bytes:
    """Raise MailerError (invalid_settings / invalid_address /
    plaintext_auth_refused) or return the message bytes ready to send."""
    mail, smtp = settings.mail, settings.mail.smtp
    # validate() is the one judge of the settings (relay and security choices,
    # server syntax, the user name and password a login needs...); what follows
    # checks only what it does not: the message, the plaintext-login policy and
    # whether the CA file can be loaded.
    problems = [p for p in validate(settings) if p.severity == "error"]
    uses_login = smtp.authentication or mail.pop3.enabled
    if mail.relay == "external" and uses_login and smtp.security == "none" and \
            not smtp.allow_plaintext_auth:
        # validate's error for this, as the mailer's own class with its advice
        raise rec.error("plaintext_auth_refused")
    if problems:
        raise rec.error("invalid_settings", detail=str(problems[0]))
    try:
        check_envelope(sender, recipients)
        check_text(mail.sender_name, _("The sender name"))
        built = build()
        if isinstance(built, bytes):
            message = built
        else:
            message = message_bytes(prepare_for_sending(built, settings))
    except AddressError as err:
        raise rec.error("invalid_address", address=err.value, detail=err.reason) from None
    except (ValueError, TypeError) as err:  # the email package refusing a header
        raise rec.error("invalid_address", address="", detail=str(err)) from None
    if mail.relay == "internal":
        return message
    if smtp.security != "none":
        try:
            tls_context(smtp.verify_certificates, smtp.ca_file)
        except (OSError, ValueError) as err:
            raise rec.error("invalid_settings", detail=_(
                "mail.smtp.ca_file {path!r} cannot be used: {error}").format(
                    path=smtp.ca_file, error=getattr(err, "strerror", None) or err)) from None
    return message


def _pop3_login(runtime: Runtime, settings: Settings, password: Secret,
                      rec: Recorder) -> None:
    smtp, pop3 = settings.mail.smtp, settings.mail.pop3
    host, port = parse_server(pop3.server, 995 if smtp.security == "tls" else 110)
    saved = dict(rec.context)
    rec.context.update(server=host_port(host, port), host=host, protocol="pop3")
    rec.start("pop3", _("Log in to the POP3 server {server}").format(server=pop3.server))
    rec.note(_("SMTP after POP3: POP3 server {server}").format(server=pop3.server))
    wire = runtime.wire(rec, host, port)
    addrs = wire.resolve()
    wire.connect(addrs)
    Pop3Client(wire, settings, password).login()
    wire.close()
    if smtp.security != "none" and not smtp.verify_certificates:
        rec.warn(_("certificate checks were off"))
    rec.end("ok")
    rec.context.clear()
    rec.context.update(saved)
