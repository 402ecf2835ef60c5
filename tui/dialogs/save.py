"""``SaveDialog``: the review of a save in the screen's own words ("SMTP
server: a -> b", "Password: changed"), the raw TOML diff one key away, then
yes/no.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from config.i18n import _
from config.text import visible
from tui.dialogs.base import YesNoDialog, cancel_letters, yes_letters


def diff_text(diff: str) -> Text:
    """A unified diff with + and - lines styled (and still marked without colour).

    Lines are never wrapped (the box scrolls sideways): a wrapped line would
    lose its +/- mark on the continuation."""
    text = Text(no_wrap=True, overflow="ellipsis")
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


def review_text(changes: list[tuple[str, str, str]], *, new_file: str = "") -> Text:
    """One line per changed setting: "Label: old -> new" (a changed password
    only as "Password: changed"); ``new_file`` names a file that does not exist
    yet (it is written whole, with a comment for every setting)."""
    text = Text()
    if new_file:
        text.append(_("{name} does not exist yet: it is written with every setting and "
                      "a comment explaining each.").format(name=new_file) + "\n")
    for label, old, new in changes:
        text.append(label + ": ", style="bold")
        if old:
            text.append(old + " -> ")
        text.append(new + "\n")
    text.rstrip()
    return text


class SaveDialog(YesNoDialog):
    """Shows the change in the screen's words (or as the file's diff) and asks."""

    BINDINGS = [
        Binding("escape", "dismiss(False)", "Cancel"),
        Binding("ctrl+s", "dismiss(True)", "Save", priority=True),
    ]

    def __init__(self, name: str, diff: str, *, warnings: int = 0,
                 changes: list[tuple[str, str, str]] | None = None,
                 new_file: bool = False) -> None:
        super().__init__()
        self.name_, self.diff, self.warnings = name, diff, warnings
        self.changes = changes
        self.new_file = new_file
        self.show_diff = changes is None

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Save these changes to {name}?").format(name=self.name_),
                        classes="dialog-title")
            with VerticalScroll(classes="diff", id="review-scroll"):
                yield Static(self._body(), id="review")
            if self.warnings:
                yield Static(Text(_("{n} warning(s) remain; see the form.").format(
                    n=self.warnings)), classes="note")
            with Horizontal(classes="buttons"):
                yield self.button(_("Save"), "yes", letter=True, also=yes_letters())
                if self.changes is not None:
                    yield self.button(_("TOML diff"), "toggle", letter=True)
                yield self.button(_("Cancel (Esc)"), "no", also=cancel_letters())

    def _body(self) -> Text:
        if self.show_diff or self.changes is None:
            return diff_text(self.diff)
        return review_text(self.changes, new_file=self.name_ if self.new_file else "")

    def on_mount(self) -> None:
        self.query_one("#yes").focus()

    @on(Button.Pressed, "#toggle")
    def _toggle(self) -> None:
        """The review <-> the raw diff of the TOML file."""
        self.show_diff = not self.show_diff
        self.query_one("#review", Static).update(self._body())
        self.query_one("#review-scroll", VerticalScroll).scroll_home(animate=False)
