"""The bookkeeping of one send: steps, transcript, redaction, failures.

A :class:`Recorder` owns the Report being built.  Every text that goes into
the report (transcript lines, step replies and details, failure messages)
passes through :meth:`Recorder.scrub`, which replaces the password in every
form the mailer ever encodes it (plain, base64, AUTH PLAIN payload) with
``HIDDEN`` — belt and braces on top of never writing it in the first place.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
from collections.abc import Callable

from mailer.diagnosis import POP3_VARIANTS, describe
from mailer.errors import MailerError, error_class
from mailer.report import Failure, Report, Step, TranscriptLine

HIDDEN = "<credentials hidden>"
MAX_TRANSCRIPT_LINES = 2000
# C0 controls but TAB and LF, DEL, C1 controls, the Unicode line separators
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0b, 0x20),
                                             *range(0x7f, 0xa0), 0x2028, 0x2029)}
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
    """Every form of the password the mailer could put on the wire."""
    if len(password) < 4:  # too short to scrub without mangling the transcript
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
    """Neutralise control characters (terminal escapes) from the other side."""
    return text.translate(_UNPRINTABLE)


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
    def scrub(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, HIDDEN)
        return printable(text)

    # -- transcript ------------------------------------------------------
    def line(self, direction: str, text: str) -> None:
        if len(self.report.transcript) >= MAX_TRANSCRIPT_LINES:
            return
        entry = TranscriptLine(direction, self.scrub(text), round(time.monotonic() - self.t0, 3))
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
        step = Step(name=name, title=self.scrub(title))
        self.report.steps.append(step)
        self.current = step
        self._started = time.monotonic()
        self._notify(step)
        return step

    def end(self, status: str = "ok", *, reply: str = "", detail: str = "") -> None:
        step = self.current
        if step is None or step.status != "running":
            return
        step.status = status
        step.duration = round(time.monotonic() - self._started, 3)
        if reply:
            step.reply = self.scrub(reply)
        if detail:
            step.detail = self.scrub(detail)
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
        step = Step(name=name, title=self.scrub(title), status="skipped",
                    detail=self.scrub(detail))
        self.report.steps.append(step)
        self._notify(step)

    @property
    def step_name(self) -> str:
        return self.current.name if self.current is not None else "settings"

    # -- failures ---------------------------------------------------------
    def error(self, cls: str, **values: object) -> MailerError:
        """A MailerError of class ``cls`` for the current step (to raise)."""
        if self.context.get("protocol") == "pop3":  # POP3 speaks POP3
            cls = POP3_VARIANTS.get(cls, cls)
        merged = {**self.context, "step": self.step_title(), **values}
        message, advice = describe(cls, merged)
        return error_class(cls)(cls, self.scrub(message), self.scrub(advice), self.step_name)

    def step_title(self) -> str:
        return self.current.title if self.current is not None else ""

    def finish_failure(self, err: MailerError) -> None:
        """Record ``err`` as the report's failure; the running step fails."""
        reply = ""
        if self.current is not None and self.current.status == "running":
            reply = self.current.reply
        self.end("failed", reply=reply, detail=err.message)
        self.report.ok = False
        self.report.failure = Failure(
            cls=err.cls, message=self.scrub(err.message), advice=self.scrub(err.advice),
            step=err.step or self.step_name,
        )
        self.log_info("send failed: %s (%s)", self.report.failure.cls,
                      self.report.failure.message)
