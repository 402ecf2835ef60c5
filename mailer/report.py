"""Typed results of a send: steps, failure class with advice, transcript.

INTERFACE (contract for the TUI and the CLI; the mailer helper implements the
sending side in mailer/api.py and re-exports these from mailer/__init__.py):

    send(*, settings, message, sender=None, recipients=None, on_step=None,
         cancel=None) -> Report            # blocking; any mail of the appliance
    build_test_message(settings, recipient) -> EmailMessage
    send_test_mail(*, settings, recipient, on_step=None, cancel=None) -> Report

``on_step(step: Step)`` is called each time a step starts (status "running")
and ends (any other status), from the thread doing the work.
``cancel`` is a threading.Event; setting it ends the send with class
"cancelled".  A Report never contains the password (transcript redacted).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

# Step names, in the order they happen (a transport uses the ones it needs).
STEP_NAMES = (
    "settings",      # check settings
    "token",         # get an OAuth2 access token (auth_method = "oauth2")
    "resolve",       # resolve name
    "connect",
    "greeting",
    "ehlo",
    "starttls",      # STARTTLS or implicit TLS handshake
    "certificate",
    "pop3",          # SMTP after POP3 login
    "login",         # SMTP AUTH
    "mail_from",
    "rcpt_to",
    "data",
    "quit",
    "sendmail",      # internal relay
)


@dataclass(slots=True)
class Step:
    name: str                 # one of STEP_NAMES
    title: str                # translated, human ("Connect to 192.0.2.1:587")
    status: str = "running"   # running | ok | failed | skipped | warning
    duration: float = 0.0     # seconds
    reply: str = ""           # the server's reply (redacted), if any
    detail: str = ""          # extra explanation (e.g. "certificate checks are off")


@dataclass(slots=True)
class Failure:
    cls: str                  # machine-readable class, e.g. "dns", "refused", "tls_wrong_port"
    message: str              # one sentence: what happened (translated)
    advice: str               # one sentence: what to change (translated)
    step: str = ""            # the step that failed


@dataclass(slots=True)
class TranscriptLine:
    direction: str            # "C" client, "S" server, "*" note (TLS, connect...)
    text: str                 # redacted
    at: float = 0.0           # seconds since start


@dataclass(slots=True)
class Report:
    ok: bool = False
    steps: list[Step] = field(default_factory=list)
    failure: Failure | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)
    queue_id: str = ""
    relay: str = ""           # "internal" | "external"
    server: str = ""          # host:port used, "" for internal
    recipients: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. "certificate checks were off"

    def transcript_text(self) -> str:
        """The redacted transcript, one line each: ``C: EHLO x`` / ``S: 250 ok``."""
        return "\n".join(f"{t.direction}: {t.text}" for t in self.transcript) + "\n"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)
