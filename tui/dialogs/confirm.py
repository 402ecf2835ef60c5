"""``ConfirmDialog``: a yes/no question.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from config.i18n import _
from tui.dialogs.base import Words, YesNoDialog, no_letters, words, yes_letters


class ConfirmDialog(YesNoDialog):
    """Yes / no question."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, title: Words, question: Words, *, yes: Words | None = None) -> None:
        super().__init__()
        self.title_text, self.question, self.yes = title, question, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(words(self.title_text), classes="dialog-title")
            yield Static(Text(words(self.question)))
            with Horizontal(classes="buttons"):
                yes = words(self.yes) if self.yes is not None else _("Yes")
                yield self.button(yes, "yes", letter=True, also=yes_letters())
                yield self.button(_("Cancel (Esc)"), "no", also=no_letters())
