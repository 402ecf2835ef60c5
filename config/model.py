"""The settings model: every key path, its type, default and meaning.

``FIELDS`` is the single source of truth for the key paths (a contract with
provisioning scripts), their types and defaults, the commented template, the
CLI's value parsing and the TUI's help line.  :class:`Settings` is an
immutable, typed view of one complete configuration.
"""

from __future__ import annotations

from config.errors import ConfigTypeError
from config.i18n import N_, _

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any
else:  # the same class; collections.abc imports collections (~3 ms of start-up)
    from _collections_abc import Mapping

Value = str | bool | int
_Type = type  # `type` is also a field name of Field

# The classes below are written by hand instead of with
# ``@dataclass(frozen=True)``: creating seven dataclasses at import ran
# ``exec`` for every generated method and pulled in ``dataclasses`` ->
# ``inspect``/``ast``/``dis``, ~20 ms that every CLI command paid (issue 5,
# bench/cli_speed.py).  Behaviour is that of frozen dataclasses: keyword or
# positional construction with defaults, assignment raises
# FrozenInstanceError (an AttributeError), ``==`` compares the fields of the
# same class, hashable, ``repr`` as dataclasses print it (never the
# password).  ``__match_args__`` lists the fields in order.


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen settings object."""


class _Frozen:
    """Equality, hash, repr and immutability from ``__match_args__``."""

    __match_args__: tuple[str, ...] = ()
    _compare: tuple[str, ...] | None = None  # fields for ==/hash if not all (compare=False)

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _astuple(self) -> tuple[Any, ...]:
        names = self.__match_args__ if self._compare is None else self._compare
        return tuple(getattr(self, name) for name in names)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._astuple() == other._astuple()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._astuple())

    def __repr__(self) -> str:
        return (self.__class__.__qualname__ + "("
                + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__match_args__) + ")")


class Field(_Frozen):
    """One setting: its key path, type, default, allowed values and meaning."""

    __match_args__ = ("path", "type", "default", "help", "manual_id", "choices", "secret",
                      "minimum", "maximum", "short")
    path: str
    type: type
    default: Value
    help: str  # English, marked with N_ for translation; the manual's meaning
    manual_id: str  # M1..M15 in ../shared/reference
    choices: tuple[str, ...]
    secret: bool
    minimum: int | None
    maximum: int | None
    short: str  # one line (<= 70 characters), N_-marked: the basic-mode help line

    def __init__(self, path: str, type: _Type, default: Value, help: str,  # noqa: A002
                 manual_id: str = "", choices: tuple[str, ...] = (), secret: bool = False,
                 minimum: int | None = None, maximum: int | None = None,
                 short: str = "") -> None:
        self._init(path=path, type=type, default=default, help=help, manual_id=manual_id,
                   choices=choices, secret=secret, minimum=minimum, maximum=maximum,
                   short=short or help)


FIELDS: dict[str, Field] = {
    f.path: f
    for f in (
        Field(
            "appliance.deployment", str, "on-premises",
            N_("How the appliance runs: \"on-premises\" or \"cloud\". In the cloud the "
               "sender address must be changed from the default."),
            "M4", choices=("on-premises", "cloud"),
            short=N_("On-premises, or cloud (then change the sender address)."),
        ),
        Field(
            "mail.relay", str, "internal",
            N_("\"internal\" sends through the local sendmail; \"external\" through the SMTP "
               "server below. An external server is recommended: receivers' SPF/DMARC "
               "filters often block the internal one."),
            "M1", choices=("internal", "external"),
            short=N_("Internal: local sendmail. External (recommended): SMTP server."),
        ),
        Field(
            "mail.sender", str, "pbx@example.com",
            N_("Sender (From) address of every mail the appliance sends. Change it so that "
               "replies reach a real mailbox."),
            "M3",
            short=N_("From address of all mails."),
        ),
        Field(
            "mail.sender_name", str, "",
            N_("Optional display name shown with the sender address."),
            short=N_("Optional name shown with the sender address."),
        ),
        Field(
            "mail.html", bool, True,
            N_("true: every mail carries HTML branding with the logo; false: every mail is "
               "plain text without logo."),
            "M6",
            short=N_("On: HTML with logo; off: plain text."),
        ),
        Field(
            "mail.test_recipient", str, "",
            N_("Default recipient of the test mail."),
            "M5",
            short=N_("Default recipient of the test mail."),
        ),
        Field(
            "mail.internal.sendmail", str, "/usr/sbin/sendmail",
            N_("Path of the local sendmail program used by the internal relay."),
            "M1",
            short=N_("Path of the local sendmail program."),
        ),
        Field(
            "mail.smtp.server", str, "",
            N_("IPv4 address, host name or [IPv6] address of the SMTP server; append "
               "another port than 25 after a colon, e.g. 192.0.2.10:587."),
            "M7",
            short=N_("Host or IP; another port after a colon, e.g. 192.0.2.10:587."),
        ),
        Field(
            "mail.smtp.security", str, "starttls",
            N_("\"tls\": encrypted from the first byte, usually port 465; \"starttls\": plain "
               "connection upgraded with STARTTLS, usually port 587; \"none\": unencrypted, "
               "discouraged."),
            "M10", choices=("tls", "starttls", "none"),
            short=N_("TLS: port 465; STARTTLS: port 587; unencrypted: avoid."),
        ),
        Field(
            "mail.smtp.verify_certificates", bool, True,
            N_("Check the server's certificate (trusted issuer, host name, validity) when "
               "connecting."),
            "M13",
            short=N_("Check the server's certificate when connecting."),
        ),
        Field(
            "mail.smtp.ca_file", str, "",
            N_("Optional PEM file with CA certificates to trust besides the system store."),
            "M13",
            short=N_("Optional PEM file with more CA certificates to trust."),
        ),
        Field(
            "mail.smtp.authentication", bool, True,
            N_("Log in to the SMTP server with user name and password (SMTP AUTH). Most "
               "servers want this."),
            "M14",
            short=N_("Log in with user name and password (SMTP AUTH)."),
        ),
        Field(
            "mail.smtp.username", str, "",
            N_("User name for the mail server (SMTP AUTH or SMTP after POP3)."),
            "M8",
            short=N_("Login name at the mail server."),
        ),
        Field(
            "mail.smtp.password", str, "",
            N_("Password for the mail server. Never shown, logged or printed."),
            "M9", secret=True,
            short=N_("Never shown, logged or printed."),
        ),
        Field(
            "mail.smtp.allow_plaintext_auth", bool, False,
            N_("Allow sending the user name and password over an unencrypted connection. "
               "Leave false unless the link itself is trusted."),
            short=N_("Allow the login over an unencrypted link (trusted links only)."),
        ),
        Field(
            "mail.smtp.timeout", int, 15,
            N_("Seconds allowed for the whole conversation with the server."),
            minimum=1, maximum=600,
            short=N_("Seconds for the whole conversation with the server."),
        ),
        Field(
            "mail.pop3.enabled", bool, False,
            N_("Log in to the POP3 inbox first; that authorises sending (the alternative "
               "login). Needs \"SMTP with authentication\" set to no."),
            "M15",
            short=N_("Log in to POP3 first; needs SMTP with authentication: no."),
        ),
        Field(
            "mail.pop3.server", str, "",
            N_("Written as host[:port]; default port 110, or 995 with security \"tls\"."),
            "M15",
            short=N_("host[:port]; port 110, or 995 with security TLS."),
        ),
        Field(
            "queue.dir", str, "/var/spool/mailconsole",
            N_("Directory of the outgoing queue (spool): mail is written here before it is "
               "sent, and waits here while the server cannot take it. Not used with the "
               "internal relay (the local mail system queues)."),
            short=N_("Directory of the outgoing queue (spool)."),
        ),
        Field(
            "queue.lifetime_hours", int, 120,
            N_("Hours a mail keeps being retried (1, 5, 15, 30 minutes, then hourly) "
               "before it is given up and moved to failed."),
            minimum=1, maximum=720,
            short=N_("Hours a waiting mail is retried before it fails."),
        ),
        Field(
            "queue.notify", str, "",
            N_("Address that gets one notice when mail fails (empty: no notice). A notice "
               "is never sent about a failed notice."),
            short=N_("Address told when mail fails (empty: nobody)."),
        ),
    )
}

SECRET_KEYS = frozenset(p for p, f in FIELDS.items() if f.secret)
REDACTED = "********"


def field_help(path: str) -> str:
    """The translated help text of ``path``."""
    return _(FIELDS[path].help)


def field_short_help(path: str) -> str:
    """The translated one-line help of ``path`` (basic mode's help line: every
    byte counts on a serial line; the full text is on the help screen)."""
    return _(FIELDS[path].short)


# --- the typed view -------------------------------------------------------


class Appliance(_Frozen):
    __match_args__ = ("deployment",)
    deployment: str

    def __init__(self, deployment: str = "on-premises") -> None:
        self._init(deployment=deployment)


class Internal(_Frozen):
    __match_args__ = ("sendmail",)
    sendmail: str

    def __init__(self, sendmail: str = "/usr/sbin/sendmail") -> None:
        self._init(sendmail=sendmail)


class Smtp(_Frozen):
    __match_args__ = ("server", "security", "verify_certificates", "ca_file", "authentication",
                      "username", "password", "allow_plaintext_auth", "timeout")
    server: str
    security: str
    verify_certificates: bool
    ca_file: str
    authentication: bool
    username: str
    password: str
    allow_plaintext_auth: bool
    timeout: int

    def __init__(self, server: str = "", security: str = "starttls",
                 verify_certificates: bool = True, ca_file: str = "",
                 authentication: bool = True, username: str = "", password: str = "",
                 allow_plaintext_auth: bool = False, timeout: int = 15) -> None:
        self._init(server=server, security=security, verify_certificates=verify_certificates,
                   ca_file=ca_file, authentication=authentication, username=username,
                   password=password, allow_plaintext_auth=allow_plaintext_auth,
                   timeout=timeout)

    def __repr__(self) -> str:  # never the password
        shown = {
            name: (REDACTED if name == "password" and self.password else getattr(self, name))
            for name in self.__match_args__
        }
        return "Smtp(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


class Pop3(_Frozen):
    __match_args__ = ("enabled", "server")
    enabled: bool
    server: str

    def __init__(self, enabled: bool = False, server: str = "") -> None:
        self._init(enabled=enabled, server=server)


class Mail(_Frozen):
    __match_args__ = ("relay", "sender", "sender_name", "html", "test_recipient", "internal",
                      "smtp", "pop3")
    relay: str
    sender: str
    sender_name: str
    html: bool
    test_recipient: str
    internal: Internal
    smtp: Smtp
    pop3: Pop3

    def __init__(self, relay: str = "internal", sender: str = "pbx@example.com",
                 sender_name: str = "", html: bool = True, test_recipient: str = "",
                 internal: Internal | None = None, smtp: Smtp | None = None,
                 pop3: Pop3 | None = None) -> None:
        self._init(relay=relay, sender=sender, sender_name=sender_name, html=html,
                   test_recipient=test_recipient,
                   internal=Internal() if internal is None else internal,
                   smtp=Smtp() if smtp is None else smtp,
                   pop3=Pop3() if pop3 is None else pop3)


class Queue(_Frozen):
    __match_args__ = ("dir", "lifetime_hours", "notify")
    dir: str
    lifetime_hours: int
    notify: str

    def __init__(self, dir: str = "/var/spool/mailconsole",  # noqa: A002
                 lifetime_hours: int = 120, notify: str = "") -> None:
        self._init(dir=dir, lifetime_hours=lifetime_hours, notify=notify)


class Settings(_Frozen):
    """One complete configuration.  Immutable; derive changed copies with
    :meth:`with_values`.  ``repr`` never shows the password."""

    __match_args__ = ("appliance", "mail", "queue")
    appliance: Appliance
    mail: Mail
    queue: Queue

    def __init__(self, appliance: Appliance | None = None, mail: Mail | None = None,
                 queue: Queue | None = None) -> None:
        self._init(appliance=Appliance() if appliance is None else appliance,
                   mail=Mail() if mail is None else mail,
                   queue=Queue() if queue is None else queue)

    # -- access by key path ------------------------------------------------
    def get(self, path: str) -> Value:
        if path not in FIELDS:
            raise KeyError(path)
        node: Any = self
        for part in path.split("."):
            node = getattr(node, part)
        return node  # type: ignore[no-any-return]

    def to_flat(self) -> dict[str, Value]:
        """``{key path: value}`` for every field, in schema order."""
        return {path: self.get(path) for path in FIELDS}

    def to_nested(self) -> dict[str, Any]:
        """Nested plain dict, as ``tomllib`` would load a complete file."""
        out: dict[str, Any] = {}
        for path, value in self.to_flat().items():
            *tables, leaf = path.split(".")
            node = out
            for t in tables:
                node = node.setdefault(t, {})
            node[leaf] = value
        return out

    def with_values(self, values: Mapping[str, Value]) -> Settings:
        """A copy with the given key paths replaced (types are checked)."""
        flat = self.to_flat()
        for path, value in values.items():
            flat[path] = check_type(path, value)
        return Settings.from_flat(flat)

    def changed_keys(self, other: Settings) -> list[str]:
        a, b = self.to_flat(), other.to_flat()
        return [p for p in FIELDS if a[p] != b[p]]

    # -- construction ------------------------------------------------------
    @classmethod
    def from_flat(cls, flat: Mapping[str, Value]) -> Settings:
        """Build from ``{key path: value}``; missing keys take their defaults."""
        values = {p: check_type(p, flat.get(p, f.default)) for p, f in FIELDS.items()}

        def sub(prefix: str, klass: type[_Frozen]) -> Any:
            kwargs = {
                name: values[f"{prefix}.{name}"]
                for name in klass.__match_args__
                if f"{prefix}.{name}" in values
            }
            return klass(**kwargs)

        return cls(
            appliance=sub("appliance", Appliance),
            mail=Mail(
                relay=values["mail.relay"],  # type: ignore[arg-type]
                sender=values["mail.sender"],  # type: ignore[arg-type]
                sender_name=values["mail.sender_name"],  # type: ignore[arg-type]
                html=values["mail.html"],  # type: ignore[arg-type]
                test_recipient=values["mail.test_recipient"],  # type: ignore[arg-type]
                internal=sub("mail.internal", Internal),
                smtp=sub("mail.smtp", Smtp),
                pop3=sub("mail.pop3", Pop3),
            ),
            queue=sub("queue", Queue),
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Build from nested data as loaded from TOML.  Unknown keys are ignored
        here (the store keeps them in the file); a known key with the wrong
        type, or a known table that is not a table, raises ConfigTypeError."""
        return cls.from_flat(flatten_known(data))


