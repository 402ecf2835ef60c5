"""The bookkeeping of one send: steps, transcript, redaction, failures.

A :class:`Recorder` owns the Report being built.  Redaction works on the
structured values, never on a substring of human text:

* what the mailer sends: a command that carries credentials is written with
  ``shown=`` (the transcript gets ``AUTH PLAIN <credentials hidden>``), so the
  password is never recorded in the first place;
* what the server sends after the credentials went out (a reply line, a
  step's reply or detail, a value put into a failure message): if it holds
  the password in any form the mailer encodes it (plain, base64, AUTH PLAIN
  payload; :func:`secret_forms`, any length), the whole value is withheld
  (``535 <credentials hidden>``) -- a hostile server echoing the password
  gets nothing through, and no mask gives away its length or position.

Every text is also passed through config.text.visible (terminal escapes,
C1 and bidi controls shown as escapes).
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
from collections.abc import Callable

from config.text import visible_lines
from mailer.diagnosis import POP3_VARIANTS, describe
from mailer.errors import MailerError, error_class
from mailer.report import Failure, Report, Step, TranscriptLine

HIDDEN = "<credentials hidden>"
MAX_TRANSCRIPT_LINES = 2000
OnStep = Callable[[Step], None]
_log = logging.getLogger("mailer")


class Secret:
    """A password that hides itself from repr/str (subiquity's habit)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret(<hidden>)" if self._value else "Secret('')"

    __str__ = __repr__


def secret_forms(username: str, password: str) -> list[str]:
    """Every form of the password the mailer could put on the wire (none for
    an empty password), whatever its length."""
    if not password:
        return []

    def b64(s: str) -> str:
        return base64.b64encode(s.encode("utf-8")).decode("ascii")

    forms = {
        password,
        b64(password),
        b64(f"\0{username}\0{password}"),
        b64(f"{username}\0{username}\0{password}"),
    }
    return sorted(forms, key=len, reverse=True)


def printable(text: str) -> str:
    """Neutralise control characters (terminal escapes, C1, bidi) from the
    other side; TAB and LF stay (config.text.visible_lines)."""
    return visible_lines(text)


class Recorder:
    def __init__(
        self,
        report: Report,
        *,
        on_step: OnStep | None,
        secrets: list[str],
        context: dict[str, object] | None = None,
    ) -> None:
        self.report = report
        self.on_step = on_step
        self.secrets = secrets
        self.context: dict[str, object] = dict(context or {})
        self.t0 = time.monotonic()
        self.current: Step | None = None
        self._started = 0.0
        self.exposed = False

    # -- logging (logger "mailer") ------------------------------------------------
    @staticmethod
    def log_debug(msg: str, *args: object) -> None:
        _log.debug(msg, *args)

    @staticmethod
    def log_info(msg: str, *args: object) -> None:
        _log.info(msg, *args)

    @staticmethod
    def log_warning(msg: str, *args: object) -> None:
        _log.warning(msg, *args)

    # -- redaction ------------------------------------------------------
    def credentials_sent(self) -> None:
        """A command carrying credentials is going out (the wire's
        ``write_line(..., shown=...)``): from now on the server may echo them."""
        self.exposed = True

    def holds_secret(self, text: str) -> bool:
        return self.exposed and any(form in text for form in self.secrets)

    def withhold(self, text: str) -> str:
        """``text`` (one value from the server side), or HIDDEN in its place
        if it holds the password; an SMTP/POP3 reply keeps its status."""
        if not self.holds_secret(text):
            return text
        head = text[:4]
        if head[:3].isdigit() and head[3:] in ("", " ", "-"):
            return text[:3] + head[3:] + HIDDEN
        if head[:1] in "+-" and text[:4] in ("+OK ", "-ERR"):
            return text.split(" ", 1)[0] + " " + HIDDEN
        return HIDDEN

    def scrub(self, text: str) -> str:
        return printable(self.withhold(text))

    # -- transcript ------------------------------------------------------
    def line(self, direction: str, text: str) -> None:
        """One transcript line.  Our own lines ("C": what we sent, shown
        forms for credentials) are only made printable; the server's ("S")
        and the notes ("*", which may quote the server) are also withheld
        whole if they hold the password."""
        if len(self.report.transcript) >= MAX_TRANSCRIPT_LINES:
            return
        shown = printable(text) if direction == "C" else self.scrub(text)
        entry = TranscriptLine(direction, shown, round(time.monotonic() - self.t0, 3))
        self.report.transcript.append(entry)
        self.log_debug("%s: %s", entry.direction, entry.text)

    def client(self, text: str) -> None:
        self.line("C", text)

    def server(self, text: str) -> None:
        self.line("S", text)

    def note(self, text: str) -> None:
        self.line("*", text)

    # -- steps ------------------------------------------------------------
    def _notify(self, step: Step) -> None:
        if self.on_step is None:
            return
        try:
            self.on_step(dataclasses.replace(step))
        except Exception as exc:  # a broken callback must not break the send
            self.log_warning("on_step callback raised %s", type(exc).__name__)

    def start(self, name: str, title: str) -> Step:
        if self.current is not None and self.current.status == "running":
            self.end()
        step = Step(name=name, title=printable(title))
        self.report.steps.append(step)
        self.current = step
        self._started = time.monotonic()
        self._notify(step)
        return step

    def end(self, status: str = "ok", *, reply: str = "", detail: str = "",
            checked: bool = False) -> None:
        """End the current step.  ``reply`` and ``detail`` may quote the
        server: withheld whole if they hold the password (``checked``: the
        detail was built from checked values already, e.g. a failure)."""
        step = self.current
        if step is None or step.status != "running":
            return
        step.status = status
        step.duration = round(time.monotonic() - self._started, 3)
        if reply:
            step.reply = self.scrub(reply)
        if detail:
            step.detail = printable(detail) if checked else self.scrub(detail)
        self._notify(step)

    def set_reply(self, text: str) -> None:
        """Show ``text`` as the current step's reply (before failing it)."""
        if self.current is not None:
            self.current.reply = self.scrub(text)

    def warn(self, text: str) -> str:
        """Add ``text`` to the report's warnings (once); return it as stored."""
        text = self.scrub(text)
        if text not in self.report.warnings:
            self.report.warnings.append(text)
        return text

    def skip(self, name: str, title: str, detail: str = "") -> None:
        step = Step(name=name, title=printable(title), status="skipped",
                    detail=printable(detail))
        self.report.steps.append(step)
        self._notify(step)

    @property
    def step_name(self) -> str:
        return self.current.name if self.current is not None else "settings"

    # -- failures ---------------------------------------------------------
    def error(self, cls: str, **values: object) -> MailerError:
        """A MailerError of class ``cls`` for the current step (to raise)."""
        values = {k: (self.withhold(v) if isinstance(v, str) else v)
                  for k, v in values.items()}
        if self.context.get("protocol") == "pop3":  # POP3 speaks POP3
            cls = POP3_VARIANTS.get(cls, cls)
        merged = {**self.context, "step": self.step_title(), **values}
        message, advice = describe(cls, merged)
        return error_class(cls)(cls, printable(message), printable(advice), self.step_name)

    def step_title(self) -> str:
        return self.current.title if self.current is not None else ""

    def finish_failure(self, err: MailerError) -> None:
        """Record ``err`` as the report's failure; the running step fails."""
        reply = ""
        if self.current is not None and self.current.status == "running":
            reply = self.current.reply
        self.end("failed", reply=reply, detail=err.message, checked=True)
        self.report.ok = False
        self.report.failure = Failure(
            cls=err.cls, message=printable(err.message), advice=printable(err.advice),
            step=err.step or self.step_name,
        )
        self.log_info("send failed: %s (%s)", self.report.failure.cls,
                      self.report.failure.message)
