"""Mode detection, environment, the ASCII map and the cell-diff wire layer (no pty)."""

from __future__ import annotations

import os
import re

import pytest

from tui import console
from tui.console.ascii import GLYPHS, to_ascii
from tui.console.celldiff import WireEncoder, sgr_transition
from tui.console.driver import tolerant_decoder


@pytest.mark.parametrize("term", ["vt100", "vt220", "linux", "dumb", "", "VT100", "vt102"])
def test_basic_mode_is_chosen_for_dumb_terminals(term):
    assert console.detect_mode(None, environ={"TERM": term}, tty_name="/dev/pts/3") == "basic"


def test_basic_mode_is_chosen_when_term_is_unset():
    assert console.detect_mode(None, environ={}, tty_name="/dev/pts/3") == "basic"


@pytest.mark.parametrize("tty", ["/dev/ttyS0", "/dev/ttyUSB1", "/dev/ttyAMA0", "/dev/hvc0"])
def test_basic_mode_is_chosen_on_a_serial_tty_whatever_term_says(tty):
    assert console.detect_mode(None, environ={"TERM": "xterm-256color"}, tty_name=tty) == "basic"


def test_basic_mode_is_chosen_with_no_color():
    env = {"TERM": "xterm-256color", "NO_COLOR": "1"}
    assert console.detect_mode(None, environ=env, tty_name="/dev/pts/1") == "basic"


def test_rich_mode_is_chosen_for_a_capable_terminal_on_a_pseudo_tty():
    env = {"TERM": "xterm-256color"}
    assert console.detect_mode(None, environ=env, tty_name="/dev/pts/1") == "rich"


def test_an_explicit_request_wins_over_detection():
    assert console.detect_mode("rich", environ={"TERM": "vt100"}, tty_name="/dev/ttyS0") == "rich"
    assert console.detect_mode("--basic", environ={"TERM": "xterm"}, tty_name=None) == "basic"
    with pytest.raises(ValueError):
        console.detect_mode("fancy")


