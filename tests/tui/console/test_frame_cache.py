"""The frame cache (tui/console/frame_cache.py): the start-up screen of the last session with the
same inputs is painted before Textual is imported; a stale one is never shown.

Every start is the real app (tui.start.run) on an 80x24 pseudo-terminal, with the cache
in tmp_path.  "Before Textual" is checked by order, not by time: Textual's driver
sends bracketed-paste mode (ESC[?2004h) when it starts; a cold start paints the form
after it, a pre-painted one before it.
"""

from __future__ import annotations

import json
import os
import stat
import termios
import time

from tests.tui.console.conftest import bench, screen_of

DRIVER_STARTED = b"\x1b[?2004h"
MARK = b"Sender address"


def _start(tmp_path, *, mode="basic", rows=24, config=None, keys=b"", quiet=1.0):
    """Run one session until its start-up is over (see _startup_over); quit; return
    the output and the tty's local flags after the app ended."""
    config = config or tmp_path / "mail.toml"
    term = "vt100" if mode == "basic" else "xterm-256color"
    log = tmp_path / f"startup-{time.monotonic_ns()}.log"
    env = bench.app_env(term, {"MAILCONSOLE_FRAME_CACHE": str(tmp_path / "frames"),
                               "MAILCONSOLE_STARTUP_LOG": str(log)})
    argv = [*bench.app_argv(config, mode)]
    session = bench.PtySession(argv, env, rows=rows, cols=80, cwd=str(bench.REPO))
    try:
        session.settle(quiet=quiet, timeout=30)
        _startup_over(session, log)
        if keys:
            session.send(keys)
            session.settle(quiet=0.5, timeout=10)
        session.send(b"\x11")  # Ctrl+Q: nothing unsaved, quits
        assert session.wait(10) == 0
        lflag = termios.tcgetattr(session.master)[3]
    finally:
        session.close()
    return bytes(session.output), lflag


def _startup_over(session, log, timeout=30.0):
    """Wait until the app's start-up is over (the console driver logs it): the
    screen is in the frame cache (a miss) or the pre-painted one was released (a
    hit).  A quiet tty says nothing about that: a hit sends 0 bytes while Textual
    builds its screen, which on a busy machine takes longer than any quiet period,
    and a key then would end the start-up with a half-built screen."""
    deadline = time.monotonic() + timeout
    while not (log.exists() and " startup-over " in log.read_text()):
        assert time.monotonic() < deadline, "the start-up never ended"
        session.read(0.05)
    session.settle(quiet=0.3, timeout=10, need_bytes=False)  # what was sent at its end


def _painted_before_the_driver(output: bytes) -> bool:
    assert MARK in output and DRIVER_STARTED in output
    return output.index(MARK) < output.index(DRIVER_STARTED)


def _frames(tmp_path):
    directory = tmp_path / "frames"
    return sorted(directory.glob("frame-*.json")) if directory.exists() else []


def test_the_second_start_paints_the_cached_screen_before_textual_at_no_extra_cost(tmp_path):
    cold, _ = _start(tmp_path)
    assert not _painted_before_the_driver(cold)  # miss: Textual painted it
    [entry] = _frames(tmp_path)
    warm, _ = _start(tmp_path)
    assert _painted_before_the_driver(warm)  # hit
    # the same bytes reach the terminal (the cached screen is what the cold start
    # sent for its screen), and the same screen results
    start = len(b"\x1b[?1049h")
    cached = json.loads(entry.read_text())["screen"].encode()
    cached = cached.replace(b"\n", b"\r\n")  # the tty's ONLCR
    assert warm[start:start + len(cached)] == cached
    first = cold[: cold.index(b"\x1b[?1049l")]  # up to the exit
    again = warm[: warm.index(b"\x1b[?1049l")]
    assert len(again) <= len(first)
    assert screen_of(again, 80, 24) == screen_of(first, 80, 24)
    assert all(b < 0x80 for b in again)  # basic mode: ASCII only, cached or not


def test_a_hit_in_rich_mode_gives_the_same_screen(tmp_path):
    cold, _ = _start(tmp_path, mode="rich")
    warm, _ = _start(tmp_path, mode="rich")
    assert _painted_before_the_driver(warm)
    first = cold[: cold.index(b"\x1b[?1049l")]
    again = warm[: warm.index(b"\x1b[?1049l")]
    assert screen_of(again, 80, 24) == screen_of(first, 80, 24)


def test_a_key_after_a_hit_costs_what_it_costs_after_a_cold_start(tmp_path):
    cold, _ = _start(tmp_path, keys=b"\t")
    warm, _ = _start(tmp_path, keys=b"\t")
    assert _painted_before_the_driver(warm)
    exit_cold, exit_warm = cold.index(b"\x1b[?1049l"), warm.index(b"\x1b[?1049l")
    assert screen_of(warm[:exit_warm], 80, 24) == screen_of(cold[:exit_cold], 80, 24)
    assert exit_warm <= exit_cold


def test_a_changed_file_size_or_mode_never_shows_the_cached_screen(tmp_path):
    config = tmp_path / "mail.toml"
    config.write_text('[mail]\nsender = "old@example.org"\n', encoding="utf-8")
    _start(tmp_path, config=config)
    config.write_text('[mail]\nsender = "new@example.org"\n', encoding="utf-8")
    changed, _ = _start(tmp_path, config=config)
    assert b"old@example.org" not in changed  # not even for a moment
    assert not _painted_before_the_driver(changed)
    again, _ = _start(tmp_path, config=config)  # the new screen was stored
    assert _painted_before_the_driver(again) and b"old@example.org" not in again
    taller, _ = _start(tmp_path, config=config, rows=30)
    assert not _painted_before_the_driver(taller)
    rich, _ = _start(tmp_path, config=config, mode="rich")
    assert not _painted_before_the_driver(rich)
    os.chmod(config, 0o600)  # the mode bits are in the key (warnings may depend on them)
    private, _ = _start(tmp_path, config=config)
    assert not _painted_before_the_driver(private)


