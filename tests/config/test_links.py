"""Links root must not follow (issue 13): a planted lock-file link, a dangling config
link, a config link in a directory another account can write; the links that stay
fine (docs/config.md, "Links")."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config.errors import ConfigError, ConfigWriteError
from config.service import SettingsService

NOBODY = 65534  # another account: the admin account of a deployment
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown to another account)")


def _set_sender(path: Path, sender: str = "new@example.com") -> None:
    service = SettingsService(path)
    service.update({"mail.sender": sender})


def test_a_dangling_config_link_is_refused_and_its_target_never_created(tmp_path):
    target = tmp_path / "elsewhere" / "nologin"
    target.parent.mkdir()
    link = tmp_path / "mail.toml"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match="does not exist") as err:
        SettingsService(link).load()
    assert str(link) in str(err.value)
    with pytest.raises(ConfigError):
        _set_sender(link)
    assert not target.exists()


def test_the_cli_names_the_dangling_link_in_one_line_and_exits_1(tmp_path):
    link = tmp_path / "mail.toml"
    link.symlink_to(tmp_path / "nologin")
    run = subprocess.run([sys.executable, "-m", "mailconsole", "set", "mail.sender=a@b.example",
                          "--config", str(link)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 1, run
    assert len(run.stderr.strip().splitlines()) == 1 and str(link) in run.stderr, run.stderr
    assert not (tmp_path / "nologin").exists()


def test_a_lock_file_that_is_a_link_is_an_error_and_is_not_followed(tmp_path):
    config = tmp_path / "mail.toml"
    config.write_text('[mail]\nsender = "old@example.com"\n')
    victim = tmp_path / "victim"
    (tmp_path / "mail.toml.lock").symlink_to(victim)
    with pytest.raises(ConfigWriteError, match="symbolic link"):
        _set_sender(config)
    assert not victim.exists(), "O_CREAT through the link would have made it"
    assert 'old@example.com' in config.read_text()


def test_a_symlinked_config_in_a_safe_place_is_still_followed(tmp_path):
    real = tmp_path / "real" / "mail.toml"
    real.parent.mkdir()
    real.write_text('[mail]\nsender = "old@example.com"\n')
    link = tmp_path / "mail.toml"
    link.symlink_to(real)  # our own directory, our own file
    _set_sender(link)
    assert link.is_symlink(), "the link stays a link"
    assert 'sender = "new@example.com"' in real.read_text()


def test_a_relative_link_chain_through_a_directory_link_is_followed(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "mail.toml").write_text('[mail]\nsender = "old@example.com"\n')
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "c.toml").symlink_to("b/mail.toml")
    assert SettingsService(tmp_path / "c.toml").load().get("mail.sender") == "old@example.com"


@as_root
def test_root_does_not_follow_a_link_planted_in_the_admin_accounts_directory(tmp_path):
    """/etc/mailconsole belongs to the admin account; a mail.toml link there to a file
    of root's (here: a stand-in for /etc/shadow) is refused, nothing written."""
    os.chmod(tmp_path, 0o755)
    admin_dir = tmp_path / "etc-mailconsole"
    admin_dir.mkdir(mode=0o750)
    os.chown(admin_dir, NOBODY, NOBODY)
    secret = tmp_path / "shadow"
    secret.write_text("root:secret\n")
    secret.chmod(0o600)
    link = admin_dir / "mail.toml"
    link.symlink_to(secret)
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match="not followed") as err:
        _set_sender(link)
    assert str(link) in str(err.value)
    with pytest.raises(ConfigError):
        SettingsService(link).load()
    assert secret.read_text() == "root:secret\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


@as_root
def test_root_follows_a_link_in_the_admin_directory_to_a_file_of_the_admin(tmp_path):
    os.chmod(tmp_path, 0o755)
    admin_dir = tmp_path / "etc-mailconsole"
    admin_dir.mkdir(mode=0o750)
    os.chown(admin_dir, NOBODY, NOBODY)
    real = admin_dir / "site.toml"
    real.write_text('[mail]\nsender = "old@example.com"\n')
    os.chown(real, NOBODY, NOBODY)
    link = admin_dir / "mail.toml"
    link.symlink_to("site.toml")
    _set_sender(link)  # the account could change that file anyway
    assert 'sender = "new@example.com"' in real.read_text()
    assert real.stat().st_uid == NOBODY, "owner kept"
    lock = admin_dir / "site.toml.lock"
    assert lock.stat().st_uid == NOBODY, "root's new lock file is the account's"


@as_root
def test_a_link_in_a_group_writable_directory_is_refused(tmp_path):
    os.chmod(tmp_path, 0o755)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    real = tmp_path / "real.toml"
    real.write_text('[mail]\nsender = "old@example.com"\n')
    (shared / "mail.toml").symlink_to(real)
    with pytest.raises(ConfigError, match="not followed"):
        SettingsService(shared / "mail.toml").load()
