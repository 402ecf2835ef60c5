"""Shared fixtures.  Server fixtures live in tests/servers/ (one module each)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture(autouse=True)
def _no_real_config(tmp_path, monkeypatch):
    """Keep the developer's machine out of the tests: the default config path
    points into the test's temp dir (so does the outgoing queue: never the real
    /var/spool/mailconsole), and the language is English."""
    monkeypatch.setenv("MAILCONSOLE_CONFIG", str(tmp_path / "mail.toml"))
    monkeypatch.setenv("MAILCONSOLE_QUEUE_DIR", str(tmp_path / "spool"))
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    # a UTF-8 character set (without one the screen is ASCII only,
    # tui.console.mode.locale_has_unicode); LC_CTYPE does not choose the language
    monkeypatch.setenv("LC_CTYPE", "C.UTF-8")