def test_the_cache_file_is_private_and_holds_no_password(tmp_path):
    config = tmp_path / "mail.toml"
    config.write_text('[mail]\nrelay = "external"\n[mail.smtp]\nserver = "smtp.example.org"\n'
                      'username = "pbx"\npassword = "S3cret-Pa55word"\n', encoding="utf-8")
    os.chmod(config, 0o600)
    _start(tmp_path, config=config)
    warm, _ = _start(tmp_path, config=config)
    assert _painted_before_the_driver(warm)
    [entry] = _frames(tmp_path)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    data = entry.read_bytes()
    assert b"S3cret" not in data and b"S3cret" not in warm
    assert b"smtp.example.org" in data  # it is the screen (a check that can fail)


def test_the_tty_gets_its_echo_back_after_a_hit(tmp_path):
    _, cold_lflag = _start(tmp_path)
    _, warm_lflag = _start(tmp_path)
    for flag in (termios.ECHO, termios.ICANON):
        assert cold_lflag & flag
        assert warm_lflag & flag


def test_no_cache_when_it_is_off(tmp_path):
    env = bench.app_env("vt100")
    assert env["MAILCONSOLE_FRAME_CACHE"] == "off"  # the byte bench and other tests
    session = bench.PtySession(bench.app_argv(tmp_path / "mail.toml", "basic"), env,
                               cwd=str(bench.REPO))
    try:
        session.settle(quiet=1.0, timeout=30)
    finally:
        session.close(quit_keys=b"\x11")
    assert not any(tmp_path.rglob("frame-*.json"))


def test_a_file_changed_while_starting_takes_the_frame_back(tmp_path, monkeypatch):
    """The file is written between the frame's choice and the app's load: the
    painted frame is taken back (alternate screen left, tty restored) and nothing is
    stored under the old key."""
    import io

    from tui.console import frame_cache as prepaint

    config = tmp_path / "mail.toml"
    config.write_text('[mail]\nsender = "a@example.org"\n', encoding="utf-8")
    inputs = {"mode": "basic", "language": "en", "ascii_only": True}
    name, key = prepaint.cache_key(str(config), size=(80, 24), **inputs)
    early = prepaint.Prepaint(str(tmp_path / "frames"), name, key, (80, 24), "basic")
    early.encoder = prepaint.WireEncoder(80, 24)  # as if painted
    left = io.BytesIO()
    monkeypatch.setattr(prepaint.os, "write", lambda fd, data: left.write(data))
    early.recheck(str(config), size=(80, 24), **inputs)
    assert early.hit and not left.getvalue()  # unchanged: the frame stays
    config.write_text('[mail]\nsender = "b@example.org"\n', encoding="utf-8")
    early.recheck(str(config), size=(80, 24), **inputs)
    assert not early.hit and b"\x1b[?1049l" in left.getvalue()
    early.store("x", {"cells": [[(" ", (0, "", ""))] * 80] * 24})
    assert not (tmp_path / "frames").exists()


def test_a_cached_screen_that_differs_is_corrected_and_stored_again(tmp_path):
    """Defence in depth: if Textual's start-up screen differs from the cached one
    (here the entry is edited; a correct key makes that unexpected), the difference
    is sent once Textual drew it, and the entry is replaced by a whole screen."""
    _start(tmp_path)
    [entry] = _frames(tmp_path)
    data = json.loads(entry.read_text())
    assert "Admin > Server" in data["screen"]
    from tui.console import frame_cache as prepaint

    data["screen"] = data["screen"].replace("Admin", "STALE", 1)
    cells = prepaint._decode_cells(data["state"]["cells"], 80, 24)
    start = "".join(ch for ch, _pen in cells[0]).index("Admin")
    for i, ch in enumerate("STALE"):
        cells[0][start + i] = (ch, cells[0][start + i][1])
    data["state"]["cells"] = prepaint._encode_cells(cells)
    entry.write_text(json.dumps(data))
    corrected, _ = _start(tmp_path, quiet=3.0)  # past the start-up window (2 s)
    assert _painted_before_the_driver(corrected) and b"STALE" in corrected
    rows = screen_of(corrected[: corrected.index(b"\x1b[?1049l")], 80, 24)
    assert "Admin > Server" in rows[0] and "STALE" not in rows[0]
    again = json.loads(entry.read_text())
    replayed = screen_of(again["screen"].encode(), 80, 24)
    assert replayed == rows, "the stored bytes paint the whole screen"


def test_the_pre_paint_path_imports_neither_textual_nor_rich(tmp_path):
    """What runs before the cached screen is painted stays light: tui.start (run),
    tui.console (mode) and tui.console.frame_cache import no Textual, Rich or settings service."""
    import subprocess
    import sys

    code = (
        "import sys; import tui.start, tui.console, tui.console.frame_cache as p; "
        f"p.cache_key({str(tmp_path / 'mail.toml')!r}, mode='basic', language='en', "
        "size=(80, 24), ascii_only=True); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') "
        "or m in ('config.service', 'tomlkit')); print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=bench.REPO)
    assert out.returncode == 0, out.stdout + out.stderr
