"""``TranscriptScreen`` (the test mail's transcript) and ``AskPathDialog`` (where
to save it).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from config.i18n import _
from tui.dialogs.base import Dialog, Words, words
from tui.widgets import FieldInput


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
