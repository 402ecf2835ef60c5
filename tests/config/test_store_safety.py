"""Writing safely: atomic replace, modes, owners, symlinks, backups, read-only
directories, injected disk errors, conflicts and stale temp files."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config import store
from config.errors import ConfigConflictError, ConfigWriteError
from config.service import SettingsService

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "S3ntinel-Pw-4711"
ORIGINAL = (
    "# keep me\n[mail]\nrelay = \"external\"\nsender = \"pbx@customer.example\"\n\n"
    "[mail.smtp]\nserver = \"smtp.example.com:587\"\nusername = \"pbx\"\n"
    f"password = \"{SENTINEL}\"\n"
)
IS_ROOT = os.geteuid() == 0


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "mail.toml"
    path.write_text(ORIGINAL)
    path.chmod(0o600)
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if store.TMP_INFIX in p.name)


def edit(path: Path, **values) -> bool:
    svc = SettingsService(path)
    return svc.save(svc.load().with_values(
        {k.replace("__", "."): v for k, v in values.items()}))


def test_a_save_keeps_the_files_mode_and_makes_a_backup_with_the_same_mode(cfg):
    cfg.chmod(0o640)
    assert edit(cfg, mail__smtp__username="zentrale")
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    bak = cfg.with_name("mail.toml.bak")
    assert bak.read_text() == ORIGINAL and stat.S_IMODE(bak.stat().st_mode) == 0o640
    assert edit(cfg, mail__smtp__username="third")
    assert 'username = "zentrale"' in bak.read_text()  # one backup: the previous version
    assert leftovers(cfg.parent) == []


@pytest.mark.needs_root
@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_a_save_as_root_keeps_the_files_owner_and_group(cfg):
    os.chown(cfg, 12345, 23456)
    assert edit(cfg, mail__smtp__username="zentrale")
    st = cfg.stat()
    assert (st.st_uid, st.st_gid) == (12345, 23456)
    bak = cfg.with_name("mail.toml.bak").stat()
    assert (bak.st_uid, bak.st_gid) == (12345, 23456)


def test_a_new_file_is_0600_even_with_umask_000(tmp_path):
    path = tmp_path / "new.toml"
    old = os.umask(0)
    try:
        assert edit(path, mail__sender="pbx@customer.example")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name("new.toml.lock").stat().st_mode) == 0o600


def test_a_symlinked_config_updates_the_target_and_keeps_the_link(tmp_path, cfg):
    link_dir = tmp_path / "etc"
    link_dir.mkdir()
    link = link_dir / "mail.toml"
    link.symlink_to(cfg)
    assert edit(link, mail__smtp__username="zentrale")
    assert link.is_symlink() and os.readlink(link) == str(cfg)
    assert 'username = "zentrale"' in cfg.read_text()
    assert cfg.with_name("mail.toml.bak").read_text() == ORIGINAL
    assert sorted(p.name for p in link_dir.iterdir()) == ["mail.toml"]


@pytest.mark.parametrize("failing, err", [
    ("write", errno.ENOSPC), ("write", errno.EIO), ("fsync", errno.EIO),
    ("fsync", errno.ENOSPC), ("replace", errno.EIO),
])
def test_a_disk_error_during_the_write_leaves_the_original_byte_identical(
        cfg, monkeypatch, failing, err):
    before = cfg.read_bytes()
    svc = SettingsService(cfg)
    wanted = svc.load().with_values({"mail.smtp.username": "zentrale"})
    real = getattr(os, failing)
    calls = []

    def broken(*args):
        target = args[0]
        if isinstance(target, (str, os.PathLike)):
            name = target
        else:
            name = os.readlink(f"/proc/self/fd/{target}")
        if store.TMP_INFIX in str(name) and ".bak" not in str(name):
            calls.append(failing)
            raise OSError(err, os.strerror(err))
        return real(*args)

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(ConfigWriteError) as e:
        svc.save(wanted)
    monkeypatch.undo()
    assert calls, "the fault was injected"
    assert cfg.read_bytes() == before
    assert leftovers(cfg.parent) == []
    assert "was not changed" in str(e.value) and str(cfg) in str(e.value)
    assert SENTINEL not in str(e.value)
    assert e.value.exit_code == 5
    if err == errno.ENOSPC:
        assert "no space left" in str(e.value)


def _readonly_child(path: Path, uid: int | None, wrapper: list[str]) -> subprocess.CompletedProcess:
    code = (
        "import os, sys\n"
        "from config.service import SettingsService\n"
        "from config.errors import ConfigWriteError\n"
        "from config.validate import validate\n"
        "from config.model import Settings\n"
        # the interpreter may live where nobody cannot read: import everything first
        # (the store imports what only writing needs -- fcntl, tomllib, tomlkit -- on
        # first use, so they are imported here explicitly)
        "validate(Settings().with_values({'mail.smtp.server': 'a.example'}))\n"
        "import copy, fcntl, pathlib, tomllib, tomlkit, config.template\n"
        f"uid = {uid!r}\n"
        "if uid is not None:\n"
        "    os.setgid(uid); os.setuid(uid)\n"
        f"svc = SettingsService({str(path)!r})\n"
        "s = svc.load().with_values({'mail.smtp.username': 'zentrale'})\n"
        "try:\n"
        "    svc.save(s)\n"
        "except ConfigWriteError as e:\n"
        "    print(e); sys.exit(e.exit_code)\n"
        "sys.exit(0)\n"
    )
    return subprocess.run([*wrapper, sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)


def _assert_refused(result, path: Path, before: bytes) -> None:
    assert result.returncode == 5, result.stderr
    assert "cannot write" in result.stdout and "not changed" in result.stdout
    assert "Traceback" not in result.stderr and SENTINEL not in result.stdout
    assert path.read_bytes() == before
    assert leftovers(path.parent) == []


def test_a_read_only_directory_gives_a_clear_error_and_the_original_is_intact(tmp_path):
    """Root ignores directory permission bits, so as root the directory is made
    immutable (chattr +i, which binds root too); otherwise it is chmod 0555."""
    d = tmp_path / "ro"
    d.mkdir()
    path = d / "mail.toml"
    path.write_text(ORIGINAL)
    assert edit(path, mail__smtp__username="first")  # lock and backup exist already
    before = path.read_bytes()
    if IS_ROOT:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(d)]).returncode:
            pytest.skip("chattr +i is not available on this file system")
    else:
        d.chmod(0o555)
    try:
        result = _readonly_child(path, None, [])
    finally:
        if IS_ROOT:
            subprocess.run(["chattr", "-i", str(d)], check=True)
        d.chmod(0o755)
    _assert_refused(result, path, before)


@pytest.mark.skipif(not IS_ROOT, reason="setuid to nobody needs root")
def test_a_directory_the_user_may_not_write_gives_a_clear_error_for_a_non_root_user(tmp_path):
    """A child that dropped to uid 65534 (nobody) edits a file it owns inside a
    directory it owns with mode 0555: creating the lock fails with EACCES."""
    base = Path(os.environ.get("TMPDIR", "/tmp"))
    d = Path(subprocess.check_output(["mktemp", "-d", "-p", str(base)], text=True).strip())
    try:
        d.chmod(0o755)
        path = d / "mail.toml"
        path.write_text(ORIGINAL)
        os.chown(path, 65534, 65534)
        os.chown(d, 65534, 65534)
        d.chmod(0o555)
        before = path.read_bytes()
        result = _readonly_child(path, 65534, [])
        if "ModuleNotFoundError" in result.stderr or "PermissionError" in result.stderr:
            pytest.skip("the repository is not readable by nobody: " + result.stderr[-200:])
        _assert_refused(result, path, before)
    finally:
        d.chmod(0o755)
        shutil.rmtree(d)


def test_a_read_only_file_system_gives_a_clear_error(tmp_path):
    """A read-only bind mount in a private mount namespace (EROFS)."""
    if not IS_ROOT or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private read-only bind mount")
    d = tmp_path / "rofs"
    d.mkdir()
    path = d / "mail.toml"
    path.write_text(ORIGINAL)
    before = path.read_bytes()
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode:
        pytest.skip("mount namespaces are not available")
    script = f"mount --bind {d} {d} && mount -o remount,bind,ro {d} {d} && exec \"$@\""
    result = _readonly_child(path, None, ["unshare", "-m", "sh", "-c", script, "sh"])
    _assert_refused(result, path, before)
    assert "read-only" in result.stdout


def test_a_file_changed_on_disk_since_loading_is_never_overwritten(cfg):
    svc = SettingsService(cfg)
    mine = svc.load().with_values({"mail.smtp.username": "mine"})
    other = SettingsService(cfg)
    other.save(other.load().with_values({"mail.smtp.server": "other.example.com:587"}))
    theirs = cfg.read_bytes()
    with pytest.raises(ConfigConflictError) as e:
        svc.save(mine)
    assert e.value.exit_code == 4 and str(cfg) in str(e.value)
    assert cfg.read_bytes() == theirs
    # "apply my edits on top of the new file"
    rebased = svc.rebase(mine)
    assert rebased.mail.smtp.server == "other.example.com:587"
    assert rebased.mail.smtp.username == "mine"
    assert svc.save(rebased)
    assert SettingsService(cfg).load() == rebased


def test_force_saves_over_a_changed_file_as_leaf_edits_on_the_new_text(cfg):
    svc = SettingsService(cfg)
    mine = svc.load().with_values({"mail.smtp.username": "mine"})
    cfg.write_text(ORIGINAL + "\n[vendor]\nadded = 1  # by someone else\n")
    assert svc.save(mine, force=True)
    text = cfg.read_text()
    assert "added = 1  # by someone else" in text and 'username = "mine"' in text


def test_a_file_deleted_or_created_since_loading_is_a_conflict(tmp_path, cfg):
    svc = SettingsService(cfg)
    s = svc.load().with_values({"mail.smtp.username": "x"})
    cfg.unlink()
    with pytest.raises(ConfigConflictError):
        svc.save(s)
    assert not cfg.exists()
    fresh = SettingsService(tmp_path / "other.toml")
    s2 = fresh.load().with_values({"mail.sender": "a@b.example"})
    (tmp_path / "other.toml").write_text("# created meanwhile\n")
    with pytest.raises(ConfigConflictError):
        fresh.save(s2)
    assert (tmp_path / "other.toml").read_text() == "# created meanwhile\n"


def test_temp_files_of_a_killed_writer_are_removed_at_the_next_start(cfg):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = cfg.with_name(f".mail.toml{store.TMP_INFIX}{dead.pid}-deadbeef")
    stale.write_text("half a file")
    stale_bak = cfg.with_name(f".mail.toml.bak{store.TMP_INFIX}{dead.pid}-cafe")
    stale_bak.write_text("half")
    live = cfg.with_name(f".mail.toml{store.TMP_INFIX}{os.getpid()}-0000")
    live.write_text("being written right now")
    SettingsService(cfg).load()
    assert leftovers(cfg.parent) == [live.name]  # a live writer's temp is not touched
    edit(cfg, mail__smtp__username="x")  # under the lock no writer can be active
    assert leftovers(cfg.parent) == []


def test_a_lock_file_is_used_and_released(cfg):
    edit(cfg, mail__smtp__username="x")
    import fcntl
    with open(cfg.with_name("mail.toml.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it any more
