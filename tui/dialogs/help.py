"""``HelpScreen``: every key, and the focused field's help (``key_table``).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from config.i18n import _
from tui.dialogs.base import Dialog


def key_table() -> list[tuple[str, str]]:
    return [
        (_("Tab, Down / Shift+Tab, Up"), _("next / previous field")),
        (_("Left, Right"), _("choose in a row of options")),
        (_("Space or Enter"), _("tick a box, press a button")),
        (_("Ctrl+S"), _("save (shows the change first)")),
        (_("Ctrl+T"), _("send a test mail with the values on screen")),
        (_("Ctrl+O"), _("the outgoing queue: send now, retry, drop")),
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
