"""Crash safety and concurrency: SIGKILL at random moments, and parallel writers."""

from __future__ import annotations

import multiprocessing
import os
import random
import select
import signal
import time
import tomllib

import pytest

from config import store
from config.service import SettingsService

BASE = (
    "# kill test\n[mail]\nsender_name = \"v0\"  # the version counter\n"
    "sender = \"pbx@customer.example\"\n\n[vendor]\nkeep = true\n"
)


def version_text(n: int) -> str:
    return BASE.replace('"v0"', f'"v{n}"')


def _next_version(s):
    return {"mail.sender_name": f"v{int(s.mail.sender_name[1:]) + 1}"}


def _save_forever(path: str, done: int) -> None:
    """Save in a loop until killed; one byte to ``done`` after each completed save."""
    svc = SettingsService(path)
    while True:
        svc.update(_next_version)
        os.write(done, b"s")


def _wait_for_saves(fd: int, count: int, timeout: float = 120.0) -> int:
    """Read ``count`` completion bytes from ``fd`` (fewer if the writer died);
    how many came."""
    got = 0
    deadline = time.monotonic() + timeout
    while got < count:
        left = deadline - time.monotonic()
        assert left > 0, f"the writer completed only {got} of {count} saves in {timeout} s"
        ready, _w, _x = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, count - got)
            if not chunk:
                break
            got += len(chunk)
    return got


def _drain(fd: int) -> int:
    """The completion bytes left in ``fd`` (its writer is dead and the write end closed)."""
    n = 0
    while chunk := os.read(fd, 4096):
        n += len(chunk)
    return n


@pytest.mark.slow
def test_a_writer_killed_100_times_at_random_moments_never_leaves_a_broken_file(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text(BASE)
    # One save here first: the forked children then start with every module of
    # the save path (tomlkit, the template) imported, so the kills land in
    # saves, not in imports (which on a busy machine outlast the 30 ms).
    SettingsService(path).update(_next_version)
    first = last = int(tomllib.loads(path.read_text())["mail"]["sender_name"][1:])
    rng = random.Random(4711)
    interrupted = 0
    for _round in range(100):
        # The kill lands after the child has reported 0, 1 or 2 completed saves
        # (it waits for them, however slow the machine is), then 0-30 ms into
        # whatever it does next: so saves do complete and the kills still land
        # at random moments, also inside a write.
        after = rng.randrange(3)
        done_r, done_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: save in a loop until killed
            try:
                os.close(done_r)
                _save_forever(str(path), done_w)
            finally:
                os._exit(1)
        os.close(done_w)
        status = None
        try:
            completed = _wait_for_saves(done_r, after)
            time.sleep(rng.uniform(0.0, 0.03))
            os.kill(pid, signal.SIGKILL)
            _pid, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status), "the child died of something else"
            completed += _drain(done_r)
        finally:
            if status is None:  # a failed wait: no writer is left behind
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(done_r)
        if any(store.TMP_INFIX in p.name for p in tmp_path.iterdir()):
            interrupted += 1
        text = path.read_text()
        n = int(tomllib.loads(text)["mail"]["sender_name"][1:])
        assert text == version_text(n), "the file is one complete version"
        # Every save the child reported is in the file; at most one more (it
        # was killed between os.replace and its report).
        assert n >= last + completed, "a completed save was never lost"
        assert n <= last + completed + 1, "no save counted twice"
        last = n
        bak = path.with_name("mail.toml.bak")
        if bak.exists():
            b = int(tomllib.loads(bak.read_text())["mail"]["sender_name"][1:])
            assert bak.read_text() == version_text(b)
        SettingsService(path).load()  # the next start cleans up
        assert [p.name for p in tmp_path.iterdir() if store.TMP_INFIX in p.name] == []
    assert last > first, "the children got to save at all"
    print(f"\n{last} versions written; {interrupted} of 100 kills hit a write in progress")


def _increment(path: str, n: int) -> None:
    svc = SettingsService(path)
    for _ in range(n):
        svc.update(_next_version)


@pytest.mark.slow
def test_four_processes_incrementing_200_times_each_lose_no_update(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text(BASE)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_increment, args=(str(path), 200)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    assert path.read_text() == version_text(800)
    assert [p.name for p in tmp_path.iterdir() if store.TMP_INFIX in p.name] == []
