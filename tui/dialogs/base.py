"""The dialogs' base class (a centred box: title, body, a row of buttons) and
the caller-text helper ``words``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, Union

from textual import events, on
from textual.reactive import Reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input

from config.i18n import _
from tui.widgets import more_sign

R = TypeVar("R")
# A text given by the caller: a string, or a function that translates it anew
# (called at each compose, so a basic/rich switch re-spells it).
Words = Union[str, Callable[[], str]]


def words(text: Words) -> str:
    return text() if callable(text) else text


def yes_letters() -> tuple[str, ...]:
    """Letters that answer yes: y, and the first letter of "yes" in the active
    language (j in German)."""
    return ("y", _("yes")[:1].casefold())


def no_letters() -> tuple[str, ...]:
    return ("n", _("no")[:1].casefold(), *cancel_letters())


def cancel_letters() -> tuple[str, ...]:
    """The first letter of "Cancel" in the active language (c, German a)."""
    return (_("Cancel")[:1].casefold(),)


class Dialog(ModalScreen[R], Generic[R]):
    """Base: a centred box with a title, a body and a row of buttons."""

    CSS_PATH = "dialogs.tcss"
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def button(self, label: str, ident: str, *, letter: bool = False,
               also: tuple[str, ...] = ()) -> Button:
        """A compact button.  ``letter``: its key is the first letter of
        ``label`` in the active language that no other button of the dialog has
        (shown as "Speichern (s)"), so that a German dialog answers to j/s/v/a
        as an English one does to y/s/d/c; ``also``: more letters that press
        it (e.g. y and j for the yes button), used when no button has them."""
        letters = self.__dict__.setdefault("_letters", {})
        fallback = self.__dict__.setdefault("_also", {})
        key = ""
        if letter:
            for ch in label.casefold():
                if ch.isalpha() and ch not in letters:
                    key = ch
                    break
        if key:
            letters[key] = ident
        label = self.with_letter(label, ident)
        for ch in also:
            fallback.setdefault(ch.casefold(), ident)
        return Button(label, id=ident, compact=True)

    def with_letter(self, label: str, ident: str) -> str:
        """``label`` with the letter of button ``ident`` shown ("Save (s)"), for
        a button relabelled after compose."""
        for key, owner in self.__dict__.get("_letters", {}).items():
            if owner == ident:
                return _("{label} ({key})").format(label=label, key=key)
        return label

    def compose_buttons_reset(self) -> None:
        """Forget the letters before a compose (a relabel composes anew)."""
        self.__dict__.pop("_letters", None)
        self.__dict__.pop("_also", None)

    def on_key(self, event: events.Key) -> None:
        """A button's letter presses it (not while typing in a text field)."""
        if isinstance(self.focused, Input) or not event.character:
            return
        ch = event.character.casefold()
        ident = self.__dict__.get("_letters", {}).get(ch) or \
            self.__dict__.get("_also", {}).get(ch)
        if not ident:
            return
        for button in self.query("#" + ident):
            if isinstance(button, Button) and button.display and not button.disabled:
                event.stop()
                event.prevent_default()
                button.press()
                return

    def on_mount(self) -> None:
        for scroll in self.query(".diff, .steps"):
            self.watch(scroll, "scroll_y", lambda _old, _new: self._show_more(), init=False)
        self.call_after_refresh(self._show_more)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_more)

    def _show_more(self) -> None:
        """The box's bottom edge says when a scrolling part has more out of view."""
        boxes = self.query(".box")
        if not boxes or not self.is_attached:
            return
        signs = [more_sign(scroll) for scroll in self.query(".diff, .steps")]
        boxes.first().border_subtitle = "  ".join(s for s in signs if s)

    async def action_abort(self) -> None:
        """Ctrl+C: whatever Esc does in this dialog."""
        active = self.active_bindings.get("escape")
        if active is not None:
            await self.app.run_action(active.binding.action, active.node)
            return
        self.dismiss()

    async def relabel(self) -> None:
        """Compose the dialog again with its texts translated anew (the F2
        basic/rich switch: ASCII spelling, mode-dependent parts); the focus stays
        on the widget with the same id.  Dialogs with state override this."""
        focused = self.focused.id if self.focused is not None else None
        with self.app.batch_update():
            self.compose_buttons_reset()
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
