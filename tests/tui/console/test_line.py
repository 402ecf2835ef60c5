"""The real app on a real pseudo-terminal, as a serial line or an SSH session sees it."""

from __future__ import annotations

import random
import re

from tests.tui.console.conftest import CUP, bench, screen_of, screen_when

ESC = b"\x1b"
CTRL_G, CTRL_L, CTRL_Q, CTRL_S, CTRL_T = b"\x07", b"\x0c", b"\x11", b"\x13", b"\x14"


def test_a_serial_line_reporting_0x0_gets_80x24_basic_frames_only(spawn_app):
    """A serial getty: TERM=vt100, the tty says 0 rows 0 columns, no COLUMNS/LINES."""
    session = spawn_app(term="vt100", rows=0, cols=0)
    session.settle(quiet=1.5, timeout=30)
    for key in (b"\t", b"\t", b" ", b"\t"):
        session.send(key)
        session.settle(quiet=0.4)
    out = bytes(session.output)
    assert session.poll() is None, out[-500:]
    positions = [(int(r or 1), int(c or 1)) for r, c in CUP.findall(out)]
    assert positions, "no cursor positioning at all?"
    assert max(r for r, _ in positions) <= 24, "no row 25"
    assert max(c for _, c in positions) <= 80
    rows = screen_of(out, width=100, height=30)
    assert rows[23].strip(), "the bottom row (key help) is drawn on row 24"
    assert all(not row.strip() for row in rows[24:]), "nothing below row 24"
    assert all(not row[80:].strip() for row in rows), "nothing right of column 80"
    # basic mode: ASCII only, no mouse reporting, no colour beyond the 16 ANSI ones
    assert max(out) < 0x80
    assert b"\x1b[?1000h" not in out and b"\x1b[?1003h" not in out
    assert not re.search(rb"\x1b\[[0-9;]*[34]8;[25];", out), "256/truecolor codes sent"


def test_basic_mode_writes_only_ascii_on_every_screen_and_dialog(spawn_app):
    session = spawn_app(term="vt100")
    session.settle(quiet=1.5, timeout=30)
    steps = [
        b"\t",                  # to the sender
        "äöü€".encode(),        # non-ASCII typed by the admin (shown transliterated)
        CTRL_G, ESC,            # help screen, closed
        CTRL_S, b"n",           # the save dialog with its diff, cancelled
        CTRL_T, ESC,            # test mail: the recipient prompt, cancelled
        CTRL_Q,                 # unsaved changes: the quit dialog
    ]
    seen = []
    for key in steps:
        session.send(key)
        seen.append(session.settle(quiet=0.6, timeout=10))
    assert all(seen), f"every step must draw something: {[len(s) for s in seen]}"
    assert b"Save" in b"".join(seen[3:6]) or b"save" in b"".join(seen[3:6])
    session.send(b"d")  # discard and quit
    assert session.wait(10) == 0
    out = bytes(session.output)
    high = [i for i, b in enumerate(out) if b >= 0x80]
    assert not high, out[max(0, high[0] - 60): high[0] + 20] if high else ""


def test_random_bytes_and_invalid_utf8_on_input_do_not_end_the_app(spawn_app):
    session = spawn_app(term="vt100")
    session.settle(quiet=1.5, timeout=30)
    rng = random.Random(6)
    # line noise: bytes >= 0x80 (invalid UTF-8, Latin-1 letters, C1 controls) and
    # broken multi-byte sequences; control bytes < 0x20 are keys and stay out
    noise = bytes(rng.randrange(0x80, 0x100) for _ in range(3000)) + b"\xe2\x82" + b"\xc3"
    for i in range(0, len(noise), 97):
        session.send(noise[i:i + 97])
    session.settle(quiet=1.0, timeout=20, need_bytes=False)
    assert session.poll() is None, bytes(session.output)[-800:]
    session.send(CTRL_L)  # the redraw key repaints the whole screen
    repaint = session.settle(quiet=0.6, timeout=10)
    assert b"\x1b[2J" in repaint and len(repaint) > 500
    session.send(CTRL_Q)
    session.settle(quiet=0.6, timeout=10, need_bytes=False)
    if session.poll() is None:  # the noise made edits: the quit dialog asks
        session.send(b"d")
    assert session.wait(10) == 0


# Basic mode at 80x24, measured with bench/bytes.py (docs/console.md).  The issue's
# targets: first paint <= 4400, focus move <= 134, char <= 52, idle 0 -- all met.  A
# focus move also rewrites the help line (basic mode: the field's one-line short help,
# config.model.Field.short) and shows focus in reverse video (a text field's selected
# value, a checkbox); measured 134 / 86 / 131 (toggle 20, first paint 1618).
CEILINGS = {
    "first paint": 4400,
    "focus move": 134,
    "char typed": 52,
    "focus move 2": 134,
    "focus move 3": 134,
    "toggle": 25,
    "idle": 0,
}


def test_basic_mode_stays_within_the_byte_budget(tmp_path):
    result = bench.measure_app("basic", "vt100", idle=1.0, workdir=tmp_path)
    over = {k: (result.steps[k], limit) for k, limit in CEILINGS.items()
            if result.steps[k] > limit}
    assert not over, f"bytes over the ceiling (measured, ceiling): {over}; all: {result.steps}"
    assert all(result.steps[k] > 0 for k in CEILINGS if k != "idle"), result.steps


PROBLEM_LINE_CEILING = 300  # measured 230 B (the rows below scrolled); 856 B rewritten


