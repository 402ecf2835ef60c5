"""The settings model: every key path, its type, default and meaning.

``FIELDS`` is the single source of truth for the key paths (a contract with
provisioning scripts), their types and defaults, the commented template, the
CLI's value parsing and the TUI's help line.  :class:`Settings` is an
immutable, typed view of one complete configuration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config.errors import ConfigTypeError
from config.i18n import N_, _

Value = str | bool | int


@dataclass(frozen=True)
class Field:
    """One setting: its key path, type, default, allowed values and meaning."""

    path: str
    type: type
    default: Value
    help: str  # English, marked with N_ for translation; the manual's meaning
    manual_id: str = ""  # M1..M15 in ../shared/reference
    choices: tuple[str, ...] = ()
    secret: bool = False
    minimum: int | None = None
    maximum: int | None = None


FIELDS: dict[str, Field] = {
    f.path: f
    for f in (
        Field(
            "appliance.deployment", str, "on-premises",
            N_("How the appliance runs: \"on-premises\" or \"cloud\". In the cloud the "
               "sender address must be changed from the default."),
            "M4", choices=("on-premises", "cloud"),
        ),
        Field(
            "mail.relay", str, "internal",
            N_("\"internal\" sends through the local sendmail; \"external\" through the SMTP "
               "server below. An external server is recommended: receivers' SPF/DMARC "
               "filters often block the internal one."),
            "M1", choices=("internal", "external"),
        ),
        Field(
            "mail.sender", str, "pbx@example.com",
            N_("Sender (From) address of every mail the appliance sends. Change it so that "
               "replies reach a real mailbox."),
            "M3",
        ),
        Field(
            "mail.sender_name", str, "",
            N_("Optional display name shown with the sender address."),
        ),
        Field(
            "mail.html", bool, True,
            N_("true: every mail carries HTML branding with the logo; false: every mail is "
               "plain text without logo."),
            "M6",
        ),
        Field(
            "mail.test_recipient", str, "",
            N_("Default recipient of the test mail."),
            "M5",
        ),
        Field(
            "mail.internal.sendmail", str, "/usr/sbin/sendmail",
            N_("Path of the local sendmail program used by the internal relay."),
            "M1",
        ),
        Field(
            "mail.smtp.server", str, "",
            N_("IPv4 address, host name or [IPv6] address of the SMTP server; append "
               "another port than 25 after a colon, e.g. 192.0.2.10:587."),
            "M7",
        ),
        Field(
            "mail.smtp.security", str, "starttls",
            N_("\"tls\": encrypted from the first byte, usually port 465; \"starttls\": plain "
               "connection upgraded with STARTTLS, usually port 587; \"none\": unencrypted, "
               "discouraged."),
            "M10", choices=("tls", "starttls", "none"),
        ),
        Field(
            "mail.smtp.verify_certificates", bool, True,
            N_("Check the server's certificate (trusted issuer, host name, validity) when "
               "connecting."),
            "M13",
        ),
        Field(
            "mail.smtp.ca_file", str, "",
            N_("Optional PEM file with CA certificates to trust besides the system store."),
            "M13",
        ),
        Field(
            "mail.smtp.authentication", bool, True,
            N_("Log in to the SMTP server with user name and password (SMTP AUTH). Most "
               "servers want this."),
            "M14",
        ),
        Field(
            "mail.smtp.username", str, "",
            N_("User name for the mail server (SMTP AUTH or SMTP after POP3)."),
            "M8",
        ),
        Field(
            "mail.smtp.password", str, "",
            N_("Password for the mail server. Never shown, logged or printed."),
            "M9", secret=True,
        ),
        Field(
            "mail.smtp.allow_plaintext_auth", bool, False,
            N_("Allow sending the user name and password over an unencrypted connection. "
               "Leave false unless the link itself is trusted."),
        ),
        Field(
            "mail.smtp.timeout", int, 15,
            N_("Seconds allowed for the whole conversation with the server."),
            minimum=1, maximum=600,
        ),
        Field(
            "mail.pop3.enabled", bool, False,
            N_("SMTP after POP3: log in to the POP3 inbox first, which authorises sending. "
               "Needs \"SMTP with authentication\" set to no."),
            "M15",
        ),
        Field(
            "mail.pop3.server", str, "",
            N_("POP3 server as host[:port]; default port 110, or 995 with security \"tls\"."),
            "M15",
        ),
    )
}

SECRET_KEYS = frozenset(p for p, f in FIELDS.items() if f.secret)
REDACTED = "********"


def field_help(path: str) -> str:
    """The translated help text of ``path``."""
    return _(FIELDS[path].help)


# --- the typed view -------------------------------------------------------


@dataclass(frozen=True)
class Appliance:
    deployment: str = "on-premises"


@dataclass(frozen=True)
class Internal:
    sendmail: str = "/usr/sbin/sendmail"


@dataclass(frozen=True)
class Smtp:
    server: str = ""
    security: str = "starttls"
    verify_certificates: bool = True
    ca_file: str = ""
    authentication: bool = True
    username: str = ""
    password: str = field(default="", repr=False)
    allow_plaintext_auth: bool = False
    timeout: int = 15

    def __repr__(self) -> str:  # belt and braces: never the password
        shown = {
            f.name: (REDACTED if f.name == "password" and self.password else getattr(self, f.name))
            for f in dataclasses.fields(self)
        }
        return "Smtp(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


@dataclass(frozen=True)
class Pop3:
    enabled: bool = False
    server: str = ""


@dataclass(frozen=True)
class Mail:
    relay: str = "internal"
    sender: str = "pbx@example.com"
    sender_name: str = ""
    html: bool = True
    test_recipient: str = ""
    internal: Internal = field(default_factory=Internal)
    smtp: Smtp = field(default_factory=Smtp)
    pop3: Pop3 = field(default_factory=Pop3)


@dataclass(frozen=True)
class Settings:
    """One complete configuration.  Immutable; derive changed copies with
    :meth:`with_values`.  ``repr`` never shows the password."""

    appliance: Appliance = field(default_factory=Appliance)
    mail: Mail = field(default_factory=Mail)

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

        def sub(prefix: str, klass: type) -> Any:
            kwargs = {
                name: values[f"{prefix}.{name}"]
                for name in (f.name for f in dataclasses.fields(klass))
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
