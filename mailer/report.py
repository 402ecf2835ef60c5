"""Typed results of a send: steps, failure class with advice, transcript.

INTERFACE (contract for the TUI and the CLI; the mailer helper implements the
sending side in mailer/api.py and re-exports these from mailer/__init__.py):

    send(*, settings, message, sender=None, recipients=None, on_step=None,
         cancel=None) -> Report            # sync; any mail of the appliance
    await send_async(...same...) -> Report # async; cancel by cancelling the task
    build_test_message(settings, recipient) -> EmailMessage
    send_test_mail(*, settings, recipient, on_step=None, cancel=None) -> Report
    await send_test_mail_async(*, settings, recipient, on_step=None) -> Report

``on_step(step: Step)`` is called each time a step starts (status "running")
and ends (any other status), from the thread/loop doing the work.
``cancel`` is a threading.Event; setting it ends the send with class
"cancelled".  A Report never contains the password (transcript redacted).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

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


class _Record:
    """A small mutable record (what @dataclass gave, without importing
    dataclasses/inspect on the send path): keyword or positional init in
    field order, repr, ==, and copy()."""

    __slots__: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} arguments")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__} got an unexpected keyword {key!r}")
            if key in values:
                raise TypeError(f"{type(self).__name__} got multiple values for {key!r}")
            values[key] = value
        for name in names:
            if name in values:
                setattr(self, name, values[name])
            elif name in self._defaults:
                default = self._defaults[name]
                setattr(self, name, default() if callable(default) else default)
            else:
                raise TypeError(f"{type(self).__name__} missing argument {name!r}")

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass

    def copy(self) -> Any:
        """A shallow copy (dataclasses.replace(x) without changes)."""
        return type(self)(**{name: getattr(self, name) for name in self.__slots__})

    def as_dict(self) -> dict[str, Any]:
        """Like dataclasses.asdict: nested records and lists converted."""
        return {name: _plain(getattr(self, name)) for name in self.__slots__}


def _plain(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.as_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Step(_Record):
    __slots__ = ("name", "title", "status", "duration", "reply", "detail")
    _defaults = {"status": "running", "duration": 0.0, "reply": "", "detail": ""}
    name: str                 # one of STEP_NAMES
    title: str                # translated, human ("Connect to 192.0.2.1:587")
    status: str               # running | ok | failed | skipped | warning
    duration: float           # seconds
    reply: str                # the server's reply (redacted), if any
    detail: str               # extra explanation (e.g. "certificate checks are off")

    if TYPE_CHECKING:
        def __init__(self, name: str, title: str, status: str = "running",
                     duration: float = 0.0, reply: str = "", detail: str = "") -> None: ...


class Failure(_Record):
    __slots__ = ("cls", "message", "advice", "step")
    _defaults = {"step": ""}
    cls: str                  # machine-readable class, e.g. "dns", "refused", "tls_wrong_port"
    message: str              # one sentence: what happened (translated)
    advice: str               # one sentence: what to change (translated)
    step: str                 # the step that failed

    if TYPE_CHECKING:
        def __init__(self, cls: str, message: str, advice: str, step: str = "") -> None: ...


class TranscriptLine(_Record):
    __slots__ = ("direction", "text", "at")
    _defaults = {"at": 0.0}
    direction: str            # "C" client, "S" server, "*" note (TLS, connect...)
    text: str                 # redacted
    at: float                 # seconds since start

    if TYPE_CHECKING:
        def __init__(self, direction: str, text: str, at: float = 0.0) -> None: ...


class Report(_Record):
    __slots__ = ("ok", "steps", "failure", "transcript", "queue_id", "relay", "server",
                 "recipients", "warnings")
    _defaults = {"ok": False, "steps": list, "failure": None, "transcript": list,
                 "queue_id": "", "relay": "", "server": "", "recipients": list,
                 "warnings": list}
    ok: bool
    steps: list[Step]
    failure: Failure | None
    transcript: list[TranscriptLine]
    queue_id: str
    relay: str                # "internal" | "external"
    server: str               # host:port used, "" for internal
    recipients: list[str]
    warnings: list[str]       # e.g. "certificate checks were off"

    if TYPE_CHECKING:
        def __init__(self, ok: bool = False, steps: list[Step] | None = None,
                     failure: Failure | None = None,
                     transcript: list[TranscriptLine] | None = None, queue_id: str = "",
                     relay: str = "", server: str = "", recipients: list[str] | None = None,
                     warnings: list[str] | None = None) -> None: ...

    def transcript_text(self) -> str:
        """The redacted transcript, one line each: ``C: EHLO x`` / ``S: 250 ok``."""
        return "\n".join(f"{t.direction}: {t.text}" for t in self.transcript) + "\n"

    def to_json(self) -> str:
        import json

        return json.dumps(self.as_dict(), indent=2)
