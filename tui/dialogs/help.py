"""``HelpScreen``: every key, and the focused field's help (``key_table``).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from config.i18n import _
from tui.dialogs.base import Dialog


def key_table() -> list[tuple[str, str]]:
    """The form's keys: (keys, what they do), in the active language."""
    return [
        (_("Tab, Down"), _("next field")),
        (_("Shift+Tab, Up"), _("previous field")),
        (_("Left, Right"), _("choose in a row of options")),
        (_("Space or Enter"), _("tick a box, press a button")),
        (_("Ctrl+S"), _("save (shows the change first)")),
        (_("Ctrl+T"), _("send a test mail with the values on screen")),
        (_("Ctrl+O"), _("the outgoing queue: send now, retry, drop")),
        (_("Ctrl+F"), _("apply the suggested fix of a warning")),
        (_("Ctrl+R"), _("revert to the file")),
        (_("Ctrl+Q, Ctrl+C"), _("quit (asks if there are unsaved changes)")),
        (_("Esc Esc"), _("quit too (in a dialog, Esc closes it first)")),
        (_("F1, Ctrl+G"), _("this help")),
        (_("?"), _("this help, outside text fields")),
        (_("Ctrl+L"), _("redraw the screen")),
        (_("F2 or Ctrl+B"), _("basic (ASCII, no mouse) / rich display")),
    ]


def dialog_key_table() -> list[tuple[str, str]]:
    """The keys of every dialog."""
    return [
        (_("Enter"), _("press the focused button")),
        (_("(s), (v), ..."), _("the letter in brackets presses its button")),
        (_("y, n"), _("yes, no in a question")),
        (_("Esc, Ctrl+C"), _("cancel, close")),
        (_("t (saving)"), _("the file's TOML diff instead of the list of changes")),
        (_("Ctrl+T (test mail)"), _("the transcript of the conversation")),
    ]


def keys_text(rows: list[tuple[str, str]]) -> Table:
    """Two columns: the keys, and what they do (wrapped under itself)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for keys, what in rows:
        table.add_row(keys, what)
    return table


class HelpScreen(Dialog[None]):
    """All key bindings."""

    BINDINGS = [Binding("escape,q,enter,f1,ctrl+g,question_mark", "dismiss(None)", "Close")]

    def __init__(self, field: Text | Callable[[], Text | None] | None = None) -> None:
        super().__init__()
        # the focused field's full help (basic mode shows a short one); a function
        # is asked at each compose (after a basic/rich switch it may say None)
        self.field = field

    def compose(self) -> ComposeResult:
        field = self.field() if callable(self.field) else self.field
        note = Text(_("Fields marked Error block saving; warnings do not. The lines under "
                      "the form explain the field that has the focus."))
        with Vertical(classes="box wide"):
            yield Label(_("Keys"), classes="dialog-title")
            with VerticalScroll(classes="diff", id="help-scroll"):
                if field is not None:
                    yield Static(field, classes="help-field")
                yield Static(keys_text(key_table()), classes="help-keys")
                yield Static(Text(_("In dialogs"), style="bold"), classes="help-section")
                yield Static(keys_text(dialog_key_table()), classes="help-keys")
                yield Static(note, classes="help-section")
            with Horizontal(classes="buttons"):
                yield self.button(_("Close (Esc)"), "close")

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)
