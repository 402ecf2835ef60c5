"""Helpers for the mailer tests that use the loopback servers of tests/servers/.

The server fixtures themselves (ca, smtp_server, fault_server, pop3_server,
msmtp_sendmail, tempfail_sendmail, missing_sendmail, recording_sendmail,
sentinel_password) come from tests/servers/fixtures.py, loaded in tests/conftest.py.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

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

