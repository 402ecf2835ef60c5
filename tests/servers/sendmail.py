"""sendmail-compatible programs for the internal relay (mail.internal.sendmail).

- ``msmtp_wrapper(directory, server)``: ``<directory>/sendmail``, a shell script that
  execs Debian's msmtp (``/usr/bin/msmtp -C <rc> "$@"``) with a generated msmtprc
  delivering to a CaptureServer (STARTTLS/implicit TLS/none, AUTH if the server has
  it, the test CA as trust file).  msmtp takes sendmail's ``-i``, ``-f sender``,
  ``--`` and recipients, message on stdin.
- ``exit_wrapper(directory, code=75, stderr=...)``: reads stdin, prints ``stderr``
  to stderr and exits with ``code`` (75 = EX_TEMPFAIL).
- ``recording_wrapper(directory)``: stores its argument list and stdin, exits 0
  (``.argv()``, ``.stdin()``), to check the exact command line the mailer runs.
- ``missing_path(directory)``: a path that does not exist.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from tests.servers.smtp import CaptureServer

MSMTP = "/usr/bin/msmtp"
TEMPFAIL_MESSAGE = "sendmail: cannot reach the relay host (temporary failure)"


def msmtp_available() -> bool:
    return os.access(MSMTP, os.X_OK)


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def msmtp_wrapper(directory: Path, server: CaptureServer, *,
                  password: str | None = None) -> Path:
    """``password`` overrides the server's (e.g. a wrong one)."""
    directory.mkdir(parents=True, exist_ok=True)
    rc = directory / "msmtprc"
    lines = [
        "defaults",
        f"logfile {directory / 'msmtp.log'}",
        "domain localhost",
        "timeout 10",
        "account test",
        f"host {server.host}",
        f"port {server.port}",
    ]
    if server.tls == "none":
        lines.append("tls off")
    else:
        lines += ["tls on", f"tls_trust_file {server.ca_file}",
                  f"tls_starttls {'on' if server.tls == 'starttls' else 'off'}"]
    if server.auth:
        # msmtp refuses PLAIN/LOGIN without TLS unless the method is named explicitly
        method = "plain" if server.tls == "none" else "on"
        secret = server.password if password is None else password
        lines += [f"auth {method}", f"user {server.user}", f"password {secret}"]
    else:
        lines.append("auth off")
    lines.append("account default : test")
    rc.write_text("\n".join(lines) + "\n")
    rc.chmod(0o600)  # msmtp refuses a readable rc file that holds a password
    return _script(directory / "sendmail",
                   f'exec {MSMTP} -C {shlex.quote(str(rc))} "$@"\n')


def exit_wrapper(directory: Path, code: int = 75, stderr: str = TEMPFAIL_MESSAGE) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return _script(directory / f"sendmail-exit-{code}",
                   f"cat >/dev/null\necho {shlex.quote(stderr)} >&2\nexit {int(code)}\n")


@dataclass
class RecordingSendmail:
    path: Path
    argv_file: Path
    stdin_file: Path

    def argv(self) -> list[str]:
        """The arguments of the last run (without the program name)."""
        if not self.argv_file.exists():
            return []
        return self.argv_file.read_text().split("\0")[:-1]

    def stdin(self) -> bytes:
        return self.stdin_file.read_bytes() if self.stdin_file.exists() else b""


def recording_wrapper(directory: Path) -> RecordingSendmail:
    directory.mkdir(parents=True, exist_ok=True)
    argv_file, stdin_file = directory / "argv", directory / "stdin"
    path = _script(
        directory / "sendmail-recording",
        f"printf '%s\\0' \"$@\" > {shlex.quote(str(argv_file))}\n"
        f"cat > {shlex.quote(str(stdin_file))}\n",
    )
    return RecordingSendmail(path, argv_file, stdin_file)


def missing_path(directory: Path) -> Path:
    return directory / "no-such-dir" / "sendmail"
