"""A throw-away certificate authority and server certificates, written as PEM files.

``TestCA(directory)`` creates one trusted CA (``ca_file``) and these server
certificates, each a (chain file, key file) pair:

    valid          for 127.0.0.1 and localhost, signed by the trusted CA
    wrong_host     for wrong-host.example.invalid only (name mismatch on 127.0.0.1)
    expired        for 127.0.0.1/localhost, expired yesterday
    not_yet_valid  for 127.0.0.1/localhost, valid from in ten days
    unknown_ca     for 127.0.0.1/localhost, signed by a CA nobody trusts
"""

from __future__ import annotations

import datetime as _dt
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

CERT_NAMES = ("valid", "wrong_host", "expired", "not_yet_valid", "unknown_ca")
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
WRONG_HOST = "wrong-host.example.invalid"


@dataclass(frozen=True)
class CertFiles:
    name: str
    cert_file: Path   # leaf + chain, PEM
    key_file: Path    # private key, PEM


class TestCA:
    """The trusted CA plus one certificate per entry of CERT_NAMES."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="mailconsole test CA")
        self.other_ca = trustme.CA(organization_name="unknown test CA")
        self.ca_file = self.directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.other_ca_file = self.directory / "unknown-ca.pem"
        self.other_ca.cert_pem.write_to_path(str(self.other_ca_file))

        now = _dt.datetime.now(_dt.timezone.utc)
        leaves = {
            "valid": self.ca.issue_cert(*LOOPBACK_NAMES),
            "wrong_host": self.ca.issue_cert(WRONG_HOST),
            "expired": self.ca.issue_cert(
                *LOOPBACK_NAMES,
                not_before=now - _dt.timedelta(days=30),
                not_after=now - _dt.timedelta(days=1),
            ),
            "not_yet_valid": self.ca.issue_cert(
                *LOOPBACK_NAMES,
                not_before=now + _dt.timedelta(days=10),
                not_after=now + _dt.timedelta(days=40),
            ),
            "unknown_ca": self.other_ca.issue_cert(*LOOPBACK_NAMES),
        }
        self._files: dict[str, CertFiles] = {}
        for name, leaf in leaves.items():
            cert_file = self.directory / f"{name}.crt.pem"
            key_file = self.directory / f"{name}.key.pem"
            with open(cert_file, "wb") as fh:
                for blob in leaf.cert_chain_pems:
                    fh.write(blob.bytes())
            leaf.private_key_pem.write_to_path(str(key_file))
            key_file.chmod(0o600)
            self._files[name] = CertFiles(name, cert_file, key_file)

    def files(self, name: str = "valid") -> CertFiles:
        if name not in self._files:
            raise ValueError(f"unknown certificate {name!r}; choose one of {CERT_NAMES}")
        return self._files[name]

    def server_context(self, name: str = "valid") -> ssl.SSLContext:
        """A server-side SSLContext presenting certificate ``name``."""
        files = self.files(name)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(files.cert_file), str(files.key_file))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client SSLContext that trusts only this CA (for the servers' self-tests)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        return ctx