def test_basic_environment_never_asks_for_truecolor_and_uses_an_ansi_theme(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    console.prepare_environment("basic")
    try:
        from textual import constants
        from textual.app import App

        assert os.environ["TEXTUAL_COLOR_SYSTEM"] == "standard"
        assert constants.COLOR_SYSTEM == "standard"
        assert constants.TEXTUAL_ANIMATIONS == "none"
        app = App()
        assert app.console.color_system == "standard"
        assert app.current_theme.ansi, "the theme must be active before construction"
    finally:
        console.prepare_environment("rich")
    assert "TEXTUAL_THEME" not in os.environ  # rich mode undid basic's settings


def test_rich_mode_with_term_dumb_gets_16_colours_not_truecolor(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    try:
        console.prepare_environment("rich")
        from textual.app import App

        assert App().console.color_system == "standard"
    finally:
        monkeypatch.setenv("TERM", "xterm-256color")
        console.prepare_environment("rich")


def test_no_color_uses_the_terminal_default_colours_not_black_on_black(monkeypatch):
    """NO_COLOR + an ANSI theme before construction: Textual's NoColor filter (default
    colours), not the Monochrome filter that sends greyscale codes."""
    monkeypatch.setenv("NO_COLOR", "1")
    try:
        console.prepare_environment("basic")
        from textual.app import App
        from textual.filter import Monochrome, NoColor

        kinds = {type(f) for f in App().get_line_filters()}
        assert NoColor in kinds and Monochrome not in kinds
    finally:
        monkeypatch.delenv("NO_COLOR")
        console.prepare_environment("rich")


def test_every_character_maps_to_ascii_of_the_same_width():
    from rich.cells import cell_len

    for ch in [*GLYPHS, "ä", "é", "漢", "😀", "\u0301", "▊", "▔", "▁", "▐", "▌", "▼", "⭘"]:
        out = to_ascii(ch)
        assert out.isascii(), ch
        assert len(out) == cell_len(ch), ch


def test_the_tolerant_decoder_never_raises_on_invalid_utf8():
    decode = tolerant_decoder().decode
    assert decode(b"a\xff\xe4b") == "a\xffäb"  # Latin-1 keyboards: 0xE4 is ä
    assert decode(b"\x80\x9b") == ""  # C1 line noise is dropped
    assert decode(b"\xc3") == "" and decode(b"\xa4") == "ä"  # split sequence still joins


def test_an_identical_frame_costs_no_bytes():
    frame = "\x1b[1;1H\x1b[1;31mHello\x1b[0m world\x1b[2;1H\x1b[7mX\x1b[0m"
    enc = WireEncoder(20, 3)
    enc.write(frame)
    first = enc.flush()
    assert "Hello" in first
    enc.write(frame)
    assert enc.flush() == ""


def test_only_the_changed_cell_is_written():
    enc = WireEncoder(20, 3)
    enc.write("\x1b[1;1Habcdef\x1b[2;1Hghijkl")
    enc.flush()
    enc.write("\x1b[1;1Habcdef\x1b[2;1HghiJkl")
    out = enc.flush()
    # the cursor sits after "ghijkl": three backspaces beat "ESC[2;4H"
    assert out == "\b\b\bJ", repr(out)


def test_what_the_wire_layer_sends_replays_to_the_same_screen():
    """Replaying the encoder's output on a fresh terminal gives the app's screen."""
    enc = WireEncoder(30, 5)
    frames = [
        "\x1b[1;1H\x1b[44m Title \x1b[0m\x1b[3;2Hfield: \x1b[7mvalue\x1b[0m",
        "\x1b[3;2Hfield: \x1b[7mvalu\x1b[0m \x1b[5;1H\x1b[1mhelp line\x1b[0m",
        "\x1b[1;1H\x1b[44m Title \x1b[0m\x1b[5;1H\x1b[K",
    ]
    replay = WireEncoder(30, 5, clear_on_start=False)
    for frame in frames:
        enc.write(frame)
        replay.write(enc.flush())
    assert replay.rows() == enc.rows()
    assert replay.desired == enc.desired  # styles too


def test_sgr_transition_is_incremental_when_shorter():
    bold_red = (1, "31", "")
    assert sgr_transition((0, "", ""), bold_red) in ("\x1b[1;31m",)
    assert sgr_transition(bold_red, (0, "", "")) == "\x1b[m"
    assert sgr_transition(bold_red, (1, "32", "")) == "\x1b[32m"


def test_ascii_translation_on_the_wire_covers_what_filters_miss():
    enc = WireEncoder(10, 1, translate=to_ascii)
    enc.write("\x1b[1;1H▊ä─⭘")
    assert enc.flush().isascii()


def _form(rows: list[str], width: int = 40) -> str:
    """A frame that writes every row (bold labels, so pens are involved)."""
    return "".join(f"\x1b[{y + 1};1H\x1b[1m{row[:8]}\x1b[0m{row[8:]:<{width - 8}}"
                   for y, row in enumerate(rows))


@pytest.mark.parametrize("where", [3, 7])
@pytest.mark.parametrize("lines", [1, 2])
def test_rows_that_move_down_or_up_are_scrolled_not_rewritten(where, lines):
    """A problem line appearing under a field shifts the rows below it: the wire
    layer scrolls them (DECSTBM + RI / IND, vt100) and the replayed screen is the
    app's, styles included; the problem line going away scrolls them back."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
             "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa"]
    rows = [f"{w[:6]:<8}{w * 3}" for w in words]
    rows += ["-" * 40, "help line", "", "keys"]
    shifted = rows[: where + 1] + [f"Error {i}: this is not valid" for i in range(lines)]
    shifted += rows[where + 1 : 16 - lines] + rows[16:]
    for scroll in (True, False):
        enc = WireEncoder(40, 20)
        enc.scroll = scroll
        replay = WireEncoder(40, 20, clear_on_start=False)
        enc.write(_form(rows))
        replay.write(enc.flush())
        enc.write(_form(shifted))
        down = enc.flush()
        replay.write(down)
        assert replay.desired == enc.desired
        enc.write(_form(rows))
        up = enc.flush()
        replay.write(up)
        assert replay.desired == enc.desired
        if scroll:
            assert "\x1bM" in down and "\x1bD" in up
            scrolled = (len(down), len(up))
        else:
            rewritten = (len(down), len(up))
    assert scrolled[0] * 2 < rewritten[0] and scrolled[1] * 2 < rewritten[1], (
        scrolled, rewritten)


def test_unrelated_changes_are_not_scrolled():
    enc = WireEncoder(40, 10)
    enc.write(_form([f"row {y} some text here" for y in range(10)]))
    enc.flush()
    enc.write(_form([f"ROW {y} other text now" for y in range(10)]))
    out = enc.flush()
    assert "\x1bM" not in out and "\x1bD" not in out
    assert not re.search(r"\x1b\[\d+;\d+r", out)
