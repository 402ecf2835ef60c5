"""The mailer's entry points (keyword-only; see mailer/report.py for the contract).

    send(*, settings, message, sender=None, recipients=None, on_step=None,
         cancel=None) -> Report
    await send_async(...same...) -> Report
    send_test_mail(*, settings, recipient=None, on_step=None, cancel=None) -> Report
    await send_test_mail_async(...same...) -> Report

A failed send never raises: the Report says which step failed, the class and
the advice.  ``cancel`` (a threading.Event) ends the send with class
"cancelled".  Cancelling the task of an ``*_async`` call also ends it with
class "cancelled", closes the socket, and raises
:class:`mailer.errors.SendCancelled` (a CancelledError) carrying the report.

The whole conversation (or the sendmail run) has one deadline,
``mail.smtp.timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TypeVar

from config.i18n import _
from config.model import Settings
from mailer.errors import MailerError
from mailer.message import (
    AddressError,
    build_test_message,
    check_address,
    check_envelope,
    check_text,
    message_bytes,
    prepare_for_sending,
)
from mailer.report import Report
from mailer.session import OnStep, Recorder, Secret, secret_forms
from mailer.smtp import Envelope, SmtpClient
from mailer.wire import Wire, parse_server, tls_context

log = logging.getLogger("mailer")


class SendCancelled(asyncio.CancelledError):
    """Raised by the async API when its task is cancelled; ``report`` holds the
    finished report (failure class "cancelled").  A CancelledError, so task
    cancellation keeps working for the caller."""

    def __init__(self, report: Report) -> None:
        super().__init__("cancelled")
        self.report = report

T = TypeVar("T")
CANCEL_POLL = 0.05
Message = EmailMessage | bytes
MessageSource = Callable[[], EmailMessage]


# --- public API -------------------------------------------------------------

async def send_async(
    *,
    settings: Settings,
    message: Message,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
    on_step: OnStep | None = None,
    cancel: threading.Event | None = None,
) -> Report:
    """Send ``message`` through the relay of ``settings`` to ``recipients``
    (the envelope; never taken from the headers).  ``sender`` defaults to
    mail.sender."""
    return await _run(settings, lambda: _as_message(message), sender,
                      list(recipients or []), on_step, cancel)


def send(
    *,
    settings: Settings,
    message: Message,
    sender: str | None = None,
    recipients: Sequence[str] | None = None,
    on_step: OnStep | None = None,
    cancel: threading.Event | None = None,
) -> Report:
    """Synchronous :func:`send_async` (its own event loop, or a thread when
    called from a running loop)."""
    return _run_sync(lambda: send_async(
        settings=settings, message=message, sender=sender, recipients=recipients,
        on_step=on_step, cancel=cancel))


async def send_test_mail_async(
    *,
    settings: Settings,
    recipient: str | None = None,
    on_step: OnStep | None = None,
    cancel: threading.Event | None = None,
) -> Report:
    """Build the test mail (M5) with ``settings`` (the unsaved values on
    screen) and send it to ``recipient`` (default mail.test_recipient)."""
    to = settings.mail.test_recipient if recipient is None else recipient
    return await _run(settings, lambda: build_test_message(settings, to), None, [to],
                      on_step, cancel)


def send_test_mail(
    *,
    settings: Settings,
    recipient: str | None = None,
    on_step: OnStep | None = None,
    cancel: threading.Event | None = None,
) -> Report:
    """Synchronous :func:`send_test_mail_async`."""
    return _run_sync(lambda: send_test_mail_async(
        settings=settings, recipient=recipient, on_step=on_step, cancel=cancel))


# --- running ------------------------------------------------------------------

def _run_sync(make: Callable[[], asyncio.Future[T] | asyncio.Task[T] | object]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    # Called from inside a running loop (e.g. a Textual handler): never block
    # that loop's thread with a nested loop; use a thread with its own loop.
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="mailer-send", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def _as_message(message: Message) -> EmailMessage:
    if isinstance(message, bytes | bytearray):
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


async def _watch(cancel: threading.Event, task: asyncio.Task[object], flag: list[bool]) -> None:
    while not cancel.is_set():
        await asyncio.sleep(CANCEL_POLL)
    flag.append(True)
    task.cancel()


async def _run(
    settings: Settings,
    build: MessageSource,
    sender: str | None,
    recipients: list[str],
    on_step: OnStep | None,
    cancel: threading.Event | None,
) -> Report:
    mail, smtp = settings.mail, settings.mail.smtp
    external = mail.relay == "external"
    report = Report(relay=mail.relay, server=smtp.server if external else "",
                    recipients=list(recipients))
    rec = Recorder(report, on_step=on_step,
                   secrets=secret_forms(smtp.username, smtp.password),
                   context={"server": smtp.server if external else mail.internal.sendmail,
                            "timeout": smtp.timeout, "host": smtp.server,
                            "path": mail.internal.sendmail})
    task = asyncio.current_task()
    assert task is not None
    by_event: list[bool] = []
    watcher = asyncio.ensure_future(_watch(cancel, task, by_event)) if cancel else None
    wires: list[Wire] = []
    try:
        if cancel is not None and cancel.is_set():
            by_event.append(True)
            raise asyncio.CancelledError
        await _deliver(settings, build, sender or mail.sender, recipients, rec, wires)
        report.ok = True
        log.info("sent to %s via %s", ", ".join(report.recipients), report.relay)
    except MailerError as err:
        rec.finish_failure(err)
    except TimeoutError:
        cls = "connect_timeout" if rec.step_name in ("connect", "resolve") else "timeout"
        rec.note(_("deadline of {n} seconds reached").format(n=smtp.timeout))
        rec.finish_failure(rec.error(cls))
    except asyncio.CancelledError:
        rec.note(_("cancelled"))
        rec.finish_failure(rec.error("cancelled"))
        if by_event:
            task.uncancel()
        else:
            raise SendCancelled(report) from None
    except Exception as exc:  # a bug or an unforeseen error: still a clean report
        detail = f"{type(exc).__name__}: {exc}"
        log.warning("unexpected error while sending: %s", rec.scrub(detail))
        rec.finish_failure(rec.error("protocol_error", detail=detail))
    finally:
        for wire in wires:
            wire.abort()
        if watcher is not None:
            watcher.cancel()
    return report


async def _deliver(
    settings: Settings,
    build: MessageSource,
    sender: str,
    recipients: list[str],
    rec: Recorder,
    wires: list[Wire],
) -> None:
    mail, smtp = settings.mail, settings.mail.smtp
    external = mail.relay == "external"

    # -- check settings (before any connection) -------------------------------
    rec.start("settings", _("Check the settings"))
    message = _check_settings(settings, build, sender, recipients, rec)
    data = message_bytes(message)
    envelope = Envelope(check_address(sender), [check_address(r) for r in recipients], data,
                        eight_bit=any(b > 127 for b in data))
    rec.end("ok")

    async with asyncio.timeout(smtp.timeout):
        if not external:
            from mailer.relay import send_with_sendmail
            await send_with_sendmail(rec, mail.internal.sendmail, envelope.sender,
                                     envelope.recipients, data)
            return
        password = Secret(smtp.password)
        if mail.pop3.enabled:
            await _pop3_login(settings, password, rec, wires)
        host, port = parse_server(smtp.server, 25)
        rec.context["host"] = host
        wire = Wire(rec, host, port)
        wires.append(wire)
        rec.start("resolve", _("Look up {host}").format(host=host))
        addrs = await wire.resolve()
        rec.end("ok", reply=", ".join(ip for ip, _p in addrs))
        rec.start("connect", _("Connect to {server}").format(server=smtp.server))
        await wire.connect(addrs)
        rec.end("ok")
        client = SmtpClient(wire, settings, password)
        if smtp.security == "tls":
            await client.implicit_tls()
            client.certificate()
        await client.greeting(smtp.security)
        await client.ehlo(_("Introduce ourselves (EHLO)"))
        if smtp.security == "starttls":
            await client.starttls()
            client.certificate()
            await client.ehlo(_("Introduce ourselves again, encrypted (EHLO)"))
        if smtp.authentication and not mail.pop3.enabled:
            await client.login()
        else:
            rec.skip("login", _("Log in"), _("SMTP after POP3") if mail.pop3.enabled
                     else _("authentication is off"))
        await client.mail_from(envelope)
        await client.rcpt_to(envelope)
        rec.report.queue_id = await client.data(envelope)
        await client.quit()
        await wire.close()


def _check_settings(settings: Settings, build: MessageSource, sender: str,
                    recipients: list[str], rec: Recorder) -> EmailMessage:
    """Raise MailerError (invalid_settings / invalid_address /
    plaintext_auth_refused) or return the message ready to send."""
    from config.validate import validate

    mail, smtp = settings.mail, settings.mail.smtp
    problems = [p for p in validate(settings) if p.severity == "error"]
    if problems:
        raise rec.error("invalid_settings", detail=str(problems[0]))
    if mail.relay not in ("internal", "external"):
        raise rec.error("invalid_settings", detail=_("mail.relay must be internal or external"))
    try:
        check_envelope(sender, recipients)
        check_text(mail.sender_name, _("The sender name"))
        message = prepare_for_sending(build(), settings)
    except AddressError as err:
        raise rec.error("invalid_address", address=err.value, detail=err.reason) from None
    except (ValueError, TypeError) as err:  # the email package refusing a header
        raise rec.error("invalid_address", address="", detail=str(err)) from None
    if mail.relay == "internal":
        return message
    try:
        parse_server(smtp.server, 25)
    except ValueError as err:
        raise rec.error("invalid_settings",
                        detail=f"mail.smtp.server: {err}") from None
    if smtp.security not in ("tls", "starttls", "none"):
        raise rec.error("invalid_settings",
                        detail=_("mail.smtp.security must be tls, starttls or none"))
    uses_login = smtp.authentication or mail.pop3.enabled
    if uses_login and not (smtp.username and smtp.password):
        raise rec.error("invalid_settings", detail=_(
            "mail.smtp.username and mail.smtp.password are needed to log in"))
    if mail.pop3.enabled:
        try:
            parse_server(mail.pop3.server, 110)
        except ValueError as err:
            raise rec.error("invalid_settings", detail=f"mail.pop3.server: {err}") from None
    if uses_login and smtp.security == "none" and not smtp.allow_plaintext_auth:
        raise rec.error("plaintext_auth_refused")
    if smtp.security != "none":
        try:
            tls_context(smtp.verify_certificates, smtp.ca_file)
        except (OSError, ValueError) as err:
            raise rec.error("invalid_settings", detail=_(
                "mail.smtp.ca_file {path!r} cannot be used: {error}").format(
                    path=smtp.ca_file, error=getattr(err, "strerror", None) or err)) from None
    return message


async def _pop3_login(settings: Settings, password: Secret, rec: Recorder,
                      wires: list[Wire]) -> None:
    from mailer.pop3 import Pop3Client

    smtp, pop3 = settings.mail.smtp, settings.mail.pop3
    host, port = parse_server(pop3.server, 995 if smtp.security == "tls" else 110)
    saved = dict(rec.context)
    rec.context.update(server=pop3.server, host=host)
    rec.start("pop3", _("Log in to the POP3 server {server}").format(server=pop3.server))
    rec.note(_("SMTP after POP3: POP3 server {server}").format(server=pop3.server))
    wire = Wire(rec, host, port)
    wires.append(wire)
    addrs = await wire.resolve()
    await wire.connect(addrs)
    await Pop3Client(wire, settings, password).login()
    await wire.close()
    if smtp.security != "none" and not smtp.verify_certificates:
        warning = _("certificate checks were off")
        if warning not in rec.report.warnings:
            rec.report.warnings.append(warning)
    rec.end("ok")
    rec.context.clear()
    rec.context.update(saved)
