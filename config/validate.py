"""Validation: one function used by the TUI, the CLI and the mailer.

INTERFACE (contract for the other layers; the config helper implements it):

    validate(settings, *, file_mode=None) -> list[Problem]

``Problem.key`` is a key path from config.model.FIELDS; ``severity`` is
"error" or "warning"; ``message`` says why and how to fix, already
translated; ``fix`` is an optional one-key fix ``{key path: new value}``
(e.g. {"mail.smtp.server": "smtp.example.com:587"} for a port/security
mismatch).  ``str(problem)`` is ``"<key>: <message>"``.

Helpers for the other layers (same rules as ``validate``):

    parse_host(text, default_port) -> (host, port)
        ``host`` is an IPv4 address, an ASCII (IDNA-encoded) DNS name, or an
        IPv6 address *without* brackets, ready for ``socket.create_connection``.
        Raises ValueError whose ``str()`` is a translated reason naming the value,
        e.g. '"101.202.303.404" is not a valid IPv4 address (303 > 255)'.
    split_host(text, default_port) -> (host_as_written, port)
        Like parse_host but the host as the user wrote it (brackets kept for IPv6).
    check_address(text) -> str | None
        None if ``text`` is exactly one bare addr-spec; else the reason.
    check_host(text) -> str | None      (a host name or address without port)

Rules for mail.smtp.* and mail.pop3.* that involve more than one field only
apply while ``mail.relay = "external"``; a value that can never be valid
(e.g. a malformed server) is an error whatever the relay.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from config.i18n import _
from config.model import FIELDS, Settings, Value
from config.text import has_encoded_word

ERROR = "error"
WARNING = "warning"

DEFAULT_SENDER = "pbx@example.com"
SMTP_PORT = 25
SUBMISSION_PORT = 587
SMTPS_PORT = 465
POP3_PORT = 110
POP3S_PORT = 995


@dataclass(frozen=True, slots=True)
class Problem:
    key: str
    severity: str  # "error" | "warning"
    message: str
    fix: dict[str, Value] | None = field(default=None, compare=False)
    fix_label: str = ""  # short label for the one-key fix, e.g. "use port 587"

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


# --- hosts and ports -------------------------------------------------------

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_NUMERIC_HOST = re.compile(r"^[0-9.]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def _is_label(text: str) -> bool:
    return bool(_LABEL.match(text))


def _is_numeric_host(text: str) -> bool:
    return bool(_NUMERIC_HOST.match(text))


def _has_control(text: str) -> bool:
    return bool(_CONTROL.search(text))


def _idna(name: str) -> str:
    return name.encode("idna").decode("ascii")


def _check_ipv4(text: str) -> str | None:
    parts = text.split(".")
    if len(parts) != 4 or any(p == "" for p in parts):
        return _('"{value}" is not a valid IPv4 address (it needs four numbers 0-255 '
                 'separated by dots, e.g. 192.0.2.10)').format(value=text)
    for p in parts:
        n = int(p)
        if n > 255:
            return _('"{value}" is not a valid IPv4 address ({part} > 255)').format(
                value=text, part=p)
        if len(p) > 1 and p[0] == "0":
            return _('"{value}" is not a valid IPv4 address (leading zero in {part} is '
                     'ambiguous; write {fixed})').format(value=text, part=p, fixed=n)
    return None


def _check_dns_name(text: str) -> tuple[str | None, str]:
    """(reason or None, ASCII form)."""
    name = text[:-1] if text.endswith(".") else text
    if not name:
        return _('"{value}" is not a valid host name').format(value=text), ""
    if "_" in name:
        return _('"{value}" is not a valid host name (a host name may not contain "_")'
                 ).format(value=text), ""
    try:
        ascii_name = _idna(name)
    except UnicodeError:
        return _('"{value}" is not a valid host name (each part between dots must be 1 '
                 'to 63 letters, digits or "-")').format(value=text), ""
    if len(ascii_name) > 253:
        return _('"{value}" is not a valid host name (longer than 253 characters)'
                 ).format(value=text), ""
    labels = ascii_name.split(".")
    for label in labels:
        if not _is_label(label):
            return _('"{value}" is not a valid host name ("{label}": each part between dots '
                     'must be 1 to 63 letters, digits or "-", not starting or ending '
                     'with "-")').format(value=text, label=label), ""
    if labels[-1].isdigit():
        return _('"{value}" is not a valid host name (the last part must not be all '
                 'digits)').format(value=text), ""
    return None, ascii_name.lower()


def _check_host_part(host: str) -> tuple[str | None, str]:
    """Check a host without port; (reason or None, connectable host)."""
    if not host:
        return _("the host name is missing"), ""
    if host.startswith("["):
        if not host.endswith("]"):
            return _('"{value}" is not a valid IPv6 address (the closing "]" is missing)'
                     ).format(value=host), ""
        inner = host[1:-1]
        try:
            addr = ipaddress.IPv6Address(inner)
        except ValueError:
            return _('"{value}" is not a valid IPv6 address').format(value=inner), ""
        if "%" in inner:
            return _('"{value}": a zone index (%) is not supported').format(value=inner), ""
        return None, str(addr)
    if ":" in host:
        return _('"{value}" looks like an IPv6 address: write it in brackets, e.g. '
                 '[2001:db8::1]:587').format(value=host), ""
    if _is_numeric_host(host):
        reason = _check_ipv4(host)
        return reason, ("" if reason else host)
    return _check_dns_name(host)


def split_host(text: str, default_port: int) -> tuple[str, int]:
    """Split ``host[:port]`` as written; raise ValueError(reason) if invalid."""
    if not isinstance(text, str) or text == "":
        raise ValueError(_("is empty: enter a host name or address"))
    if _has_control(text) or any(c.isspace() for c in text):
        raise ValueError(_("contains a space or a control character; remove it"))
    if text.startswith("-"):
        raise ValueError(_('must not start with "-"'))
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise ValueError(_('"{value}": the closing "]" of the IPv6 address is missing'
                               ).format(value=text))
        host, rest = text[: end + 1], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(_('"{value}": after "]" only ":port" may follow'
                                   ).format(value=text))
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    reason, _ascii = _check_host_part(host)
    if reason:
        raise ValueError(reason)
    port = default_port
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit():
            raise ValueError(_('"{port}" is not a port number (a whole number from 1 to '
                               '65535)').format(port=port_text))
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise ValueError(_("port {port} is out of range (1 to 65535)").format(port=port))
    return host, port


def parse_host(text: str, default_port: int) -> tuple[str, int]:
    """``host[:port]`` -> (connectable host, port); ValueError(reason) if invalid."""
    host, port = split_host(text, default_port)
    _reason, connectable = _check_host_part(host)
    return connectable, port


def check_host(text: str) -> str | None:
    """Reason why ``text`` is not a host (without port), or None."""
    if _has_control(text) or any(c.isspace() for c in text):
        return _("contains a space or a control character; remove it")
    return _check_host_part(text)[0]


# --- mail addresses ----------------------------------------------------------

def _is_dot_atom(text: str) -> bool:
    return bool(_ATEXT.match(text))


def check_address(text: str) -> str | None:
    """None if ``text`` is exactly one bare addr-spec (local@domain), else the reason."""
    if text == "":
        return _("is empty: enter a mail address such as pbx@example.com")
    if _has_control(text):
        return _("contains a line break, tab or other control character; remove it")
    if text.startswith("-"):
        return _('must not start with "-"')
    if "<" in text or ">" in text or '"' in text:
        return _("enter only the address, e.g. pbx@example.com, without a display name "
                 "or angle brackets (the name belongs in mail.sender_name)")
    if "," in text or ";" in text:
        return _("must be exactly one address")
    if any(c.isspace() for c in text):
        return _("must not contain spaces")
    if text.count("@") != 1:
        if "@" not in text:
            return _('"{value}" is not a mail address (the "@" is missing)').format(value=text)
        return _("must be exactly one address (it contains more than one \"@\")")
    local, domain = text.split("@")
    if not local:
        return _('"{value}": the part before "@" is missing').format(value=text)
    if len(local) > 64:
        return _('"{value}": the part before "@" is longer than 64 characters'
                 ).format(value=text)
    if not _is_dot_atom(local):
        return _('"{value}": the part before "@" may only contain letters a-z, digits, '
                 '"." (not at the start, the end or twice in a row) and '
                 "!#$%&'*+/=?^_`{{|}}~-").format(value=text)
    if not domain:
        return _('"{value}": the domain after "@" is missing').format(value=text)
    if domain.startswith("[") and domain.endswith("]"):
        inner = domain[1:-1]
        try:
            ipaddress.IPv4Address(inner)
        except ValueError:
            try:
                if not inner.lower().startswith("ipv6:"):
                    raise ValueError(inner) from None
                ipaddress.IPv6Address(inner[5:])
            except ValueError:
                return _('"{value}": "{domain}" is not a valid address literal'
                         ).format(value=text, domain=domain)
        return None
    reason, ascii_domain = _check_dns_name(domain)
    if reason:
        return reason
    if len(local) + 1 + len(ascii_domain) > 254:
        return _('"{value}" is longer than 254 characters').format(value=text)
    return None


# --- validate ----------------------------------------------------------------


def _text_problem(key: str, value: str) -> Problem | None:
    if _has_control(value):
        return Problem(key, ERROR, _("contains a line break, tab or other control character; "
                                     "remove it"))
    if key == "mail.sender_name" and has_encoded_word(value):
        return Problem(key, ERROR, _('contains an encoded-word ("=?...?="): type the name '
                                     "itself, the mailer encodes it"))
    return None


def _ehlo_name_problem(name: str) -> str:
    """Why ``name`` cannot be the EHLO name ("" if it can): RFC 5321 4.1.1.1
    wants a fully-qualified domain name or an address literal."""
    if name.startswith("[") and name.endswith("]"):
        inner = name[1:-1]
        try:
            if inner.lower().startswith("ipv6:"):
                ipaddress.IPv6Address(inner[5:])
            else:
                ipaddress.IPv4Address(inner)
        except ValueError:
            return _("is not a valid address literal: write [192.0.2.1] or "
                     "[IPv6:2001:db8::1]")
        return ""
    labels = name.removesuffix(".").split(".")
    if len(labels) < 2 or labels[-1].isdigit() or not all(
            0 < len(label) <= 63 and label.isascii() and not label.startswith("-")
            and not label.endswith("-") and all(c.isalnum() or c == "-" for c in label)
            for label in labels):
        return _("must be a fully-qualified host name such as pbx.example.com, or an "
                 "address literal such as [192.0.2.1]")
    return ""


def validate(settings: Settings, *, file_mode: int | None = None) -> list[Problem]:
    """All errors and warnings of ``settings``.

    ``file_mode`` is the config file's ``st_mode`` (if known): a password in a
    file that group or others may read gives a warning.
    """
    p: list[Problem] = []
    s = settings
    smtp, pop3 = s.mail.smtp, s.mail.pop3
    external = s.mail.relay == "external"

    def err(key: str, message: str) -> None:
        p.append(Problem(key, ERROR, message))

    def warn(key: str, message: str, fix: dict[str, Value] | None = None,
             label: str = "") -> None:
        p.append(Problem(key, WARNING, message, fix, label))

    # choices and ranges
    for path, f in FIELDS.items():
        value = s.get(path)
        if f.choices and value not in f.choices:
            err(path, _('"{value}" is not allowed: use one of {choices}').format(
                value=value, choices=", ".join(f'"{c}"' for c in f.choices)))
        if f.type is int and isinstance(value, int):
            if (f.minimum is not None and value < f.minimum) or (
                    f.maximum is not None and value > f.maximum):
                err(path, _("{value} is out of range: use {minimum} to {maximum}").format(
                    value=value, minimum=f.minimum, maximum=f.maximum))

    # addresses and free text
    reason = check_address(s.mail.sender)
    if reason:
        err("mail.sender", reason)
    elif s.appliance.deployment == "cloud" and s.mail.sender.lower() == DEFAULT_SENDER:
        err("mail.sender", _("the default sender {sender} is not accepted in the cloud "
                             "(M4): enter an address of your own domain").format(
                                 sender=DEFAULT_SENDER))
    if s.mail.test_recipient:
        reason = check_address(s.mail.test_recipient)
        if reason:
            err("mail.test_recipient", reason)
    for key in ("mail.sender_name", "mail.smtp.username", "mail.smtp.ca_file",
                "mail.internal.sendmail"):
        tp = _text_problem(key, str(s.get(key)))
        if tp:
            p.append(tp)
    if _has_control(smtp.password):
        err("mail.smtp.password", _("contains a line break or other control character; "
                                    "enter it again"))
    if smtp.ehlo_name:
        reason = _ehlo_name_problem(smtp.ehlo_name)
        if reason:
            err("mail.smtp.ehlo_name", reason)
    if smtp.ca_file and not smtp.ca_file.startswith("/"):
        err("mail.smtp.ca_file", _("must be an absolute path, e.g. /etc/ssl/my-ca.pem"))

    if not external:
        sendmail = s.mail.internal.sendmail
        if not sendmail:
            err("mail.internal.sendmail", _("is empty: enter the path of sendmail, e.g. "
                                            "/usr/sbin/sendmail"))
        elif not sendmail.startswith("/"):
            err("mail.internal.sendmail", _("must be an absolute path, e.g. "
                                            "/usr/sbin/sendmail"))
        warn("mail.relay", _('the internal mail server is often blocked by receivers\' '
                             'SPF/DMARC filters (M2); an external SMTP server is '
                             'recommended'), {"mail.relay": "external"},
             _("use an external server"))

    # server formats: a value that can never work is an error whatever the relay
    smtp_host_port: tuple[str, int] | None = None
    if smtp.server:
        try:
            smtp_host_port = split_host(smtp.server, SMTP_PORT)
        except ValueError as e:
            err("mail.smtp.server", str(e))
    if pop3.server:
        try:
            split_host(pop3.server, POP3_PORT)
        except ValueError as e:
            err("mail.pop3.server", str(e))

    if external:
        if not smtp.server:
            err("mail.smtp.server", _("is required with an external mail server: enter its "
                                      "host name or address, e.g. smtp.example.com:587"))
        if smtp.authentication:
            if not smtp.username:
                err("mail.smtp.username", _("is required while SMTP authentication is on: "
                                            "enter the user name, or turn authentication off"))
            if smtp.auth_method == "oauth2":
                p.extend(_oauth2_problems(s))
            elif not smtp.password:
                err("mail.smtp.password", _("is required while SMTP authentication is on: "
                                            "enter the password, or turn authentication off"))
        if pop3.enabled:
            if smtp.authentication:
                err("mail.pop3.enabled", _("SMTP after POP3 needs SMTP authentication "
                                           "turned off (mail.smtp.authentication = false)"))
                err("mail.smtp.authentication", _("must be off while SMTP after POP3 is "
                                                  "on: turn one of them off"))
            if not pop3.server:
                err("mail.pop3.server", _("is required while SMTP after POP3 is on: enter "
                                          "the POP3 server, e.g. pop3.example.com"))
            if not smtp.username and not smtp.authentication:
                err("mail.smtp.username", _("is required for SMTP after POP3: enter the user "
                                            "name of the POP3 mailbox"))
            if not smtp.password and not smtp.authentication:
                err("mail.smtp.password", _("is required for SMTP after POP3: enter the "
                                            "password of the POP3 mailbox"))

        uses_password = smtp.authentication or pop3.enabled  # a password or a token
        if smtp.security == "none" and uses_password and not smtp.allow_plaintext_auth:
            # what the mailer refuses is an error here too (one verdict, issue 14)
            p.append(Problem("mail.smtp.security", ERROR, _(
                "is unencrypted while a login is on: the appliance never sends a password "
                "unencrypted, so no mail could be sent; choose STARTTLS or TLS (or, on a "
                "trusted link only, set mail.smtp.allow_plaintext_auth = true)"),
                {"mail.smtp.security": "starttls"}, _("use STARTTLS")))
        if smtp.security == "none":
            warn("mail.smtp.security", _("the connection is not encrypted (M12): mails and "
                                         "passwords can be read on the way; use STARTTLS or "
                                         "TLS if the server offers it"))
        elif not smtp.verify_certificates:
            warn("mail.smtp.verify_certificates", _(
                "certificate checks are off: an attacker could pose as the server and read "
                "the password and mails; turn them on unless this is a test"))
        if smtp.authentication and smtp.allow_plaintext_auth:
            warn("mail.smtp.allow_plaintext_auth", _(
                "the user name and password may be sent over an unencrypted connection; "
                "set this to false unless the network path is trusted"),
                {"mail.smtp.allow_plaintext_auth": False}, _("refuse plaintext login"))
        if smtp_host_port is not None:
            host, port = smtp_host_port
            if smtp.security == "tls" and port != SMTPS_PORT:
                warn("mail.smtp.server", _(
                    "security is TLS but the port is {port}: TLS from the first byte is "
                    "usually port 465").format(port=port),
                    {"mail.smtp.server": f"{host}:{SMTPS_PORT}"},
                    _("use port {port}").format(port=SMTPS_PORT))
            elif smtp.security == "starttls" and port == SMTPS_PORT:
                warn("mail.smtp.server", _(
                    "security is STARTTLS but the port is 465, which usually expects TLS from "
                    "the first byte: use port 587, or choose TLS"),
                    {"mail.smtp.server": f"{host}:{SUBMISSION_PORT}"},
                    _("use port {port}").format(port=SUBMISSION_PORT))

    # the outgoing queue
    if s.queue.notify:
        reason = check_address(s.queue.notify)
        if reason:
            err("queue.notify", reason)
    tp = _text_problem("queue.dir", s.queue.dir)
    if tp:
        p.append(tp)
    elif not s.queue.dir.startswith("/"):
        err("queue.dir", _("must be an absolute path, e.g. /var/spool/mailconsole"))

    if smtp.password and file_mode is not None and file_mode & 0o077:
        warn("mail.smtp.password", _(
            "the configuration file holding the password can be read by other users "
            "(mode {mode:04o}): run chmod 600 on it").format(mode=file_mode & 0o7777))
    if smtp.oauth2.client_secret and file_mode is not None and file_mode & 0o077:
        warn("mail.smtp.oauth2.client_secret", _(
            "the configuration file holding the client secret can be read by other users "
            "(mode {mode:04o}): run chmod 600 on it").format(mode=file_mode & 0o7777))
    return p


def _is_loopback_url(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "[::1]") or host.startswith("127.")


def check_url(text: str) -> str | None:
    """Why ``text`` is not a usable token endpoint URL (https, or http on
    loopback for tests), or None."""
    if _has_control(text) or any(c.isspace() for c in text):
        return _("contains a space or a control character; remove it")
    scheme, sep, rest = text.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        host_only = host[: host.find("]") + 1]
    else:
        host_only = host.split(":", 1)[0]
    if not sep or scheme.lower() not in ("https", "http") or not host_only:
        return _('"{value}" is not a URL: write it as https://host/path').format(value=text)
    if scheme.lower() == "http" and not _is_loopback_url(host_only.lower()):
        return _('"{value}": the token travels unencrypted over http; use https').format(
            value=text)
    return None


def _oauth2_problems(s: Settings) -> list[Problem]:
    """The [mail.smtp.oauth2] rules (relay external, authentication on, oauth2)."""
    o = s.mail.smtp.oauth2
    out: list[Problem] = []

    def err(key: str, message: str) -> None:
        out.append(Problem(key, ERROR, message))

    for key in ("mail.smtp.oauth2.client_id", "mail.smtp.oauth2.tenant",
                "mail.smtp.oauth2.scope", "mail.smtp.oauth2.subject",
                "mail.smtp.oauth2.key_file"):
        tp = _text_problem(key, str(s.get(key)))
        if tp:
            out.append(tp)
    if _has_control(o.client_secret):
        err("mail.smtp.oauth2.client_secret", _("contains a line break or other control "
                                                "character; enter it again"))
    if not o.client_id and not (o.flow == "jwt_bearer" and o.key_file.endswith(".json")):
        err("mail.smtp.oauth2.client_id", _("is required for OAuth2: enter the application "
                                            "(client) id registered with the provider"))
    urls = [("mail.smtp.oauth2.token_url", o.token_url)]
    if o.flow == "device_code":
        urls.append(("mail.smtp.oauth2.device_authorization_url", o.device_authorization_url))
    for key, url in urls:
        if not url:
            err(key, _("is required for OAuth2 flow \"{flow}\": enter the provider's "
                       "endpoint, or choose a preset ('mailconsole preset --list')").format(
                           flow=o.flow))
            continue
        reason = check_url(url)
        if reason:
            err(key, reason)
        elif "{tenant}" in url and not o.tenant:
            err("mail.smtp.oauth2.tenant", _("is required: {key} contains {{tenant}}; enter "
                                             "the directory (tenant) id or domain").format(
                                                 key=key))
    if o.flow == "client_credentials" and not (o.client_secret or o.key_file):
        err("mail.smtp.oauth2.client_secret", _(
            "is required for flow \"client_credentials\" (or a certificate in key_file): "
            "set it with 'mailconsole set --client-secret-stdin'"))
    if o.flow == "jwt_bearer" and not o.key_file:
        err("mail.smtp.oauth2.key_file", _(
            "is required for flow \"jwt_bearer\": the path of the service account's JSON "
            "key file or private key (PEM)"))
    if o.key_file and not o.key_file.startswith("/"):
        err("mail.smtp.oauth2.key_file", _("must be an absolute path, e.g. "
                                           "/etc/mailconsole/service-account.json"))
    return out


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]
