"""The internal relay (M1): the local sendmail program, no shell.

``sendmail -i -f SENDER -- RCPT...`` with the message on standard input; the
exit status (sysexits.h) and standard error become a failure class."""

from __future__ import annotations

import os

from config.i18n import N_, _
from mailer.session import Recorder
from mailer.wire import Runtime, system_text

MAX_STDERR = 4000

# sysexits.h: code -> (class, meaning)
SYSEXITS: dict[int, tuple[str, str]] = {
    64: ("sendmail_failed", N_("EX_USAGE: command line usage error")),
    65: ("message_refused", N_("EX_DATAERR: the message was not accepted")),
    66: ("sendmail_failed", N_("EX_NOINPUT: cannot open input")),
    67: ("recipient_refused", N_("EX_NOUSER: addressee unknown")),
    68: ("sendmail_failed", N_("EX_NOHOST: host name unknown")),
    69: ("sendmail_failed", N_("EX_UNAVAILABLE: service unavailable")),
    70: ("sendmail_failed", N_("EX_SOFTWARE: internal software error")),
    71: ("sendmail_failed", N_("EX_OSERR: system error")),
    72: ("sendmail_config", N_("EX_OSFILE: critical OS file missing")),
    73: ("sendmail_failed", N_("EX_CANTCREAT: cannot create output file")),
    74: ("sendmail_failed", N_("EX_IOERR: input/output error")),
    # Postfix's sendmail exits 75 on every fatal local error (no main.cf,
    # postdrop not runnable): a fault of the local mail system, not greylisting.
    75: ("sendmail_tempfail", N_("EX_TEMPFAIL: temporary failure, try again later")),
    76: ("sendmail_failed", N_("EX_PROTOCOL: remote error in protocol")),
    77: ("sendmail_failed", N_("EX_NOPERM: permission denied")),
    78: ("sendmail_config", N_("EX_CONFIG: configuration error")),
}


def command_line(path: str, sender: str, recipients: list[str]) -> list[str]:
    """The argument list (never a shell string)."""
    return [path, "-i", "-f", sender, "--", *recipients]


def send_with_sendmail(rec: Recorder, runtime: Runtime, path: str, sender: str,
                             recipients: list[str], data: bytes) -> None:
    """Run sendmail; raise MailerError on failure.  Cancellation kills it."""
    argv = command_line(path, sender, recipients)
    rec.start("sendmail", _("Hand the mail to {path}").format(path=path))
    rec.note(" ".join(argv))
    if not os.path.isabs(path):
        raise rec.error("sendmail_missing", path=path, detail=_("the path must be absolute"))
    try:
        status, out, err = runtime.run_process(argv, data)
    except (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        raise rec.error("sendmail_missing", path=path, detail=system_text(exc)) from None
    except OSError as exc:
        raise rec.error("sendmail_missing", path=path, detail=system_text(exc)) from None
    text = (err or b"")[:MAX_STDERR].decode("utf-8", "replace").strip()
    text += ("\n" if text else "") + (out or b"")[:MAX_STDERR].decode("utf-8", "replace").strip()
    text = text.strip()
    for line in text.splitlines()[:40]:
        rec.server(line)
    if status == 0:
        rec.end("ok", reply=text[:500], detail=_(
            "exit status 0: the local mail system took the mail; \"mailq\" shows whether "
            "it still waits there"))
        return
    if status is not None and status < 0:
        meaning = _("killed by signal {n}").format(n=-status)
        cls = "sendmail_failed"
    else:
        cls, meaning_en = SYSEXITS.get(status or 1, ("sendmail_failed", N_("exit status")))
        meaning = _(meaning_en)
    rec.set_reply(text[:500])
    detail = _("{path} exited with status {status} ({meaning})").format(
        path=path, status=status, meaning=meaning)
    if text:
        detail += ": " + text.splitlines()[-1][:300]
    rec.note(detail)
    raise rec.error(cls, detail=detail, reply=detail, path=path)
