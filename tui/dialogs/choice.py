"""``ChoiceDialog`` and its two uses: ``ConflictDialog`` (the file changed on
disk: reload / apply / cancel) and ``QuitDialog`` (save / discard / cancel).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from config.i18n import _
from tui.dialogs.base import Dialog, cancel_letters, yes_letters


class ChoiceDialog(Dialog[str]):
    """A dialog whose answer is the id of the button pressed ("cancel" if none)."""

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class ConflictDialog(ChoiceDialog):
    """The file changed on disk: reload, apply the edits on top, or cancel."""

    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel")]

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
                yield self.button(_("Reload"), "reload", letter=True)
                yield self.button(_("Apply on top"), "apply", letter=True)
                yield self.button(_("Cancel (Esc)"), "cancel", also=cancel_letters())


class QuitDialog(ChoiceDialog):
    """Unsaved changes: save, discard or stay."""

    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(_("Unsaved changes"), classes="dialog-title")
            yield Static(Text(_("The form has changes that are not saved. Save them before "
                                "quitting?")))
            with Horizontal(classes="buttons"):
                yield self.button(_("Save"), "save", letter=True, also=yes_letters())
                yield self.button(_("Discard"), "discard", letter=True)
                yield self.button(_("Cancel (Esc)"), "cancel", also=cancel_letters())
