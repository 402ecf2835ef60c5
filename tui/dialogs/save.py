"""``SaveDialog``: the review of a save, then yes/no.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static

from config.i18n import _
from config.text import visible
from tui.dialogs.base import YesNoDialog


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
        text.append(visible(line, tab=True) + "\n", style=style)  # the file's text
    text.rstrip()
    return text


class SaveDialog(YesNoDialog):
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
