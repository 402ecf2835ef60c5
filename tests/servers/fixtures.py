"""Pytest fixtures for the loopback test servers.

Loaded for every test by ``pytest_plugins = ["tests.servers.fixtures"]`` in
tests/conftest.py.  See the module docstrings of tests/servers/*.py for details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.certs import TestCA
from tests.servers.faults import FaultServer
from tests.servers.pop3 import DOVECOT, Pop3Server, dovecot_available
from tests.servers.sendmail import (
    MSMTP,
    RecordingSendmail,
    exit_wrapper,
    missing_path,
    msmtp_available,
    msmtp_wrapper,
    recording_wrapper,
)
from tests.servers.smtp import CaptureServer

SENTINEL_PASSWORD = "Sentinel-Pw-7f3a9c"


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """The test CA: ``ca.ca_file`` (trust this), ``ca.files(name)``,
    ``ca.server_context(name)``, ``ca.client_context()``."""
    return TestCA(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def smtp_server(ca: TestCA) -> Iterator[Callable[..., CaptureServer]]:
    """Factory: ``smtp_server(tls="starttls"|"implicit"|"none", auth=True,
    cert="valid", user=..., password=..., ...)`` -> a started CaptureServer
    (see tests/servers/smtp.py); stopped at the end of the test."""
    started: list[CaptureServer] = []

    def make(**kwargs: Any) -> CaptureServer:
        kwargs.setdefault("password", SENTINEL_PASSWORD)
        server = CaptureServer(ca, **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sentinel_password() -> str:
    """The password the server fixtures use by default; search for it in output."""
    return SENTINEL_PASSWORD


@pytest.fixture
def fault_server(ca: TestCA) -> Iterator[Callable[..., FaultServer]]:
    """Factory: ``fault_server("rcpt_5xx")`` or ``fault_server(replies=..., tls=...)``
    -> a started FaultServer (see tests/servers/faults.py: FAULTS); stopped after the
    test.  ``.commands`` lists every command line it received."""
    started: list[FaultServer] = []

    def make(fault: str | None = None, **kwargs: Any) -> FaultServer:
        server = FaultServer(fault, ca=ca, **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def pop3_server(ca: TestCA) -> Iterator[Pop3Server]:
    """Debian's dovecot on loopback: ``.host``, ``.pop3_port`` (plain + STLS),
    ``.pop3s_port`` (implicit TLS), ``.user``, ``.password`` (the sentinel),
    ``.ca_file``, ``.logins()`` / ``.wait_for_login()`` / ``.failed_logins()``
    parsed from dovecot's log.  Skips only if dovecot is not installed."""
    if not dovecot_available():
        pytest.skip(f"{DOVECOT} is missing (scripts/bootstrap installs dovecot-pop3d)")
    server = Pop3Server(ca, password=SENTINEL_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def msmtp_sendmail(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``msmtp_sendmail(server, password=None)`` -> path of a ``sendmail``
    script that runs Debian's msmtp delivering to ``server`` (a CaptureServer), with
    the server's password unless another is given.  Skips only if msmtp is missing."""
    if not msmtp_available():
        pytest.skip(f"{MSMTP} is missing (scripts/bootstrap installs msmtp-mta)")

    def make(server: CaptureServer, password: str | None = None) -> Path:
        return msmtp_wrapper(tmp_path / f"msmtp-{server.port}", server, password=password)

    return make


@pytest.fixture
def tempfail_sendmail(tmp_path: Path) -> Path:
    """A sendmail that reads the message, prints sendmail.TEMPFAIL_MESSAGE to stderr
    and exits 75 (EX_TEMPFAIL)."""
    return exit_wrapper(tmp_path / "sendmail-tempfail", 75)


@pytest.fixture
def missing_sendmail(tmp_path: Path) -> Path:
    """A sendmail path that does not exist."""
    return missing_path(tmp_path)


@pytest.fixture
def recording_sendmail(tmp_path: Path) -> RecordingSendmail:
    """A sendmail that stores its arguments (``.argv()``) and stdin (``.stdin()``)."""
    return recording_wrapper(tmp_path / "sendmail-recording")


@pytest.fixture
def oauth_lab(ca: TestCA, tmp_path: Path, smtp_server: Callable[..., CaptureServer]):
    """An OAuth2 authorization server (authlib, HTTPS on loopback) with its clients,
    and ``oauth_lab.smtp()`` for an aiosmtpd server that accepts only its tokens
    (tests/servers/oauth.py: OAuthLab).  The process-wide token cache is emptied."""
    from mailer import oauth
    from tests.servers.oauth import OAuthLab

    oauth._MEMORY.clear()
    lab = OAuthLab(ca, tmp_path, smtp_server)
    yield lab
    lab.stop()
    oauth._MEMORY.clear()
