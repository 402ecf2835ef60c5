"""The mail-server screen's dialogs, each a typed ModalScreen.

Every button has a key (shown in its label) and Esc always backs out, so no
dialog needs the mouse or an F-key.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar, Union

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import Reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from config.i18n import _
from config.model import Settings
from tui.widgets import FieldInput

R = TypeVar("R")
# A text given by the caller: a string, or a function that translates it anew
# (called at each compose, so a basic/rich switch re-spells it).
Words = Union[str, Callable[[], str]]


def words(text: Words) -> str:
    return text() if callable(text) else text


class Dialog(ModalScreen[R], Generic[R]):
    """Base: a centred box with a title, a body and a row of buttons."""

    CSS_PATH = "dialogs.tcss"
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def button(self, label: str, ident: str) -> Button:
        return Button(label, id=ident, compact=True)

    async def relabel(self) -> None:
        """Compose the dialog again with its texts translated anew (the F2
        basic/rich switch: ASCII spelling, mode-dependent parts); the focus stays
        on the widget with the same id.  Dialogs with state override this."""
        focused = self.focused.id if self.focused is not None else None
        with self.app.batch_update():
            await self.recompose()
        if focused:
            for widget in self.query("#" + focused):
                if widget.focusable:
                    widget.focus()


class ConfirmDialog(Dialog[bool]):
    """Yes / no question."""

    BINDINGS = [
        Binding("escape,n", "dismiss(False)", "Cancel"),
        Binding("y", "dismiss(True)", "Yes"),
    ]

    def __init__(self, title: Words, question: Words, *, yes: Words | None = None) -> None:
        super().__init__()
        self.title_text, self.question, self.yes = title, question, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(words(self.title_text), classes="dialog-title")
            yield Static(Text(words(self.question)))
            with Horizontal(classes="buttons"):
                yes = words(self.yes) if self.yes is not None else _("Yes")
                yield self.button(_("{label} (y)").format(label=yes), "yes")
                yield self.button(_("Cancel (Esc)"), "no")

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


def diff_text(diff: str) -> Text:
    """A unified diff with + and - lines styled (and still marked without colour)."""
    text = Text()
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(line + "\n", style=style)
    text.rstrip()
    return text


class SaveDialog(Dialog[bool]):
    """Shows the change as a diff of the TOML file and asks to confirm."""

    BINDINGS = [
        Binding("escape,n", "dismiss(False)", "Cancel"),
        Binding("ctrl+s,y", "dismiss(True)", "Save", priority=True),
    ]

    def __init__(self, name: str, diff: str, *, warnings: int = 0) -> None:
        super().__init__()
        self.name_, self.diff, self.warnings = name, diff, warnings

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Save these changes to {name}?").format(name=self.name_),
                        classes="dialog-title")
            with VerticalScroll(classes="diff"):
                yield Static(diff_text(self.diff))
            if self.warnings:
                yield Static(Text(_("{n} warning(s) remain; see the form.").format(
                    n=self.warnings)), classes="note")
            with Horizontal(classes="buttons"):
                yield self.button(_("Save (y)"), "yes")
                yield self.button(_("Cancel (Esc)"), "no")

    def on_mount(self) -> None:
        self.query_one("#yes").focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


class ChoiceDialog(Dialog[str]):
    """A dialog whose answer is the id of the button pressed ("cancel" if none)."""

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class ConflictDialog(ChoiceDialog):
    """The file changed on disk: reload, apply the edits on top, or cancel."""

    BINDINGS = [
        Binding("escape,c", "dismiss('cancel')", "Cancel"),
        Binding("r", "dismiss('reload')", "Reload"),
        Binding("a", "dismiss('apply')", "Apply on top"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name_ = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(_("{name} changed on disk").format(name=self.name_),
                        classes="dialog-title")
            yield Static(Text(_(
                "Someone else changed the file since it was loaded; nothing was written.\n"
                "Reload: show the new file (your edits are dropped).\n"
                "Apply on top: load the new file and put your edits on it, then review "
                "the diff and save.")))
            with Horizontal(classes="buttons"):
                yield self.button(_("Reload (r)"), "reload")
                yield self.button(_("Apply on top (a)"), "apply")
                yield self.button(_("Cancel (Esc)"), "cancel")


class QuitDialog(ChoiceDialog):
    """Unsaved changes: save, discard or stay."""

    BINDINGS = [
        Binding("escape,c", "dismiss('cancel')", "Cancel"),
        Binding("s", "dismiss('save')", "Save"),
        Binding("d", "dismiss('discard')", "Discard"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(_("Unsaved changes"), classes="dialog-title")
            yield Static(Text(_("The form has changes that are not saved. Save them before "
                                "quitting?")))
            with Horizontal(classes="buttons"):
                yield self.button(_("Save (s)"), "save")
                yield self.button(_("Discard (d)"), "discard")
                yield self.button(_("Cancel (Esc)"), "cancel")

def key_table() -> list[tuple[str, str]]:
    return [
        (_("Tab, Down / Shift+Tab, Up"), _("next / previous field")),
        (_("Left, Right"), _("choose in a row of options")),
        (_("Space or Enter"), _("tick a box, press a button")),
        (_("Ctrl+S"), _("save (shows the change first)")),
        (_("Ctrl+T"), _("send a test mail with the values on screen")),
        (_("Ctrl+F"), _("apply the suggested fix of a warning")),
        (_("Ctrl+R"), _("revert to the file")),
        (_("Ctrl+Q or Esc"), _("quit (asks if there are unsaved changes)")),
        (_("F1, Ctrl+G or ?"), _("this help")),
        (_("Ctrl+L"), _("redraw the screen")),
        (_("F2 or Ctrl+B"), _("basic (ASCII, no mouse) / rich display")),
    ]


class HelpScreen(Dialog[None]):
    """All key bindings."""

    BINDINGS = [Binding("escape,q,enter,f1,ctrl+g,question_mark", "dismiss(None)", "Close")]

    def __init__(self, field: Text | Callable[[], Text | None] | None = None) -> None:
        super().__init__()
        # the focused field's full help (basic mode shows a short one); a function
        # is asked at each compose (after a basic/rich switch it may say None)
        self.field = field

    def compose(self) -> ComposeResult:
        text = Text()
        field = self.field() if callable(self.field) else self.field
        if field is not None:
            text.append_text(field)
            text.append("\n\n")
        for keys, what in key_table():
            text.append(f"{keys:<28}", style="bold")
            text.append(what + "\n")
        text.append("\n" + _("Fields marked Error block saving; warnings do not. The line "
                             "at the bottom explains the field that has the focus."))
        with Vertical(classes="box wide"):
            yield Label(_("Keys"), classes="dialog-title")
            with VerticalScroll(classes="diff"):
                yield Static(text)
            with Horizontal(classes="buttons"):
                yield self.button(_("Close (Esc)"), "close")

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)


STATUS_MARK = {
    "running": "[....]",
    "ok": "[ ok ]",
    "failed": "[FAIL]",
    "skipped": "[skip]",
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
    ]

    def __init__(self, settings: Settings, mailer, *, save_dir: Path) -> None:
        super().__init__()
        self.settings = settings
        self.mailer = mailer
        self.save_dir = save_dir
        self.steps: list[Any] = []
        self.report = None
        self.worker: Worker | None = None
        self.sent_once = False  # a send finished (the buttons say Resend / Close)
        self._result_text: Callable[[], Text] | None = None
        self._result_error = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Send test mail"), classes="dialog-title", id="title")
            with Horizontal(classes="field"):
                yield Label(_("Recipient"), classes="label", id="recipient-label")
                yield FieldInput(self.settings.mail.test_recipient, id="recipient",
                                 placeholder="admin@example.com")
            with VerticalScroll(classes="steps"):
                yield Static(id="steps")
            yield Static(id="result")
            with Horizontal(classes="buttons"):
                yield self.button(_("Send (Enter)"), "send")
                yield self.button(_("Transcript (^T)"), "transcript")
                yield self.button(_("Save transcript"), "save-transcript")
                yield self.button(_("Cancel (Esc)"), "cancel")
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
        if self.worker is not None and self.worker.state == WorkerState.RUNNING:
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
        self.worker = self._send(recipient)
        self._label_buttons(sending=True)
        self.query_one("#cancel").focus()

    def _sending(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING,
                                                                 WorkerState.RUNNING)

    def _label_buttons(self, *, sending: bool) -> None:
        self.query_one("#send", Button).label = (
            _("Resend (Enter)") if self.sent_once else _("Send (Enter)"))
        self.query_one("#transcript", Button).label = _("Transcript (^T)")
        self.query_one("#save-transcript", Button).label = _("Save transcript")
        self.query_one("#cancel", Button).label = (
            _("Cancel sending (Esc)") if sending
            else _("Close (Esc)") if self.sent_once else _("Cancel (Esc)"))

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

    @work(exclusive=True, group="test-mail")
    async def _send(self, recipient: str) -> None:
        app_thread = threading.get_ident()

        def on_step(step) -> None:
            if threading.get_ident() == app_thread:
                self._step(step)
            else:
                self.app.call_from_thread(self._step, step)

        try:
            report = await self.mailer.send_test_mail_async(
                settings=self.settings, recipient=recipient, on_step=on_step)
        except asyncio.CancelledError as cancelled:
            # The mailer's SendCancelled carries the report so far (steps, transcript).
            self._finished(getattr(cancelled, "report", None), cancelled=True)
            raise
        self._finished(report)

    def _step(self, step) -> None:
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
        text = Text()
        for step in self.steps:
            status = getattr(step, "status", "running")
            mark = STATUS_MARK.get(status, f"[{status[:4]:^4}]")
            style = {"ok": "green", "failed": "bold red", "warning": "yellow"}.get(status, "")
            text.append(mark, style=style)
            text.append(" " + step.title + "\n")
            if step.detail:
                text.append("       " + step.detail + "\n", style="dim")
        text.rstrip()
        self.query_one("#steps", Static).update(text)
        self.query_one(".steps", VerticalScroll).scroll_end(animate=False)

    def _finished(self, report, *, cancelled: bool = False) -> None:
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
    def _report_text(report) -> Text:
        text = Text()
        if report.ok:
            text.append(_("Test mail sent to {to}.").format(to=", ".join(report.recipients)),
                        style="bold")
            if report.queue_id:
                text.append(" " + _("The server's queue id: {id}").format(id=report.queue_id))
            for w in report.warnings:
                text.append("\n" + _("Warning:") + " " + w)
        else:
            f = report.failure
            cls = f.cls if f else "unknown"
            text.append(_("Failed ({cls}):").format(cls=cls) + " ", style="bold")
            text.append(f.message if f else _("the mail was not sent."))
            if f and f.advice:
                text.append("\n" + _("What to do:") + " ", style="bold")
                text.append(f.advice)
        return text

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
        if self.worker is not None and self.worker.state in (WorkerState.PENDING,
                                                             WorkerState.RUNNING):
            self.worker.cancel()
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

        def chosen(path: str | None) -> None:
            if not path or self.report is None:
                return
            try:
                Path(path).write_text(self.report.transcript_text(), encoding="utf-8")
            except OSError as err:
                reason = err.strerror or str(err)
                self._result(lambda: Text(_("Could not save the transcript: {err}").format(
                    err=reason)), error=True)
                return
            self.app.notify(_("Transcript saved to {path}").format(path=path))

        self.app.push_screen(AskPathDialog(
            lambda: _("Save the transcript (the password is never in it) to:"),
            str(self.save_dir / "test-mail-transcript.txt")), chosen)


class TranscriptScreen(Dialog[None]):
    """The redacted SMTP conversation."""

    BINDINGS = [Binding("escape,q,enter", "dismiss(None)", "Close")]

    def __init__(self, transcript: str) -> None:
        super().__init__()
        self.transcript = transcript

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Transcript (C: client, S: server, *: note)"), classes="dialog-title")
            with VerticalScroll(classes="diff", id="transcript-scroll"):
                yield Static(Text(self.transcript.rstrip()))
            with Horizontal(classes="buttons"):
                yield self.button(_("Close (Esc)"), "close")

    def on_mount(self) -> None:
        self.query_one("#transcript-scroll").focus()

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)


class AskPathDialog(Dialog[str | None]):
    """Ask for a file name."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: Words, default: str) -> None:
        super().__init__()
        self.question, self.default = question, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(words(self.question), classes="dialog-title")
            yield FieldInput(self.default, id="path")
            with Horizontal(classes="buttons"):
                yield self.button(_("Save (Enter)"), "ok")
                yield self.button(_("Cancel (Esc)"), "cancel")

    async def relabel(self) -> None:
        self.default = self.query_one("#path", Input).value  # what was typed stays
        await super().relabel()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#path", Input).value.strip() or None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
