"""The settings model: every key path, its type, default and meaning.

``FIELDS`` is the single source of truth for the key paths (a contract with
provisioning scripts), their types and defaults, the commented template, the
CLI's value parsing and the TUI's help line.  :class:`Settings` is an
immutable, typed view of one complete configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from config.errors import ConfigTypeError
from config.i18n import N_, _

Value = str | bool | int
_Type = type  # `type` is also a field name of Field


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: its key path, type, default, allowed values and meaning."""

    path: str
    type: _Type
    default: Value
    help: str  # English, marked with N_ for translation; the manual's meaning
    manual_id: str = ""  # M1..M15, the vendor manual's element (docs/reference.md)
    choices: tuple[str, ...] = ()
    secret: bool = False
    minimum: int | None = None
    maximum: int | None = None
    short: str = ""  # one line (<= 70 characters), N_-marked: the basic-mode help line

    def __post_init__(self) -> None:
        if not self.short:
            object.__setattr__(self, "short", self.help)


FIELDS: dict[str, Field] = {
    f.path: f
    for f in (
        Field(
            "appliance.deployment", str, "on-premises",
            N_("How the appliance runs: on-premises or cloud. In the cloud the sender "
               "address must be changed from the default."),
            "M4", choices=("on-premises", "cloud"),
            short=N_("On-premises, or cloud (then change the sender address)."),
        ),
        Field(
            "mail.relay", str, "internal",
            N_("Internal sends through the local sendmail; external through the SMTP "
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
            N_("Ticked (yes): every mail carries HTML branding with the logo; not ticked "
               "(no): every mail is plain text without logo."),
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
            N_("TLS: encrypted from the first byte, usually port 465; STARTTLS: plain "
               "connection upgraded with STARTTLS, usually port 587; unencrypted: "
               "discouraged. (In the file: tls, starttls, none.)"),
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
            "mail.smtp.auth_method", str, "password",
            N_("While SMTP authentication is on: \"password\" (user name and password) or "
               "\"oauth2\" (an OAuth2 token, [mail.smtp.oauth2]: Microsoft 365, Google "
               "Workspace)."),
            choices=("password", "oauth2"),
            short=N_("Password, or OAuth2 token (Microsoft 365, Google)."),
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
               "Leave it off (no) unless the link itself is trusted."),
            short=N_("Allow the login over an unencrypted link (trusted links only)."),
        ),
        Field(
            "mail.smtp.ehlo_name", str, "",
            N_("The name in EHLO. Empty: the host name if fully qualified, else the "
               "appliance's address in brackets (RFC 5321). Set a full name such as "
               "pbx.example.com if the server wants one."),
            short=N_("Empty: automatic; else a full name such as pbx.example.com."),
        ),
        Field(
            "mail.smtp.timeout", int, 15,
            N_("Seconds allowed for the whole conversation with the server."),
            minimum=1, maximum=600,
            short=N_("Seconds for the whole conversation with the server."),
        ),
        Field(
            "mail.smtp.oauth2.flow", str, "client_credentials",
            N_("How the access token is obtained: \"client_credentials\" (an app's own "
               "secret or certificate, Microsoft 365), \"jwt_bearer\" (a signed assertion, "
               "Google service account), or \"device_code\" (a person signs in once with "
               "'mailconsole oauth login')."),
            choices=("client_credentials", "jwt_bearer", "device_code"),
            short=N_("client_credentials, jwt_bearer or device_code."),
        ),
        Field(
            "mail.smtp.oauth2.token_url", str, "",
            N_("The provider's token endpoint (https). \"{tenant}\" is replaced by the "
               "tenant below."),
            short=N_("Token endpoint (https); {tenant} is replaced."),
        ),
        Field(
            "mail.smtp.oauth2.device_authorization_url", str, "",
            N_("The provider's device authorization endpoint (https), for flow "
               "\"device_code\". \"{tenant}\" is replaced by the tenant below."),
            short=N_("Device authorization endpoint (device_code only)."),
        ),
        Field(
            "mail.smtp.oauth2.client_id", str, "",
            N_("The application (client) id registered with the provider; for a Google "
               "service account its e-mail address (client_email)."),
            short=N_("Application (client) id."),
        ),
        Field(
            "mail.smtp.oauth2.client_secret", str, "",
            N_("The application's client secret. Never shown, logged or printed; set it "
               "with 'mailconsole set --client-secret-stdin'."),
            secret=True,
            short=N_("Never shown, logged or printed."),
        ),
        Field(
            "mail.smtp.oauth2.tenant", str, "",
            N_("Microsoft 365: the directory (tenant) id or domain, e.g. contoso.com."),
            short=N_("Microsoft 365 tenant id or domain."),
        ),
        Field(
            "mail.smtp.oauth2.scope", str, "",
            N_("The scope the token is asked for, e.g. "
               "https://outlook.office365.com/.default or https://mail.google.com/."),
            short=N_("Scope of the token."),
        ),
        Field(
            "mail.smtp.oauth2.subject", str, "",
            N_("jwt_bearer: the mailbox the service account acts for (domain-wide "
               "delegation); empty: the user name."),
            short=N_("Mailbox a service account acts for (default: user)."),
        ),
        Field(
            "mail.smtp.oauth2.key_file", str, "",
            N_("jwt_bearer or certificate credentials: absolute path of the private key (PEM) "
               "or of the service account's JSON key file; keep it mode 0600."),
            short=N_("Private key (PEM) or service-account JSON file."),
        ),
        Field(
            "mail.pop3.enabled", bool, False,
            N_("Log in to the POP3 inbox first; that authorises sending (the alternative "
               "login). Needs SMTP with authentication set to no."),
            "M15",
            short=N_("Log in to POP3 first; needs SMTP with authentication: no."),
        ),
        Field(
            "mail.pop3.server", str, "",
            N_("Written as host[:port]; default port 110, or 995 with security TLS."),
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


@dataclass(frozen=True, slots=True)
class Appliance:
    deployment: str = "on-premises"


@dataclass(frozen=True, slots=True)
class Internal:
    sendmail: str = "/usr/sbin/sendmail"


@dataclass(frozen=True, slots=True)
class OAuth2:
    flow: str = "client_credentials"
    token_url: str = ""
    device_authorization_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    tenant: str = ""
    scope: str = ""
    subject: str = ""
    key_file: str = ""

    def __repr__(self) -> str:  # never the client secret
        shown = {
            f.name: (REDACTED if f.name == "client_secret" and self.client_secret
                     else getattr(self, f.name))
            for f in fields(self)
        }
        return "OAuth2(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


@dataclass(frozen=True, slots=True)
class Smtp:
    server: str = ""
    security: str = "starttls"
    verify_certificates: bool = True
    ca_file: str = ""
    authentication: bool = True
    auth_method: str = "password"
    username: str = ""
    password: str = ""
    allow_plaintext_auth: bool = False
    ehlo_name: str = ""
    timeout: int = 15
    oauth2: OAuth2 = field(default_factory=OAuth2)

    def __repr__(self) -> str:  # never the password
        shown = {
            f.name: (REDACTED if f.name == "password" and self.password
                     else getattr(self, f.name))
            for f in fields(self)
        }
        return "Smtp(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


@dataclass(frozen=True, slots=True)
class Pop3:
    enabled: bool = False
    server: str = ""


@dataclass(frozen=True, slots=True)
class Mail:
    relay: str = "internal"
    sender: str = "pbx@example.com"
    sender_name: str = ""
    html: bool = True
    test_recipient: str = ""
    internal: Internal = field(default_factory=Internal)
    smtp: Smtp = field(default_factory=Smtp)
    pop3: Pop3 = field(default_factory=Pop3)


@dataclass(frozen=True, slots=True)
class Queue:
    dir: str = "/var/spool/mailconsole"
    lifetime_hours: int = 120
    notify: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """One complete configuration.  Immutable; derive changed copies with
    :meth:`with_values`.  ``repr`` never shows the password."""

    appliance: Appliance = field(default_factory=Appliance)
    mail: Mail = field(default_factory=Mail)
    queue: Queue = field(default_factory=Queue)

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

        def sub(prefix: str, klass: type[Any], **more: Any) -> Any:
            return klass(**{f.name: values[f"{prefix}.{f.name}"] for f in fields(klass)
                            if f"{prefix}.{f.name}" in values}, **more)

        return cls(
            appliance=sub("appliance", Appliance),
            mail=Mail(
                relay=values["mail.relay"],  # type: ignore[arg-type]
                sender=values["mail.sender"],  # type: ignore[arg-type]
                sender_name=values["mail.sender_name"],  # type: ignore[arg-type]
                html=values["mail.html"],  # type: ignore[arg-type]
                test_recipient=values["mail.test_recipient"],  # type: ignore[arg-type]
                internal=sub("mail.internal", Internal),
                smtp=sub("mail.smtp", Smtp, oauth2=sub("mail.smtp.oauth2", OAuth2)),
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


# The screen's words for a choice, accepted on the command line besides the
# values themselves (any case): `security=TLS`, `security=unencrypted`.
CHOICE_WORDS: dict[str, dict[str, str]] = {
    "mail.smtp.security": {"unencrypted": "none"},
}


def parse_value(path: str, text: str) -> Value:
    """Parse command-line text into the type of ``path`` (``true``, ``25``, ``x``).

    A choice is matched without regard to case, and the screen's word for it
    is accepted too (``TLS``, ``STARTTLS``, ``unencrypted`` for tls, starttls,
    none); anything else is kept as typed (validation names the choices)."""
    f = FIELDS.get(path)
    if f is None:
        raise ConfigTypeError(path, _("is not a known setting"))
    if f.choices:
        low = text.strip().lower()
        low = CHOICE_WORDS.get(path, {}).get(low, low)
        return low if low in f.choices else text
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
