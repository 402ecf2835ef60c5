"""Small widgets the mail-server screen is built from.

All of them are compact (one line, no border) so that a focus move or a
keystroke costs a few hundred bytes on a serial line, and none animates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from textual import events
from textual.message import Message
from textual.selection import Selection
from textual.widget import Widget
from textual.widgets import Checkbox, Input, RadioButton, RadioSet

from config.i18n import _
from config.text import cells
from tui.console.compat import InputShownValue, highlight_radio


def placeholder_text(text: str) -> str:
    """``text`` as a placeholder: always in parentheses, so that example text
    never reads as a value on a terminal without dim or colour (a vt100)."""
    text = text.strip()
    if not text or (text.startswith("(") and text.endswith(")")):
        return text
    return f"({text})"


class FieldInput(InputShownValue, Input):
    """A one-line, compact input without cursor blink.

    ``example`` is shown while the field is empty as "(e.g. ...)"; any
    ``placeholder`` is put in parentheses (:func:`placeholder_text`).  The value
    is drawn through config.text.cells: a control, DEL, C1 or bidi character in
    it (a hostile config file) shows as one visible character (\u241b, \ufffd)
    and never reaches the terminal; the value itself is unchanged."""

    def __init__(self, *args: Any, example: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        if example:
            kwargs["placeholder"] = _("e.g. {example}").format(example=example)
        kwargs["placeholder"] = placeholder_text(kwargs.get("placeholder", ""))
        super().__init__(*args, **kwargs)
        self.cursor_blink = False

    def shown_value(self) -> str:
        return cells(self.value)


class PasswordInput(FieldInput):
    """A masked input whose content never leaves the process.

    The stored secret is never put into the field: a field with a stored secret
    is empty and reads "(set: type to replace it)", so no mask ever shows the
    stored password's length (on screen, in a snapshot, in the frame cache).
    Typing replaces the secret (the bullets then show what is typed now);
    Backspace, Delete or Ctrl+U in a field with a stored secret clears it.
    :attr:`secret` is what the form means: the typed text once edited, else the
    stored one.  :meth:`load` shows a stored secret anew (revert, reload).

    Copy and cut do not reach the clipboard (Textual's Input would send the
    selection to the terminal as OSC 52, i.e. to the SSH client's clipboard);
    screen text selection gets nothing from it; the repr shows no value.
    """

    class Changed(Input.Changed, namespace="input"):
        """Input.Changed whose repr never shows the value."""

        def __repr__(self) -> str:
            return "PasswordInput.Changed(value=<redacted>)"

        def __rich_repr__(self) -> Iterator[tuple[str, Any]]:
            yield "value", "<redacted>"

    class Submitted(Input.Submitted, namespace="input"):
        """Input.Submitted whose repr never shows the value."""

        def __repr__(self) -> str:
            return "PasswordInput.Submitted(value=<redacted>)"

        def __rich_repr__(self) -> Iterator[tuple[str, Any]]:
            yield "value", "<redacted>"

    def __init__(self, value: str = "", *args: Any, **kwargs: Any) -> None:
        kwargs["password"] = True
        super().__init__("", *args, **kwargs)
        self._stored = value
        self._replaced = False
        self._show_state()

    @property
    def secret(self) -> str:
        """The secret the form holds: what was typed once edited, else the stored one."""
        return self.value if self._replaced else self._stored

    def load(self, value: str) -> None:
        """Show the stored secret ``value`` (as "set"/"not set", never its mask)."""
        self._stored = value
        self._replaced = False
        self.value = ""
        self._show_state()

    def _show_state(self) -> None:
        if self._replaced:
            text = _("not set") if not self.value else ""
        else:
            text = _("set: type to replace it") if self._stored else _("not set")
        self.placeholder = placeholder_text(text)

    def _edit(self) -> None:
        if not self._replaced:
            self._replaced = True
            self._show_state()
            # Clearing an empty field changes no value, so Input posts nothing:
            # the form must still learn that the stored secret is gone.
            self.post_message(self.Changed(self, self.value))

    # Every edit of Textual's Input goes through these three public methods.
    def replace(self, text: str, start: int, end: int) -> None:
        self._edit()
        super().replace(text, start, end)

    def insert(self, text: str, index: int) -> None:
        self._edit()
        super().insert(text, index)

    def delete(self, start: int, end: int) -> None:
        self._edit()
        super().delete(start, end)

    def action_copy(self) -> None:
        self.app.notify(_("The password is never copied."), severity="warning", timeout=3)

    def action_cut(self) -> None:
        self.app.notify(_("The password is never copied."), severity="warning", timeout=3)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return None

    def __rich_repr__(self) -> Iterator[tuple[str, Any]]:
        yield "id", self.id
        yield "password", True

    def __repr__(self) -> str:
        return f"PasswordInput(id={self.id!r})"


class Tick(Checkbox):
    """A compact checkbox whose mark is blank when off: Textual draws "X" in
    both states and tells them apart by colour only, which a monochrome or
    basic-mode terminal cannot show."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(*args, **kwargs)

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # Textual's name
        return "X" if self.value else " "


class ChoiceButton(RadioButton):
    """A radio button whose dot is blank when not chosen (see :class:`Tick`)."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # Textual's name
        return "\u25cf" if self.value else " "


class Choice(RadioSet):
    """A compact radio set where the arrow keys choose at once (like a
    classic radio group), so that leaving with Tab never loses a choice."""

    def __init__(self, *buttons: RadioButton, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(*buttons, **kwargs)

    def action_next_button(self) -> None:
        if not self.is_mounted:
            # RadioSet's mount handler moves to the first button, and moving
            # chooses here.  A set created with its value already pressed keeps
            # it and highlights it instead (no Changed event and no restyle
            # before the first paint); without one the first is chosen.
            pressed = [i for i, node in enumerate(self.children)
                       if isinstance(node, RadioButton) and node.value]
            if pressed:
                highlight_radio(self, pressed[0])
                return
        super().action_next_button()
        self.action_toggle_button()

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self.action_toggle_button()

    @property
    def value(self) -> str | None:
        button = self.pressed_button
        if button is None or button.id is None:
            return None
        return button.id.split("--", 1)[1]

    def choose(self, value: str) -> None:
        for button in self.query(RadioButton):
            if button.id == f"{self.id}--{value}":
                button.value = True
                highlight_radio(self, self.children.index(button))
                return


class GuardedCheckbox(Tick):
    """A checkbox that may refuse to be ticked; ``guard()`` returns the reason
    (shown to the admin) or "" when ticking is allowed."""

    def __init__(self, *args: Any, guard: Callable[[], str] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(*args, **kwargs)
        self.guard = guard

    def action_toggle_button(self) -> None:
        if not self.value and self.guard is not None:
            reason = self.guard()
            if reason:
                self.post_message(self.Refused(self, reason))
                return
        super().action_toggle_button()

    def on_click(self, event: events.Click) -> None:
        """A click goes through the same guard; prevent_default: ToggleButton's own
        click handler (which toggles unguarded) does not run after this one."""
        event.stop()
        event.prevent_default()
        self.action_toggle_button()

    class Refused(Message):
        """Posted when ticking was refused; ``reason`` says why."""

        def __init__(self, checkbox: GuardedCheckbox, reason: str) -> None:
            super().__init__()
            self.checkbox = checkbox
            self.reason = reason


def more_sign(scroll: Widget) -> str:
    """ "^ more above" / "v more below" for a scrolling container, in words: a
    scrollbar alone is invisible without colour."""
    signs = []
    if scroll.scroll_y > 0:
        signs.append(_("^ more above"))
    if scroll.scroll_y < scroll.max_scroll_y:
        signs.append(_("v more below"))
    return "  ".join(signs)