def flatten_known(data: Mapping[str, Any]) -> dict[str, Value]:
    """``{key path: value}`` for the known keys present in nested ``data``."""
    flat: dict[str, Value] = {}
    for path in FIELDS:
        node: Any = data
        parts = path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, Mapping):
                raise ConfigTypeError(
                    ".".join(parts[:i]),
                    _("must be a table, not {value!r}").format(value=node),
                )
            if part not in node:
                break
            node = node[part]
        else:
            flat[path] = node
    return flat


def check_type(path: str, value: Any) -> Value:
    """Return ``value`` if it has the type of ``path``; else raise ConfigTypeError."""
    f = FIELDS.get(path)
    if f is None:
        raise ConfigTypeError(path, _("is not a known setting"))
    ok = isinstance(value, f.type) and not (f.type is int and isinstance(value, bool))
    if not ok:
        shown = REDACTED if f.secret else repr(value)
        raise ConfigTypeError(
            path,
            _("must be {type}, not {value}").format(type=type_name(f.type), value=shown),
        )
    return value  # type: ignore[no-any-return]


def type_name(t: type) -> str:
    return {str: _("a string"), bool: _("true or false"), int: _("a whole number")}[t]


def parse_value(path: str, text: str) -> Value:
    """Parse command-line text into the type of ``path`` (``true``, ``25``, ``x``)."""
    f = FIELDS.get(path)
    if f is None:
        raise ConfigTypeError(path, _("is not a known setting"))
    if f.type is bool:
        low = text.strip().lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ConfigTypeError(path, _("must be true or false, not {value!r}").format(value=text))
    if f.type is int:
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise ConfigTypeError(
                path, _("must be a whole number, not {value!r}").format(value=text)
            ) from None
    return text


DEFAULTS = Settings()
