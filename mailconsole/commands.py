"""The subcommands of ``mailconsole``.  Each ``cmd_<name>(args, path) -> int``.

They only talk to :class:`config.service.SettingsService` and ``mailer``;
exceptions travel up to :func:`mailconsole.cli.handle_exception`, which turns
them into one line and an exit code.  Imports of the mailer (and with it the
TLS stack) happen inside ``test-mail`` and ``send`` only.
"""

from __future__ import annotations

import argparse
import difflib
import getpass
import json
import shutil
import sys
from typing import TYPE_CHECKING, Any

from config.errors import ConfigTypeError
from config.i18n import N_, _
from config.model import FIELDS, SECRET_KEYS, Settings, Value, parse_value
from config.service import SettingsService
from config.text import json_text, visible
from config.validate import Problem
from mailconsole.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SYNTAX,
    CommandFailed,
    UsageError,
    _dump,
    describe_os_error,
    err,
    out,
    remember_secret,
)

if TYPE_CHECKING:  # the mailer (ssl, email) is imported by test-mail and send only
    from mailer.report import Report, Step

PASSWORD_KEY = "mail.smtp.password"
CLIENT_SECRET_KEY = "mail.smtp.oauth2.client_secret"
STDIN_OPTION = {PASSWORD_KEY: "--password-stdin", CLIENT_SECRET_KEY: "--client-secret-stdin"}


# --- helpers ----------------------------------------------------------------


def service(path: str) -> SettingsService:
    return SettingsService(path)


def load(svc: SettingsService) -> Settings:
    settings = svc.load()
    remember_secrets(settings)
    return settings


def remember_secrets(settings: Settings) -> None:
    """Register every secret of ``settings`` (password, client secret)."""
    for key in SECRET_KEYS:
        remember_secret(str(settings.get(key)))


def known_key(key: str) -> str:
    """``key`` if it is a setting; else a UsageError with the closest match."""
    if key in FIELDS:
        return key
    close = difflib.get_close_matches(key, list(FIELDS), n=1)
    if close:
        raise UsageError(_("{key}: unknown setting — did you mean {close}? "
                           "('mailconsole show' lists them all)").format(key=key, close=close[0]))
    raise UsageError(_("{key}: unknown setting — 'mailconsole show' lists them all")
                     .format(key=key))


def password_state(value: Value) -> str:
    return "set" if value else "unset"


def public_flat(settings: Settings) -> dict[str, Value]:
    """Every setting, the secrets replaced by "set"/"unset"."""
    return {
        key: (password_state(value) if key in SECRET_KEYS else value)
        for key, value in settings.to_flat().items()
    }


