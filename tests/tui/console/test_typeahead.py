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

from tests.tui.console.conftest import bench, screen_when


def _row(rows: list[str], label: str) -> str:
    return next(r for r in rows if r.startswith(" " + label))


def _value(rows: list[str], label: str) -> str | None:
    """The last word on the row of ``label`` (None while there is no such row)."""
    row = next((r for r in rows if r.startswith(" " + label)), None)
    return row.split()[-1] if row is not None else None


def _screen_when(session, label: str, value: str) -> list[str]:
    """The screen once the row of ``label`` ends in ``value`` (at most 30 s)."""
    return screen_when(session, lambda rows: _value(rows, label) == value)


def test_keys_typed_before_the_first_frame_reach_the_form(spawn_app):
    session = spawn_app("vt100")
    session.send(b"\t\tab")  # at once: the app has not even imported Textual yet
    rows = _screen_when(session, "Sender name", "ab")
    assert _value(rows, "Sender name") == "ab", rows
    assert session.close(bench.CTRL_Q + b"d") is not None


def test_tab_tab_and_a_character_in_one_read(spawn_app):
    session = spawn_app("vt100")
    session.settle()
    session.send(b"\t\tx")
    rows = _screen_when(session, "Sender name", "x")
    assert _row(rows, "Sender name").split()[-1] == "x", rows
    assert _row(rows, "Sender address").split()[-1] != "x", rows
    session.send(b"\x1b[A\x1b[Ay")  # Up Up in the same read, then "y": the radio row
    # then, in a read of its own, Tab Tab "z": from the radio row that is Sender name
    # again ("z" replaces the "x": a field selects its text when tabbed to).  Once it
    # shows, the keys before it were handled (in order); a "y" that went to Sender
    # name would leave "xy" there, with the focus moving on from it
    session.send(b"\t\tz")
    rows = _screen_when(session, "Sender name", "z")
    assert _row(rows, "Sender name").split()[-1] == "z", rows
    assert "y" not in _row(rows, "Sender address"), rows  # "y" did not go there either
    assert session.close(bench.CTRL_Q + b"d") is not None
