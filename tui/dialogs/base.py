"""The dialogs' base class (a centred box: title, body, a row of buttons) and
the caller-text helper ``words``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, Union

from textual import on
from textual.reactive import Reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button

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


class YesNoDialog(Dialog[bool]):
    """A question answered by a ``#yes`` button (True) or a ``#no`` button (False):
    the one yes/no handler for ConfirmDialog and SaveDialog."""

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)
