"""Helpers for the mailer tests that use the loopback servers of tests/servers/.

The server fixtures themselves (ca, smtp_server, fault_server, pop3_server,
msmtp_sendmail, tempfail_sendmail, missing_sendmail, recording_sendmail,
sentinel_password) come from tests/servers/fixtures.py, loaded in tests/conftest.py.

Both transports: every test of a module that imported ``send`` or
``send_test_mail`` from mailer runs twice, ``[sync]`` (the blocking path of
the sync API, mailer.blocking) and ``[async]`` (the same call made through
``send_async``/``send_test_mail_async`` under ``asyncio.run``, mailer.aio), so
each end-to-end case and each fault is proven on both.  A module lists tests
that pick their path themselves in ``ONE_PATH``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pytest

import mailer
from config.model import Settings

RCPT = "admin@example.org"


def settings_for(server: Any, **overrides: Any) -> Settings:
    """Settings that send through ``server`` (a CaptureServer or FaultServer)."""
    if hasattr(server, "settings_values"):
        return Settings().with_values(server.settings_values(**overrides))
    values: dict[str, Any] = {
        "mail.relay": "external",
        "mail.sender": "pbx@example.com",
        "mail.smtp.server": server.address,
        "mail.smtp.security": {"starttls": "starttls", "implicit": "tls",
                               "none": "none"}[server.tls],
        "mail.smtp.ca_file": server.ca_file,
        "mail.smtp.username": "tester@example.org",
        "mail.smtp.timeout": 10,
    }
    values.update(overrides)
    return Settings().with_values(values)


def secret_forms(secret: str) -> list[str]:
    """The password as it could leak: plain, base64 alone, in AUTH PLAIN/LOGIN."""
    raw = secret.encode()
    forms = {secret, base64.b64encode(raw).decode()}
    for user in (b"", b"tester@example.org", b"tester"):
        forms.add(base64.b64encode(b"\0" + user + b"\0" + raw).decode())
        forms.add(base64.b64encode(user + b"\0" + user + b"\0" + raw).decode())
    return sorted(forms)


@pytest.fixture
def assert_no_secret(sentinel_password: str) -> Callable[..., None]:
    """``assert_no_secret(report, *texts)``: the sentinel password (plain or base64)
    appears nowhere in the report (repr, JSON, transcript) nor in ``texts``."""

    def check(report: Any, *texts: str) -> None:
        haystack = [repr(report), report.to_json(), report.transcript_text(), *texts]
        for form in secret_forms(sentinel_password):
            for text in haystack:
                assert form not in text

    return check


# -- both transports -------------------------------------------------------------

def send_via_asyncio(**kwargs: Any) -> mailer.Report:
    """``mailer.send`` made through the async API (asyncio transport)."""
    return asyncio.run(mailer.send_async(**kwargs))


def send_test_mail_via_asyncio(**kwargs: Any) -> mailer.Report:
    """``mailer.send_test_mail`` made through the async API (asyncio transport)."""
    return asyncio.run(mailer.send_test_mail_async(**kwargs))


_ASYNC = {"send": send_via_asyncio, "send_test_mail": send_test_mail_via_asyncio}


def _sends(module: Any) -> bool:
    return any(getattr(module, name, None) is getattr(mailer, name) for name in _ASYNC)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mailer_path" not in metafunc.fixturenames or not _sends(metafunc.module):
        return
    if metafunc.function.__name__ in getattr(metafunc.module, "ONE_PATH", ()):
        return
    metafunc.parametrize("mailer_path", ["sync", "async"], indirect=True)


@pytest.fixture(autouse=True)
def mailer_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """"sync" or "async"; for "async" the module's send/send_test_mail are
    replaced by the async API's."""
    path: str = getattr(request, "param", "sync")
    if path == "async":
        for name, replacement in _ASYNC.items():
            if getattr(request.module, name, None) is getattr(mailer, name):
                monkeypatch.setattr(request.module, name, replacement)
    return path
