"""``TestMailDialog``: the recipient, the live steps of a test mail, the result,
and the transcript (show / save).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from config.i18n import _
from config.model import Settings
from config.text import visible
from mailer.report import Report, Step
from tui.dialogs.base import Dialog, cancel_letters
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.transcript import (
    AskPathDialog,
    TranscriptSaveError,
    TranscriptScreen,
    protected_paths,
    transcript_target,
    write_transcript,
)
from tui.widgets import FieldInput

STATUS_MARK = {
    "running": "[....]",
    "ok": "[ ok ]",
    "failed": "[FAIL]",
    "skipped": "[ -- ]",  # no English word: the same in every language
    "warning": "[warn]",
}


class TestMailDialog(Dialog[None]):
    """Ask for the recipient, send with the values on screen, show each step
    live, allow cancelling, and end with the result (class and advice on
    failure) and the transcript."""

    __test__ = False  # not a pytest test class despite the name

    BINDINGS = [
        Binding("escape", "cancel_or_close", "Cancel"),
        Binding("ctrl+t", "transcript", "Transcript", priority=True),
        Binding("ctrl+f", "fix", "Apply fix", priority=True),
    ]

    def __init__(self, settings: Settings, mailer: Any, *, save_dir: Path,
                 config_path: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.mailer = mailer
        self.save_dir = save_dir
        self.config_path = config_path  # never written over by "Save transcript"
        self.steps: list[Step] = []
        self.report: Report | None = None
        self.worker: Worker[None] | None = None
        # the cancel event of the send under way (the mailer's cancel argument)
        self.cancel_event: threading.Event | None = None
        self.sent_once = False  # a send finished (the buttons say Resend / Close)
        # set by Ctrl+F: the one-key fix of the failure (mailer.diagnosis.FIXES),
        # which the screen applies to the form when the dialog closes
        self.fix: tuple[dict[str, Any], str] | None = None
        self._result_text: Callable[[], Text] | None = None
        self._result_error = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Send test mail"), classes="dialog-title", id="title")
            with Horizontal(classes="field"):
                yield Label(_("Recipient"), classes="label", id="recipient-label")
                yield FieldInput(self.settings.mail.test_recipient, id="recipient",
                                 example="admin@example.com")
            with VerticalScroll(classes="steps"):
                yield Static(id="steps")
            yield Static(id="result")
            with Horizontal(classes="buttons"):
                yield self.button(_("Send (Enter)"), "send")
                yield self.button(_("Transcript (^T)"), "transcript")
                yield self.button(_("Save transcript"), "save-transcript", letter=True)
                yield self.button(_("Cancel (Esc)"), "cancel", also=cancel_letters())
        # the transcript buttons appear when there is a transcript

    def on_mount(self) -> None:
        self.query_one("#transcript").display = False
        self.query_one("#save-transcript").display = False
        self.query_one("#result").display = False
        self.query_one("#recipient").focus()

    # -- sending -----------------------------------------------------------
    @on(Input.Submitted, "#recipient")
    @on(Button.Pressed, "#send")
    def _send_pressed(self) -> None:
        if self._sending():
            return
        recipient = self.query_one("#recipient", Input).value.strip()
        if not recipient:
            self._result(lambda: Text(_("Enter the recipient's address first.")), error=True)
            return
        self.steps.clear()
        self.report = None
        self._render_steps()
        self._result(lambda: Text(_("Sending to {to} ...").format(to=recipient)))
        self.query_one("#send").display = False
        self.query_one("#transcript").display = False
        self.query_one("#save-transcript").display = False
        self.query_one("#recipient", Input).disabled = True
        self.cancel_event = threading.Event()
        self.worker = self._send(recipient, self.cancel_event)
        self._label_buttons(sending=True)
        self.query_one("#cancel").focus()

    def _sending(self) -> bool:
        """A send started and its result is not shown yet."""
        return self.cancel_event is not None and self.report is None

    def _label_buttons(self, *, sending: bool) -> None:
        self.query_one("#send", Button).label = (
            _("Resend (Enter)") if self.sent_once else _("Send (Enter)"))
        self.query_one("#transcript", Button).label = _("Transcript (^T)")
        self.query_one("#save-transcript", Button).label = self.with_letter(
            _("Save transcript"), "save-transcript")
        self.query_one("#cancel", Button).label = (
            _("Cancel sending (Esc)") if sending
            else _("Close (Esc)") if self.sent_once else _("Cancel (Esc)"))
        # Textual re-measures a button when its label changes only at the next
        # layout; without one the row keeps the old widths
        for button in self.query(".buttons Button"):
            button.refresh(layout=True)

    async def relabel(self) -> None:
        """The F2 basic/rich switch: texts translated anew in place (a compose
        would lose the recipient, the steps and the result).  The step titles
        come from the mailer as they were reported."""
        self.query_one("#title", Label).update(_("Send test mail"))
        self.query_one("#recipient-label", Label).update(_("Recipient"))
        self._label_buttons(sending=self._sending())
        self._render_steps()
        if self._result_text is not None:
            self._result(self._result_text, error=self._result_error)

    @work(thread=True, exclusive=True, group="test-mail")
    def _send(self, recipient: str, cancel: threading.Event) -> None:
        """The blocking send, in a thread: each step reaches the dialog as it
        happens (call_from_thread); Esc sets ``cancel``, which ends the send
        within about 0.2 s with class "cancelled" (the report keeps the steps
        and the transcript so far)."""

        def on_step(step: Any) -> None:
            self._from_send(cancel, self._step, step)

        extra: dict[str, Any] = {}
        if self.settings.mail.smtp.auth_method == "oauth2" and self.config_path is not None:
            from config.tokens import token_path  # OAuth2: the token file of this config

            extra["token_file"] = token_path(self.config_path)
        report = self.mailer.send_test_mail(settings=self.settings, recipient=recipient,
                                            on_step=on_step, cancel=cancel, **extra)
        failure = getattr(report, "failure", None)
        cancelled = failure is not None and failure.cls == "cancelled"
        self._from_send(cancel, self._finished, report, cancelled=cancelled)

    def _from_send(self, cancel: threading.Event, callback: Callable[..., None],
                   *args: Any, **kwargs: Any) -> None:
        """Run ``callback`` on the app's thread for the send of ``cancel``, unless
        the dialog is gone or a newer send has started meanwhile."""

        def current() -> None:
            if cancel is self.cancel_event and self.is_attached:
                callback(*args, **kwargs)

        try:
            self.app.call_from_thread(current)
        except RuntimeError:  # the app is no longer running
            pass

    def on_unmount(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()  # a send under way ends with the dialog

    def _step(self, step: Step) -> None:
        # A step name can occur twice (EHLO again after STARTTLS): a finished
        # step is never overwritten by a later one of the same name.
        last = self.steps[-1] if self.steps else None
        if last is not None and (last is step or (
                last.name == step.name and getattr(last, "status", "") == "running")):
            self.steps[-1] = step
        else:
            self.steps.append(step)
        self._render_steps()

    def _render_steps(self) -> None:
        # Two columns, so that a wrapped title or detail keeps its indent under
        # the title.
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column()
        for step in self.steps:
            status = getattr(step, "status", "running")
            mark = STATUS_MARK.get(status, f"[{status[:4]:^4}]")
            style = {"ok": "green", "failed": "bold red", "warning": "yellow"}.get(status, "")
            line = Text(visible(step.title))
            # a failed step's detail is the failure message, shown once below
            if step.detail and status != "failed":
                line.append("\n" + visible(step.detail), style="dim")
            table.add_row(Text(mark, style=style), line)
        self.query_one("#steps", Static).update(table)
        self.query_one(".steps", VerticalScroll).scroll_end(animate=False)

    def _finished(self, report: Report, *, cancelled: bool = False) -> None:
        self.report = report
        self.sent_once = True
        self.query_one("#recipient", Input).disabled = False
        self.query_one("#send").display = True
        self._label_buttons(sending=False)
        if cancelled:
            for step in self.steps:
                if step.status == "running":
                    step.status = "failed"
            self._render_steps()
            self._result(lambda: Text(_("Cancelled. Nothing more is sent.")), error=True)
            has_transcript = bool(report is not None and report.transcript)
            self.query_one("#transcript").display = has_transcript
            self.query_one("#save-transcript").display = has_transcript
            self.query_one("#send").focus()
            return
        self._result(lambda: self._report_text(report), error=not report.ok)
        has_transcript = bool(report.transcript)
        self.query_one("#transcript").display = has_transcript
        self.query_one("#save-transcript").display = has_transcript
        self.query_one("#cancel").focus()

    @staticmethod
    def _report_text(report: Report) -> Text:
        text = Text()
        if report.ok:
            text.append(visible(_("Test mail sent to {to}.").format(
                to=", ".join(report.recipients))), style="bold")
            if report.queue_id:
                text.append(" " + visible(_("The server's queue id: {id}").format(
                    id=report.queue_id)))
            for w in report.warnings:
                text.append("\n" + _("Warning:") + " " + visible(w))
        else:
            f = report.failure  # the class name stays in --json, not on screen
            text.append(_("Failed:") + " ", style="bold")
            text.append(visible(f.message) if f else _("the mail was not sent."))
            if f and f.advice:
                text.append("\n" + _("What to do:") + " ", style="bold")
                text.append(visible(f.advice))
            fix = _failure_fix(report)
            if fix is not None:
                text.append("  " + _("[Ctrl+F: {label}]").format(label=_(fix[1])),
                            style="bold")
        return text

    def action_fix(self) -> None:
        """Ctrl+F after a failure with an obvious fix ("use STARTTLS",
        "authentication: no", "choose TLS"): close and let the screen apply it."""
        fix = _failure_fix(self.report) if not self._sending() else None
        if fix is None:
            return
        self.fix = fix
        self.dismiss(None)

    def _result(self, make: Callable[[], Text], *, error: bool = False) -> None:
        """Show ``make()`` as the result (kept, to translate it anew on relabel)."""
        self._result_text, self._result_error = make, error
        result = self.query_one("#result", Static)
        result.display = True
        result.update(make())
        result.set_class(error, "-error")

    # -- buttons -----------------------------------------------------------
    @on(Button.Pressed, "#cancel")
    def action_cancel_or_close(self) -> None:
        if self._sending():
            if self.cancel_event is not None:
                self.cancel_event.set()  # the send ends; _finished shows "Cancelled"
            return
        self.dismiss(None)

    @on(Button.Pressed, "#transcript")
    def action_transcript(self) -> None:
        if self.report is not None and self.report.transcript:
            self.app.push_screen(TranscriptScreen(self.report.transcript_text()))

    @on(Button.Pressed, "#save-transcript")
    def _save_transcript(self) -> None:
        if self.report is None:
            return

        protected = protected_paths(self.config_path) if self.config_path else []

        def failed(reason: str) -> None:
            self._result(lambda: Text(visible(_("Could not save the transcript: {err}").format(
                err=reason))), error=True)

        def write(target: Path, replace: bool) -> None:
            if self.report is None:
                return
            try:
                write_transcript(target, self.report.transcript_text(), protected,
                                 replace=replace)
            except FileExistsError:  # appeared since the check: ask
                ask(target)
                return
            except TranscriptSaveError as err:
                failed(str(err))
                return
            except OSError as err:
                failed(err.strerror or str(err))
                return
            self.app.notify(visible(_("Transcript saved to {path}").format(path=target)))

        def ask(target: Path) -> None:
            self.app.push_screen(ConfirmDialog(
                lambda: _("Replace the file?"),
                lambda: visible(_("{path} exists. Replace it with the transcript?").format(
                    path=target)), yes=lambda: _("Replace")),
                lambda yes: write(target, True) if yes else None)

        def chosen(path: str | None) -> None:
            if not path or self.report is None:
                return
            target = Path(path).expanduser()
            if not target.is_absolute():
                target = self.save_dir / target
            try:
                exists = transcript_target(target, protected)
            except TranscriptSaveError as err:
                failed(str(err))
                return
            if exists:
                ask(target)
            else:
                write(target, False)

        self.app.push_screen(AskPathDialog(
            lambda: _("Save the transcript (the password is never in it) to:"),
            str(self.save_dir / "test-mail-transcript.txt")), chosen)


def _failure_fix(report: Report | None) -> tuple[dict[str, Any], str] | None:
    """The one-key fix of the report's failure class, if it has one."""
    from mailer.diagnosis import FIXES

    if report is None or report.ok or report.failure is None:
        return None
    return FIXES.get(report.failure.cls)
