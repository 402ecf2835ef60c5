"""Where the frame cache may write (issue 13): only a directory of this user with mode
0700, files created O_EXCL|O_NOFOLLOW relative to that directory's descriptor."""

from __future__ import annotations

import os

import pytest

from tui.console import frame_cache


def test_a_missing_directory_is_made_0700_and_written(tmp_path):
    directory = tmp_path / "cache" / "mailconsole"
    assert frame_cache.write_private(str(directory), "frame-x.json", b"{}")
    assert (directory.stat().st_mode & 0o777) == 0o700
    assert ((directory / "frame-x.json").stat().st_mode & 0o777) == 0o600
    assert [p.name for p in directory.iterdir()] == ["frame-x.json"], "no temp file left"


def test_a_directory_others_can_read_or_write_is_no_cache(tmp_path):
    directory = tmp_path / "open"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    assert not frame_cache.write_private(str(directory), "frame-x.json", b"{}")
    assert list(directory.iterdir()) == []


def test_a_directory_that_is_a_link_is_no_cache(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    assert not frame_cache.write_private(str(tmp_path / "link"), "frame-x.json", b"{}")
    assert list(real.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a directory of another user)")
def test_root_with_another_users_cache_directory_writes_nothing(tmp_path):
    """sudo -E / su -m: XDG_CACHE_HOME of the user; their 0700 directory is not root's."""
    directory = tmp_path / "user-cache"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    assert not frame_cache.write_private(str(directory), "frame-x.json", b"{}")
    assert list(directory.iterdir()) == []


def test_a_link_planted_at_the_frames_name_is_replaced_not_followed(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (directory / "frame-x.json").symlink_to(victim)
    assert frame_cache.write_private(str(directory), "frame-x.json", b"{}")
    assert victim.read_text() == "precious\n"
    assert not (directory / "frame-x.json").is_symlink()


def test_a_cached_frame_that_is_a_link_is_not_painted(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    elsewhere = tmp_path / "frame.json"
    elsewhere.write_text('{"key": "k", "screen": "", "state": {}}')
    (directory / "frame-x.json").symlink_to(elsewhere)
    early = frame_cache.Prepaint(str(directory), "frame-x.json", "k", (80, 24), "basic")
    assert not early.paint()