def test_a_problem_line_appearing_scrolls_the_rows_below_instead_of_rewriting_them(spawn_app):
    """Typing "x" over the selected sender address makes it invalid: a two-row
    error appears under the field and everything below moves down.  The wire
    layer scrolls those rows (DECSTBM + RI) instead of rewriting them."""
    session = spawn_app(term="vt100", mode="basic")
    # each step waits for what it shows (a quiet tty is no sign of that under load),
    # so its bytes are all counted in it
    screen_when(session, lambda rows: any(r.startswith(" Sender address") for r in rows))
    session.send(bench.TAB)  # to the sender address (its value selected)
    screen_when(session, lambda rows: any("From address of all mails" in r for r in rows))
    mark = len(session.output)
    session.send(b"x")  # replaces it: not a mail address any more

    def sender(rows):
        return next(i for i, row in enumerate(rows) if row.startswith(" Sender address"))

    rows = screen_when(session, lambda rows: rows[sender(rows) + 3].startswith(" Sender name"))
    got = bytes(session.output[mark:])
    assert b"\x1bM" in got, "scrolled"
    assert len(got) <= PROBLEM_LINE_CEILING, len(got)
    at = sender(rows)
    assert rows[at].split()[-1] == "x"
    assert "Error:" in rows[at + 1], rows
    assert rows[at + 3].startswith(" Sender name"), rows  # moved down, intact
    mark = len(session.output)
    session.send(b"\x7f@example.org")  # valid again: the error goes, rows move back
    rows = screen_when(session, lambda rows: rows[at + 1].startswith(" Sender name"))
    back = bytes(session.output[mark:])
    assert len(back) <= PROBLEM_LINE_CEILING + 100, len(back)
    assert rows[at + 1].startswith(" Sender name"), rows


# -- line discipline (issue 13) ----------------------------------------------------------

def test_a_lone_c1_byte_is_nothing_and_the_next_key_still_works(spawn_app):
    """0x85 or 0x9b alone in a read decode to nothing; fed to the parser as "" they
    meant the end of the input and the next key killed the screen."""
    session = spawn_app(term="vt100")
    session.settle(quiet=1.0, timeout=30)
    for byte in (b"\x85", b"\x9b", b"\x80", b"\x9f"):
        session.send(byte)
        session.settle(quiet=0.2, timeout=2, need_bytes=False)  # one read each
    session.send(b"\t")  # a key after the noise still moves the focus
    moved = session.settle(quiet=0.5, timeout=10)
    assert session.poll() is None and moved, bytes(session.output)[-300:]
    assert b"Traceback" not in bytes(session.output)
    session.send(CTRL_Q)
    assert session.wait(10) == 0


def _ends(output: bytes) -> bytes:
    return output[output.rindex(b"\x1b[?1049l"):]


def test_quitting_leaves_the_cursor_where_the_shell_was_and_visible(spawn_app):
    """Rich mode on an xterm: back from the alternate screen, and nothing after it
    moves the cursor (the prompt lands below the old output) or hides it."""
    session = spawn_app(term="xterm-256color")
    session.settle(quiet=1.0, timeout=30)
    session.send(CTRL_Q)
    assert session.wait(10) == 0
    tail = _ends(bytes(session.output))
    assert not re.search(rb"\x1b\[\d*(;\d*)?H", tail), tail
    assert tail.rfind(b"\x1b[?25h") > tail.rfind(b"\x1b[?25l"), tail


def test_on_a_vt100_quitting_leaves_a_clean_screen_with_the_cursor_home(spawn_app):
    session = spawn_app(term="vt100")
    session.settle(quiet=1.0, timeout=30)
    session.send(CTRL_Q)
    assert session.wait(10) == 0
    out = bytes(session.output)
    assert out.endswith(b"\x1b[m\x1b[H\x1b[2J\x1b[?25h"), out[-80:]
    assert all(not row.strip() for row in screen_of(out, 80, 24))


def test_end_of_input_without_sighup_ends_the_app_within_2_s_without_spinning(tmp_path):
    """The app in a session of its own (setsid: the pty is not its controlling
    terminal, so closing the other side sends no SIGHUP): reads return EOF/EIO.  It
    ends within 2 s (exit 129), used little CPU, and the file is as it was."""
    import os
    import subprocess
    import time

    config = tmp_path / "mail.toml"
    config.write_text('[mail]\nsender = "kept@example.com"\n')
    before = config.read_bytes()
    master, slave = os.openpty()
    bench.set_winsize(slave, 24, 80)
    proc = subprocess.Popen(bench.app_argv(config, None), stdin=slave, stdout=slave,
                            stderr=slave, env=bench.app_env("vt100"), cwd=str(bench.REPO),
                            start_new_session=True, close_fds=True)
    os.close(slave)
    got = bytearray()
    deadline = time.monotonic() + 30
    while b"Sender address" not in got and time.monotonic() < deadline:
        try:
            got += os.read(master, 65536)
        except OSError:
            break
    assert b"Sender address" in got, bytes(got)[-300:]
    os.write(master, b"\tedited")  # an unsaved edit
    time.sleep(0.5)
    os.close(master)  # the line is gone; no SIGHUP reaches a process in its own session
    closed = time.monotonic()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.monotonic() - closed
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert took < 2.0, took
    assert proc.returncode == 129, proc.returncode
    assert config.read_bytes() == before
    assert usage.ru_utime + usage.ru_stime < 30, "no busy loop"  # whole run, start-up too