def toml_value(value: Value) -> str:
    """A TOML value as the file would hold it: strings quoted and escaped as
    ``json.dumps(value, ensure_ascii=False)`` does, plus DEL, C1 and bidi
    controls as ``\\uXXXX`` (safe on a terminal; the same value in TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json_text(json.dumps(value, ensure_ascii=False))


def plain_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def problem_dict(problem: Problem) -> dict[str, Any]:
    fix = None
    if problem.fix:
        fix = {k: ("********" if k in SECRET_KEYS else v) for k, v in problem.fix.items()}
    return {"key": problem.key, "severity": problem.severity, "message": problem.message,
            "fix": fix, "fix_label": problem.fix_label}


def fix_hint(problem: Problem) -> str:
    if not problem.fix or any(k in SECRET_KEYS for k in problem.fix):
        return ""
    assignments = " ".join(f"{k}={plain_value(v)}" for k, v in problem.fix.items())
    label = problem.fix_label or _("fix")
    return _(" ({label}: mailconsole set {assignments})").format(
        label=label, assignments=assignments)


def print_warnings(problems: list[Problem], path: str) -> None:
    for p in problems:
        if p.severity == "warning":
            err(_("{path}: warning: {key}: {message}").format(
                path=path, key=p.key, message=p.message))


def summary(keys: list[str], settings: Settings) -> str:
    shown = []
    for key in keys:
        value = settings.get(key)
        shown.append(f"{key} = " + (f"({password_state(value)})" if key in SECRET_KEYS
                                    else toml_value(value)))
    return ", ".join(shown)


# --- show / get -------------------------------------------------------------


def cmd_show(args: argparse.Namespace, path: str) -> int:
    svc = service(path)
    settings = load(svc)
    exists = svc.exists
    flat = public_flat(settings)
    if args.json:
        print(_dump({"file": str(path), "exists": exists, "settings": flat}))
        return EXIT_OK
    if not exists:
        err(_("{path} does not exist; showing the defaults ('mailconsole set' creates it)")
            .format(path=path))
    lines = []
    for key, value in flat.items():
        if key in SECRET_KEYS:
            lines.append(f"# {key} = ({value})")
        else:
            lines.append(f"{key} = {toml_value(value)}")
    out("\n".join(lines), lines=True)
    return EXIT_OK


def cmd_get(args: argparse.Namespace, path: str) -> int:
    key = known_key(args.key)
    if key in SECRET_KEYS:
        raise UsageError(_("{key}: the password is never printed; 'mailconsole show' says "
                           "whether it is set").format(key=key))
    settings = load(service(path))
    print(visible(plain_value(settings.get(key))))
    return EXIT_OK


# --- set / unset --------------------------------------------------------------


def parse_assignments(items: list[str]) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            shown = item if key not in SECRET_KEYS else key
            raise UsageError(_("{item!r}: expected KEY=VALUE, e.g. mail.relay=external")
                             .format(item=shown))
        server = key.removesuffix(".port") + ".server"
        if key.endswith(".port") and key not in FIELDS and server in FIELDS:
            # the screen's "SMTP server" field holds the port too
            raise UsageError(_("{key}: there is no port setting — the port goes after the "
                               "server's host name, e.g. mailconsole set {server}=HOST:{port}")
                             .format(key=key, server=server, port=text.strip() or "PORT"))
        known_key(key)
        if key in SECRET_KEYS:
            remember_secret(text)
            raise UsageError(_("{key}: a password on the command line is refused (it shows in "
                               "ps and the shell history) — use {option}").format(
                                   key=key, option=STDIN_OPTION.get(key, "--password-stdin")))
        try:
            values[key] = parse_value(key, text)
        except ConfigTypeError as exc:
            raise CommandFailed(_("{key}: {message} — nothing was written").format(
                key=key, message=exc.message)) from None
    return values


def read_password(key: str = PASSWORD_KEY) -> str:
    option = STDIN_OPTION[key]
    if sys.stdin is None:
        raise UsageError(_("{option}: there is no standard input").format(option=option))
    if sys.stdin.isatty():
        password = getpass.getpass(_("Password for {key}: ").format(key=key))
    else:
        line = sys.stdin.readline()
        if not line:
            raise UsageError(_("{option}: standard input is empty — pipe the secret in, e.g. "
                               "printf '%s\\n' \"$PW\" | mailconsole set {option}").format(
                                   option=option))
        password = line.removesuffix("\n").removesuffix("\r")
    remember_secret(password)
    if not password:
        raise UsageError(_("{option}: the secret is empty — to remove it, run "
                           "'mailconsole unset {key}'").format(option=option, key=key))
    return password


def read_stdin_secrets(args: argparse.Namespace, values: dict[str, Value]) -> None:
    """--password-stdin and --client-secret-stdin (one line each, in that order)."""
    if getattr(args, "password_stdin", False):
        values[PASSWORD_KEY] = read_password(PASSWORD_KEY)
    if getattr(args, "client_secret_stdin", False):
        values[CLIENT_SECRET_KEY] = read_password(CLIENT_SECRET_KEY)


def cmd_set(args: argparse.Namespace, path: str) -> int:
    values = parse_assignments(args.assignments)
    read_stdin_secrets(args, values)
    if not values:
        raise UsageError(_("nothing to set — give KEY=VALUE or --password-stdin"))
    svc = service(path)
    settings, changed = svc.update(values)
    remember_secrets(settings)
    if changed:
        out(_("{path}: saved {summary}").format(path=path, summary=summary(list(values),
                                                                          settings)))
    else:
        out(_("{path}: unchanged").format(path=path))
    print_warnings(svc.validate(settings), path)
    return EXIT_OK


def cmd_unset(args: argparse.Namespace, path: str) -> int:
    keys = [known_key(k) for k in args.keys]
    svc = service(path)
    settings, changed = svc.reset(keys)
    remember_secrets(settings)
    if changed:
        out(_("{path}: back to the default: {summary}").format(
            path=path, summary=summary(keys, settings)))
    else:
        out(_("{path}: unchanged").format(path=path))
    print_warnings(svc.validate(settings), path)
    return EXIT_OK


# --- validate -------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace, path: str) -> int:
    svc = service(path)
    settings = load(svc)
    problems = svc.validate(settings) + queue_problems(settings)
    errors = [p for p in problems if p.severity == "error"]
    if args.json:
        print(_dump({
            "file": str(path), "ok": not errors,
            "errors": len(errors), "warnings": len(problems) - len(errors),
            "problems": [problem_dict(p) for p in problems],
        }))
    elif not problems:
        out(_("{path}: OK").format(path=path))
    else:
        for p in problems:
            severity = _("error") if p.severity == "error" else _("warning")
            out(_("{path}: {severity}: {key}: {message}{hint}").format(
                path=path, severity=severity, key=p.key, message=p.message, hint=fix_hint(p)))
    return EXIT_FAILED if errors else EXIT_OK


# --- apply -------------------------------------------------------------------------


def read_apply_file(name: str) -> tuple[str, str]:
    """(text, name for messages) of the apply FILE ('-': standard input)."""
    from config.store import MAX_BYTES, decode, read_regular

    if name == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1) if sys.stdin is not None else b""
        name = _("<standard input>")
    else:
        try:  # a regular file only (a FIFO or device: exit 3), at most MAX_BYTES
            data, _st = read_regular(name, name)
        except OSError as exc:
            exc.filename = exc.filename or name
            raise CommandFailed(describe_os_error(exc, None), EXIT_FAILED) from None
    if len(data) > MAX_BYTES:
        decode(data, name)  # ConfigSyntaxError: too large (exit 3)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CommandFailed(_("{file}:{line}:{col}: not valid UTF-8 — save the file as UTF-8; "
                              "nothing was changed").format(file=name, line=line, col=col),
                            EXIT_SYNTAX) from None
    return text, name


def cmd_apply(args: argparse.Namespace, path: str) -> int:
    text, source = read_apply_file(args.file)
    svc = service(path)
    result = svc.apply_toml(text, check=args.check, source=source)
    remember_secrets(result.settings)
    if args.json:
        print(_dump({"changed": bool(result.changed), "check": bool(args.check),
                     "diff": result.diff, "file": str(path)}))
    else:
        if result.diff:
            out(result.diff.removesuffix("\n"), lines=True)
        if not result.changed:
            msg = _("{path}: no change")
        elif args.check:
            msg = _("{path}: would change (run without --check to apply)")
        else:
            msg = _("{path}: changed")
        out(msg.format(path=path))
    print_warnings(svc.validate(result.settings), path)
    return EXIT_OK


# --- test-mail / send ------------------------------------------------------------


STATUS_MARKS = {  # translated at call time
    "running": "..",
    "ok": N_("ok"),
    "failed": N_("FAILED"),
    "skipped": N_("skipped"),
    "warning": N_("warning"),
}


class Progress:
    """Prints each step: on a terminal one live line per step (rewritten with
    ``\\r`` while it runs), when piped a plain line when it ends."""

    def __init__(self, stream: Any, *, live: bool) -> None:
        self.stream = stream
        self.live = live

    def line(self, step: Step) -> str:
        mark = _(STATUS_MARKS.get(step.status, step.status))
        text = f"{mark:<8}{step.title}"
        if step.status != "running":
            text += f" ({step.duration:.2f} s)"
        # a failed step's detail is the failure message, printed once below it
        for extra in (step.reply, "" if step.status == "failed" else step.detail):
            lines = extra.strip().splitlines()
            if lines:  # one line per step: a multi-line reply (EHLO) shows its first
                text += f" — {lines[0]}" + (" …" if len(lines) > 1 else "")
        return text

    def on_step(self, step: Step) -> None:
        text = visible(self.line(step))  # the report is redacted; this is for the terminal
        if self.live:
            if step.status == "running":  # must fit, or \r cannot rewrite it
                width = shutil.get_terminal_size().columns - 1
                self.stream.write("\r\x1b[K" + text[:max(width, 10)])
            else:
                self.stream.write("\r\x1b[K" + text + "\n")
        elif step.status != "running":
            self.stream.write(text + "\n")
        self.stream.flush()


def failure_line(report: Report, what: str) -> str:
    f = report.failure
    if f is None:
        return _("{what} failed — run 'mailconsole test-mail' for a diagnosis").format(what=what)
    # the step as the admin saw it ("TLS handshake", not "starttls"); the class
    # name stays in --json (issue 14: no internal names in human text)
    step = next((st.title for st in reversed(report.steps) if st.status == "failed"),
                f.step or "?")
    return _("{what} failed at \"{step}\": {message} — {advice}").format(
        what=what, step=step, message=f.message, advice=f.advice)


def cmd_test_mail(args: argparse.Namespace, path: str) -> int:
    svc = service(path)
    settings = load(svc)
    if args.timeout is not None:
        settings = settings.with_values({"mail.smtp.timeout": args.timeout})
    recipient = args.to or settings.mail.test_recipient
    if not recipient:
        raise UsageError(_("no recipient — pass --to ADDR or set mail.test_recipient"))
    from mailer import send_test_mail

    progress = None if args.json else Progress(sys.stdout, live=sys.stdout.isatty())
    from config.tokens import token_path

    report = send_test_mail(settings=settings, recipient=recipient,
                            on_step=progress.on_step if progress else None,
                            token_file=token_path(path))
    if args.json:
        print(report.to_json())
    else:
        if report.ok:
            where = report.server or _("the local sendmail")
            queue = _(" (queue id {id})").format(id=report.queue_id) if report.queue_id else ""
            out(_("Test mail to {to} accepted by {where}{queue}.").format(
                to=", ".join(report.recipients) or recipient, where=where, queue=queue))
        elif report.failure:
            out(_("Test mail NOT delivered: {message}").format(message=report.failure.message))
            out(_("What to do: {advice}").format(advice=report.failure.advice))
        for w in report.warnings:
            out(_("Warning: {warning}").format(warning=w))
    if not report.ok:
        if args.json:  # the human summary above already says it (once, issue 14)
            err(failure_line(report, _("test mail")))
        return EXIT_FAILED
    return EXIT_OK


def read_message(args: argparse.Namespace) -> tuple[Any, list[str]]:
    from email import policy
    from email.parser import BytesParser
    from email.utils import getaddresses

    data = sys.stdin.buffer.read() if sys.stdin is not None else b""
    if not data.strip():
        raise UsageError(_("standard input is empty — pipe an RFC 5322 message in, e.g. "
                           "mailconsole send --to ADDR < message.eml"))
    message = BytesParser(policy=policy.SMTP).parsebytes(data)
    recipients: list[str] = []
    for addr in args.to:
        if addr not in recipients:
            recipients.append(addr)
    if args.from_headers:
        values = []
        for header in ("To", "Cc", "Bcc"):
            values += [str(v) for v in message.get_all(header, [])]
        for _name, addr in getaddresses(values):
            if addr and addr not in recipients:
                recipients.append(addr)
        del message["Bcc"]
    if not recipients and args.from_headers:
        raise UsageError(_("no recipients — the message has no To, Cc or Bcc address; add "
                           "one, or pass --to ADDR"))
    if not recipients:
        raise UsageError(_("no recipients — pass --to ADDR, or -t to take them from the "
                           "To/Cc/Bcc headers"))
    return message, recipients


def cmd_send(args: argparse.Namespace, path: str) -> int:
    message, recipients = read_message(args)
    settings = load_for_sending(path)
    return submit(settings, message, recipients, queue_only=args.queue_only)


def load_for_sending(path: str) -> Settings | None:
    """The settings, or None if this user may not read them (the file holds the
    password: 0600): the mail is then queued without them (``submit``)."""
    from config.errors import ConfigError

    try:
        return load(service(path))
    except PermissionError:
        return None
    except ConfigError as exc:  # config.store says "cannot be read: permission denied"
        if isinstance(exc.__context__, PermissionError):
            return None
        raise


# sysexits.h, for callers of `send` and `sendmail` that keep a mail we refused
EX_USAGE = 64
EX_DATAERR = 65      # the message (or its sender) can never be sent
EX_NOUSER = 67       # a recipient address can never be sent to
EX_TEMPFAIL = 75     # not even queued: keep the mail and try again later


def submit(settings: Settings | None, message: Any, recipients: list[str], *,
           sender: str | None = None, sender_name: str | None = None,
           queue_only: bool = False) -> int:
    """Accept ``message`` into the queue (exit 0), then try to deliver it at once.
    With the internal relay: hand it to the local sendmail (which queues).
    Without settings (a caller that may not read them): queue it in the default
    spool as far as it can be made ready; the runner completes the From header
    and the sender from its settings and sends it (no attempt here)."""
    from mailer.message import AddressError, check_address, message_bytes, prepare_for_sending

    if settings is None:
        return _submit_unprepared(message, recipients, sender=sender, sender_name=sender_name)
    if settings.mail.relay == "internal":
        from mailer import send

        report = send(settings=settings, message=message, recipients=recipients,
                      sender=sender)
        if report.ok:
            return EXIT_OK
        err(failure_line(report, _("send")))
        return _sysexit(report.failure.cls if report.failure else "")
    try:
        envelope_sender = check_address(sender or settings.mail.sender)
    except AddressError as exc:
        raise CommandFailed(_("the sender {address!r} is not valid: {reason} — nothing was "
                              "queued").format(address=exc.value, reason=exc.reason),
                            EX_DATAERR) from None
    try:
        rcpts = [check_address(r) for r in recipients]
    except AddressError as exc:
        raise CommandFailed(_("the recipient {address!r} is not valid: {reason} — nothing "
                              "was queued").format(address=exc.value, reason=exc.reason),
                            EX_NOUSER) from None
    header_settings = settings
    if sender or sender_name:
        header_settings = settings.with_values({
            "mail.sender": envelope_sender,
            "mail.sender_name": settings.mail.sender_name if sender_name is None
            else sender_name})
    try:
        data = message_bytes(prepare_for_sending(message, header_settings))
    except (AddressError, ValueError, TypeError) as exc:
        raise CommandFailed(_("the message cannot be sent: {reason} — nothing was queued")
                            .format(reason=exc), EX_DATAERR) from None
    from mailer import queue

    spool = queue.for_settings(settings)
    try:
        ident = spool.accept(envelope_sender, rcpts, data)
    except queue.AcceptError as exc:
        err(_("{path}: {problem} — the mail was NOT queued; free disk space or fix the "
              "spool directory's permissions (queue.dir)").format(
                  path=exc.path, problem=exc.error.strerror or exc.error))
        return EX_TEMPFAIL
    if queue_only:
        return EXIT_OK
    try:  # accepted: whatever happens now, the exit status is 0
        result = spool.deliver(settings, [ident], force=True)
    except Exception as exc:  # a bug; the mail waits for the runner
        err(_("mail queued as {id}; the first delivery attempt failed: {kind}: {message}")
            .format(id=ident, kind=type(exc).__name__, message=exc))
        return EXIT_OK
    last = result.last_report
    if ident in result.deferred and last is not None:
        err(_("mail queued as {id}, will be retried: {line}").format(
            id=ident, line=failure_line(last, _("delivery"))))
    elif ident in result.failed and last is not None:
        err(_("mail {id} failed and is kept as failed ('mailconsole queue list'): {line}")
            .format(id=ident, line=failure_line(last, _("delivery"))))
    return EXIT_OK


def _submit_unprepared(message: Any, recipients: list[str], *, sender: str | None,
                       sender_name: str | None) -> int:
    import os

    from config.model import FIELDS
    from mailer import queue
    from mailer.message import AddressError, check_address, check_text, message_bytes

    try:
        envelope_sender = check_address(sender) if sender else ""
        if sender_name:
            check_text(sender_name, _("The sender name"))
    except AddressError as exc:
        raise CommandFailed(_("the sender {address!r} is not valid: {reason} — nothing was "
                              "queued").format(address=exc.value, reason=exc.reason),
                            EX_DATAERR) from None
    try:
        rcpts = [check_address(r) for r in recipients]
    except AddressError as exc:
        raise CommandFailed(_("the recipient {address!r} is not valid: {reason} — nothing "
                              "was queued").format(address=exc.value, reason=exc.reason),
                            EX_NOUSER) from None
    try:
        data, needs_from = queue.prepare_without_settings(message)
        data = message_bytes(data)
    except (AddressError, ValueError, TypeError) as exc:
        raise CommandFailed(_("the message cannot be sent: {reason} — nothing was queued")
                            .format(reason=exc), EX_DATAERR) from None
    root = os.environ.get(queue.SPOOL_ENV) or str(FIELDS["queue.dir"].default)
    try:
        queue.Queue(root).accept(envelope_sender, rcpts, data, needs_from=needs_from,
                                 sender_name=sender_name)
    except queue.AcceptError as exc:
        err(_("{path}: {problem} — the mail was NOT queued; free disk space or fix the "
              "spool directory's permissions (queue.dir)").format(
                  path=exc.path, problem=exc.error.strerror or exc.error))
        return EX_TEMPFAIL
    return EXIT_OK


def _sysexit(cls: str) -> int:
    if cls in ("recipient_refused", "invalid_address"):
        return EX_NOUSER
    if cls in ("message_refused", "sender_refused"):
        return EX_DATAERR
    return EX_TEMPFAIL


def cmd_sendmail(args: argparse.Namespace, path: str) -> int:
    """sendmail-compatible entry: the message on stdin, recipients as arguments
    and/or (-t) from the headers; usage errors are EX_USAGE (64)."""
    from email import policy
    from email.parser import BytesParser
    from email.utils import getaddresses

    data = sys.stdin.buffer.read() if sys.stdin is not None else b""
    if not (args.ignore_dots or "i" in (args.options or [])):
        # classic sendmail: a line with a single dot ends the message
        lines = []
        for line in data.splitlines(keepends=True):
            if line.rstrip(b"\r\n") == b".":
                break
            lines.append(line)
        data = b"".join(lines)
    if not data.strip():
        raise CommandFailed(_("standard input is empty — nothing was queued"), EX_DATAERR)
    message = BytesParser(policy=policy.SMTP).parsebytes(data)
    recipients: list[str] = []
    for addr in args.recipients:
        if addr not in recipients:
            recipients.append(addr)
    if args.from_headers:
        values = []
        for header in ("To", "Cc", "Bcc"):
            values += [str(v) for v in message.get_all(header, [])]
        for _name, addr in getaddresses(values):
            if addr and addr not in recipients:
                recipients.append(addr)
        del message["Bcc"]
    if not recipients:
        raise CommandFailed(_("no recipients — give them as arguments, or -t to take them "
                              "from the To/Cc/Bcc headers; nothing was queued"),
                            EX_DATAERR if args.from_headers else EX_USAGE)
    return submit(load_for_sending(path), message, recipients, sender=args.sender,
                  sender_name=args.full_name)


# --- queue / log -------------------------------------------------------------------


def _spool(path: str) -> tuple[Settings, Any]:
    from mailer import queue

    settings = load(service(path))
    return settings, queue.for_settings(settings)


LIST_FIELDS = ("id", "state", "attempts", "next_attempt", "age_seconds", "recipients",
               "size", "last_error")


def cmd_queue(args: argparse.Namespace, path: str) -> int:
    settings, spool = _spool(path)
    action = args.queue_command
    from mailer.queue import age_text, check_id

    for ident in [getattr(args, "id", None), *(getattr(args, "ids", None) or [])]:
        if ident is not None:
            try:
                check_id(ident)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    if action == "list":
        entries = spool.entries()
        if args.json:
            print(_dump([{k: e[k] for k in LIST_FIELDS} for e in entries]))
            return EXIT_OK
        if not entries:
            out(_("the queue is empty ({path})").format(path=spool.root))
        for e in entries:
            when = (_("next try {at}").format(at=e["next_attempt"])
                    if e["state"] == "waiting" else _("failed"))
            error = e["last_error"]
            out(f"{e['id']}  {e['state']:<7}  {e['attempts']:>3}  "
                  f"{age_text(e['age_seconds']):>8}  {e['size']:>8}  {', '.join(e['recipients'])}")
            out(f"    {when}" + (f" — {error['cls']}: {error['message']}" if error else ""))
        return EXIT_OK
    if action == "show":
        e = spool.entry(args.id)
        read = spool.read(args.id)
        if e is None or read is None:
            raise CommandFailed(_("{id}: no such mail in the queue ('mailconsole queue list' "
                                  "shows them)").format(id=args.id))
        _meta, data = read
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").replace("\r\n", "\n")
        lines = [
            f"id:           {e['id']}",
            f"state:        {e['state']}",
            f"attempts:     {e['attempts']}",
            f"next attempt: {e['next_attempt'] or '-'}",
            f"accepted:     {e['created']} ({age_text(e['age_seconds'])})",
            f"sender:       {e['sender']}",
            f"recipients:   {', '.join(e['recipients'])}",
            f"size:         {e['size']}",
            f"message-id:   {e['message_id']}",
        ]
        if e["last_error"]:
            lines.append(f"last error:   {e['last_error']['cls']}: {e['last_error']['message']}")
            if e["reply"]:
                lines.append(f"reply:        {e['reply']}")
            if e["advice"]:
                lines.append(_("what to do:   {advice}").format(advice=e["advice"]))
        lines += ["", head]
        out("\n".join(lines), lines=True)
        return EXIT_OK
    if action in ("run", "flush"):
        if action == "run":
            result = spool.run(settings)
            if result.busy:
                out(_("another queue runner is active; nothing done"))
                return EXIT_OK
        else:
            result = spool.deliver(settings, args.ids or None, force=True)
        if result.sent or result.deferred or result.failed or action == "flush":
            out(_("sent {sent}, waiting {deferred}, failed {failed}").format(
                sent=len(result.sent), deferred=len(result.deferred),
                failed=len(result.failed)))
        if result.last_report is not None and (result.deferred or result.failed):
            err(failure_line(result.last_report, _("delivery")))
        return EXIT_OK
    # retry / drop
    code = EXIT_OK
    for ident in args.ids:
        done = spool.retry(ident) if action == "retry" else spool.drop(ident)
        if done:
            text = _("{id}: back to waiting") if action == "retry" else _("{id}: dropped")
            out(text.format(id=ident))
        else:
            err(_("{id}: not in the queue, not failed, or being sent right now").format(
                id=ident) if action == "retry" else _(
                "{id}: not in the queue, or being sent right now").format(id=ident))
            code = EXIT_FAILED
    return code


def cmd_log(args: argparse.Namespace, path: str) -> int:
    _settings, spool = _spool(path)
    records = spool.history(args.n)
    for r in records:
        if args.json:
            print(json_text(json.dumps(r, ensure_ascii=False)))
        else:
            code = r.get("code") or ""
            extra = _(" (resend)") if r.get("resend") else ""
            out(f"{r.get('time', '')}  {r.get('result', ''):<8} {r.get('class', ''):<18} "
                  f"{code!s:>3}  {r.get('id', '')}  "
                  f"{','.join(r.get('recipient_domains', []))}  "
                  + _("attempt {n}").format(n=r.get("attempt", 0)) + extra
                  + (f"  {r['reply']}" if r.get("reply") and r.get("result") != "sent" else ""))
    return EXIT_OK


def queue_problems(settings: Settings) -> list[Problem]:
    """validate's warnings about the queue: failed mail, mail waiting > 1 h.
    Without a spool (nothing was ever queued) the mailer is not even imported:
    validate stays a light command."""
    import os

    root = os.environ.get("MAILCONSOLE_QUEUE_DIR") or settings.queue.dir  # queue.spool_dir
    if not os.path.isdir(os.path.join(root, "msg")):
        return []
    from config.validate import WARNING, Problem
    from mailer import queue

    spool = queue.for_settings(settings)
    try:
        info = spool.summary()
    except OSError:
        return []
    problems = []
    if info["failed"]:
        problems.append(Problem("queue.dir", WARNING, _(
            "{n} mail(s) failed and are kept in the queue: 'mailconsole queue list' shows "
            "them, 'mailconsole queue retry ID' sends one again").format(n=info["failed"])))
    if info["oldest_seconds"] > queue.WAITED_TOO_LONG:
        error = info["last_error"] or {}
        problems.append(Problem("queue.dir", WARNING, _(
            "{n} mail(s) waiting, the oldest for {age}; last error: {error}").format(
                n=info["waiting"], age=queue.age_text(info["oldest_seconds"]),
                error=error.get("message") or "-")))
    return problems


# --- preset -------------------------------------------------------------------------


def cmd_preset(args: argparse.Namespace, path: str) -> int:
    from config import presets

    if args.list or not args.name:
        if not args.list:
            raise UsageError(_("name a preset, or --list to see them"))
        for name, preset in presets.PRESETS.items():
            print(f"{name:<22}{_(preset.label)}")
        return EXIT_OK
    try:
        preset = presets.find(args.name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    values: dict[str, Value] = dict(preset.values)
    values.update(parse_assignments(args.assignments))
    read_stdin_secrets(args, values)
    print(_("Preset: {label}").format(label=_(preset.label)))
    for key, value in preset.values:
        print(f"  {key} = {toml_value(value)}")
    print(_("Checklist:"))
    for n, line in enumerate(presets.checklist(preset.name), 1):
        print(f"  {n}. {line}")
    sys.stdout.flush()
    svc = service(path)
    if args.check:
        settings = load(svc).with_values(values)
        remember_secrets(settings)
        problems = svc.validate(settings)
        missing = [p for p in problems if p.severity == "error"]
        for p in missing:
            print(_("Still missing: {key}: {message}").format(key=p.key, message=p.message))
        print(_("{path}: nothing written (--check)").format(path=path))
        return EXIT_FAILED if missing else EXIT_OK
    settings, changed = svc.update(values)
    remember_secrets(settings)
    if changed:
        print(_("{path}: saved the preset {name}").format(path=path, name=preset.name))
    else:
        print(_("{path}: unchanged").format(path=path))
    print_warnings(svc.validate(settings), path)
    return EXIT_OK


# --- oauth ---------------------------------------------------------------------------


def cmd_oauth(args: argparse.Namespace, path: str) -> int:
    from config.tokens import token_path

    svc = service(path)
    settings = load(svc)
    tokens = token_path(path)
    if args.oauth_command == "status":
        from mailer.oauth import status

        info = status(settings, tokens)
        if args.json:
            print(_dump(info))
            return EXIT_OK
        print(_("method: {method}").format(method=info["auth_method"]))
        if info["auth_method"] != "oauth2":
            print(_("OAuth2 is not in use (mail.smtp.auth_method = \"password\")"))
            return EXIT_OK
        print(_("flow: {flow}").format(flow=info["flow"]))
        print(_("account: {account}").format(account=info["account"] or "-"))
        print(_("access token: {state}{until}").format(
            state=info["access_token"], until=_until(info["access_token_expires_at"])))
        if info["flow"] == "device_code":
            print(_("sign-in (refresh token): {state}{until}").format(
                state=info["refresh_token"], until=_until(info["refresh_token_expires_at"])))
        return EXIT_OK
    if args.oauth_command == "logout":
        from mailer.oauth import logout

        n = logout(tokens)
        print(_("{path}: forgot {n} stored token entries").format(path=tokens, n=n))
        return EXIT_OK
    return _oauth_login(args, settings, svc, tokens)


def _until(when: str | None) -> str:
    return _(" (until {when})").format(when=when) if when else ""


def _oauth_login(args: argparse.Namespace, settings: Settings, svc: SettingsService,
                 tokens: str) -> int:
    from mailer.oauth import OAuthError, device_login

    smtp = settings.mail.smtp
    if smtp.auth_method != "oauth2" or smtp.oauth2.flow != "device_code":
        raise CommandFailed(_("oauth login is for mail.smtp.auth_method = \"oauth2\" with "
                              "mail.smtp.oauth2.flow = \"device_code\" (e.g. 'mailconsole "
                              "preset microsoft365-device'); the other flows need no sign-in"))
    from config.validate import validate

    problems = [p for p in validate(settings.with_values({"mail.relay": "external"}))
                if p.severity == "error" and p.key.startswith("mail.smtp.oauth2.")]
    if problems:
        raise CommandFailed(_("{path}: {problem} — fix it first").format(
            path=svc.path, problem=problems[0]))

    def prompt(p: Any) -> None:
        print(_("To sign in, open {url} on any device and enter the code {code}").format(
            url=p.verification_uri, code=p.user_code))
        if p.verification_uri_complete:
            print(_("(or open {url})").format(url=p.verification_uri_complete))
        print(_("Sign in as {account}. Waiting (Ctrl+C cancels)...").format(
            account=settings.mail.smtp.oauth2.subject or smtp.username or "?"))
        sys.stdout.flush()

    def waiting(state: str) -> None:
        if state == "slow_down":
            err(_("the provider asked to poll more slowly; waiting longer between checks"))

    try:
        entry = device_login(settings, tokens, on_prompt=prompt, on_wait=waiting,
                             timeout=args.timeout, register=remember_secret)
    except OAuthError as exc:
        from mailer.diagnosis import describe
        from mailer.oauth import provider_hint

        values = {**exc.values(), "portal": provider_hint(smtp.oauth2.token_url),
                  "account": smtp.oauth2.subject or smtp.username}
        message, advice = describe(exc.cls, values)
        raise CommandFailed(_("oauth login failed: {cls}: {message} — {advice}").format(
            cls=exc.cls, message=message, advice=advice)) from None
    print(_("Signed in; tokens stored in {path} (mode 0600).").format(path=tokens))
    ends = float(entry.get("refresh_expires_at") or 0)
    if ends:
        import time

        print(_("The sign-in lasts until {date} (renewed by use).").format(
            date=time.strftime("%Y-%m-%d", time.localtime(ends))))
    return EXIT_OK
