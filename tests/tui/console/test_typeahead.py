"""Keys typed ahead are not lost (on a serial line a burst of keys arrives in
one read; a fast typist or a paste does the same over SSH):

- keys typed before the form is on screen (while Textual starts, or while the
  cached first frame is shown) are held and replayed once the form has its
  first focus;
- "Tab Tab x" in ONE read puts the "x" into the field two stops on: Tab moves
  the focus at once (a priority binding), so the "x" is routed to the new field,
  not to the one that had the focus when the burst arrived.

The real app on a real pseudo-terminal at 80x24, TERM=vt100.  The first focus
is "Mail server" (the radio row), then Sender address, then Sender name."""

from __future__ import annotations

from tests.tui.console.conftest import bench, screen_of


def _row(rows: list[str], label: str) -> str:
    return next(r for r in rows if r.startswith(" " + label))


def test_keys_typed_before_the_first_frame_reach_the_form(spawn_app):
    session = spawn_app("vt100")
    session.send(b"\t\tab")  # at once: the app has not even imported Textual yet
    session.settle()
    rows = screen_of(session.output, 80, 24)
    assert _row(rows, "Sender name").split()[-1] == "ab", rows
    assert session.close(bench.CTRL_Q + b"d") is not None


def test_tab_tab_and_a_character_in_one_read(spawn_app):
    session = spawn_app("vt100")
    session.settle()
    session.send(b"\t\tx")
    session.settle(quiet=0.4)
    rows = screen_of(session.output, 80, 24)
    assert _row(rows, "Sender name").split()[-1] == "x", rows
    assert _row(rows, "Sender address").split()[-1] != "x", rows
    session.send(b"\x1b[A\x1b[Ay")  # Up Up in the same read, then "y": the radio row
    session.settle(quiet=0.4)
    rows = screen_of(session.output, 80, 24)
    assert _row(rows, "Sender name").split()[-1] == "x", rows
    assert "y" not in _row(rows, "Sender address"), rows  # "y" did not go there either
    assert session.close(bench.CTRL_Q + b"d") is not None
