"""``TooSmallScreen``: shown over everything while the terminal is smaller than
the form needs (``MIN_SIZE``); it goes away by itself when the terminal grows.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static

from config.i18n import _

# The smallest terminal the form is laid out for: at 60x20 every label, option
# and key is whole (long labels wrap, rows of options stack); below it, this
# notice instead of a screen that is cut.
MIN_SIZE = (60, 20)


def too_small(width: int, height: int) -> bool:
    return 0 < width < MIN_SIZE[0] or 0 < height < MIN_SIZE[1]


class TooSmallScreen(ModalScreen[None]):
    """The notice; keys still work (Ctrl+Q, Ctrl+C quit as always)."""

    DEFAULT_CSS = """
    TooSmallScreen {
        align: left top;
    }
    TooSmallScreen > Static {
        width: 1fr;
        height: auto;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.show(*self.app.size)

    def on_resize(self, event: events.Resize) -> None:
        self.show(*event.size)

    def show(self, width: int, height: int) -> None:
        self.query_one("#too-small", Static).update(Text(_(
            "The terminal is too small: {width}x{height}. The mail-server screen needs "
            "at least {min_width}x{min_height}. Make the window larger, or quit (Ctrl+Q) "
            "and use the command line: mailconsole --help.").format(
                width=width, height=height, min_width=MIN_SIZE[0], min_height=MIN_SIZE[1])))
