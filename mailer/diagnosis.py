"""Failure classes of a send: what happened and what to change.

This table is the one place where the TUI, the CLI and the docs read the
classes from.  ``CLASSES[cls]`` is ``(message, advice)``, both English and
marked with ``N_`` for extraction; :func:`describe` translates them at call
time (``_()``) and fills named ``{placeholders}``.

A failure class is machine-readable and stable (scripts match on it); the
sentences may change.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.i18n import N_, _

# cls: (what happened, what to change).  Placeholders available everywhere:
# {server} (host:port), {host}, {port}; some classes use more (see below).
CLASSES: dict[str, tuple[str, str]] = {
    "invalid_settings": (
        N_("The settings are not complete or not valid: {detail}"),
        N_("Correct the setting named above and try again."),
    ),
    "invalid_address": (
        N_("The address {address!r} is not a single valid e-mail address: {detail}"),
        N_("Enter exactly one address such as name@example.com, without display name, "
           "line breaks or a leading \"-\"."),
    ),
    "dns": (
        N_("The name {host!r} could not be resolved: {detail}"),
        N_("Check the spelling of the server name and the appliance's DNS settings, or "
           "enter the server's IP address."),
    ),
    "refused": (
        N_("{server} refused the connection."),
        N_("Check the port after the colon (465 for TLS, 587 for STARTTLS, 25 "
           "unencrypted) and that a firewall does not block it."),
    ),
    "connect_timeout": (
        N_("No connection to {server} within the time limit."),
        N_("Check the address and port, and that a firewall lets the appliance out on "
           "this port (many networks block port 25)."),
    ),
    "tls_on_plain_port": (
        N_("{server} does not speak TLS from the first byte (\"wrong version number\"): "
           "it is a plain SMTP port."),
        N_("Set security to STARTTLS (usually port 587), or use the server's TLS port "
           "(usually 465)."),
    ),
    "plain_on_tls_port": (
        N_("{server} expects TLS from the first byte; it sent no SMTP greeting."),
        N_("Set security to TLS for this port, or use port 587 with STARTTLS (port 465 "
           "is TLS)."),
    ),
    "starttls_not_offered": (
        N_("{server} does not offer STARTTLS; nothing was sent unencrypted."),
        N_("Use security TLS with the server's TLS port (usually 465), or ask the "
           "provider; only choose \"unencrypted\" if the link itself is trusted."),
    ),
    "starttls_refused": (
        N_("{server} refused STARTTLS: {reply}"),
        N_("The server cannot encrypt right now; try security TLS on port 465 or ask the "
           "server's administrator."),
    ),
    "tls_failed": (
        N_("The TLS handshake with {server} failed: {detail}"),
        N_("Check the security setting and port; the server may need a newer TLS "
           "version (1.2 or later is required)."),
    ),
    "cert_untrusted": (
        N_("The certificate of {server} is not signed by a trusted authority: {detail}"),
        N_("Put the issuing CA's certificate into a PEM file and set it as CA file, or "
           "switch certificate checks off only if you trust the network."),
    ),
    "cert_hostname": (
        N_("The certificate of {server} is not valid for the name {host!r}: {detail}"),
        N_("Enter the server by the name its certificate is made out to (an IP address "
           "is often the cause), not by another alias or its IP address."),
    ),
    "cert_expired": (
        N_("The certificate of {server} is expired or not yet valid: {detail}"),
        N_("Check the appliance's clock and time zone first; if they are right, the "
           "server's certificate must be renewed."),
    ),
    "auth_failed": (
        N_("{server} refused the login: {reply}"),
        N_("Check the user name and password; some providers want an app password."),
    ),
    "auth_oauth2_required": (
        N_("{server} refuses password login for this account (OAuth2 / modern "
           "authentication required): {reply}"),
        N_("Enable SMTP AUTH for this mailbox in the provider's admin centre, or use an "
           "app password or another relay; this appliance cannot do OAuth2."),
    ),
    "auth_not_offered": (
        N_("{server} offers no login method this appliance supports (offered: "
           "{offered})."),
        N_("Switch \"SMTP with authentication\" off if the server lets you send without, "
           "use STARTTLS or TLS (many servers offer login only when encrypted), or use "
           "another port."),
    ),
    "plaintext_auth_refused": (
        N_("The user name and password would travel unencrypted; the appliance refused "
           "to send them."),
        N_("Set security to STARTTLS or TLS; only if the link itself is trusted set "
           "mail.smtp.allow_plaintext_auth = true."),
    ),
    "pop3_login_failed": (
        N_("The POP3 login at {server} failed: {reply}"),
        N_("Check the POP3 server, the user name and the password (SMTP after POP3 uses "
           "the same ones)."),
    ),
    "sender_refused": (
        N_("{server} refused the sender address: {reply}"),
        N_("Use a sender address of a domain the server accepts for your account "
           "(often exactly your mailbox address)."),
    ),
    "recipient_refused": (
        N_("{server} refused the recipient address: {reply}"),
        N_("Check the recipient address for typing errors."),
    ),
    "relay_denied": (
        N_("{server} does not relay mail for the appliance: {reply}"),
        N_("Switch \"SMTP with authentication\" on (or SMTP after POP3), or ask the "
           "server's administrator to allow the appliance's address."),
    ),
    "message_refused": (
        N_("{server} refused the message: {reply}"),
        N_("The server's answer above says why (size, content, sender policy such as "
           "SPF/DMARC); change the sender address or the server."),
    ),
    "temporary_failure": (
        N_("{server} answered with a temporary failure: {reply}"),
        N_("Try again in a few minutes; if it persists, the answer above says why "
           "(greylisting, rate limit, full mailbox)."),
    ),
    "sendmail_missing": (
        N_("The sendmail program {path!r} was not found or cannot be run: {detail}"),
        N_("Install a mail transfer agent (for example msmtp-mta or postfix) or switch "
           "to an external SMTP server (recommended)."),
    ),
    "sendmail_failed": (
        N_("The sendmail program failed ({detail})."),
        N_("Check the local mail system's configuration and log, or switch to an "
           "external SMTP server (recommended)."),
    ),
    "timeout": (
        N_("{server} did not finish within {timeout} seconds (during: {step})."),
        N_("Check the port and security setting; a raise of mail.smtp.timeout helps "
           "only on very slow links."),
    ),
    "connection_lost": (
        N_("{server} closed the connection unexpectedly (during: {step})."),
        N_("The server may block the appliance's address or dislike a setting; its log "
           "says why. Check the port and security setting."),
    ),
    "protocol_error": (
        N_("{server} answered with something that is not SMTP: {detail}"),
        N_("Check the port: it may belong to another service, or a proxy or virus "
           "scanner interferes."),
    ),
    "cancelled": (
        N_("The send was cancelled."),
        N_("Nothing to change; send again when ready."),
    ),
}


class _Defaults(dict[str, object]):
    """Format mapping that leaves unknown placeholders visible but harmless."""

    def __missing__(self, key: str) -> str:
        return "?"


def describe(cls: str, values: Mapping[str, object] | None = None) -> tuple[str, str]:
    """The translated ``(message, advice)`` of ``cls`` with ``values`` filled in."""
    message, advice = CLASSES.get(cls, CLASSES["protocol_error"])
    mapping = _Defaults(values or {})
    return _(message).format_map(mapping), _(advice).format_map(mapping)


# Multi-level groups of classes, for callers that want to react by kind.
GROUPS: dict[str, frozenset[str]] = {
    "settings": frozenset({"invalid_settings", "invalid_address", "plaintext_auth_refused"}),
    "connect": frozenset({"dns", "refused", "connect_timeout"}),
    "tls": frozenset({
        "tls_on_plain_port", "plain_on_tls_port", "starttls_not_offered", "starttls_refused",
        "tls_failed", "cert_untrusted", "cert_hostname", "cert_expired",
    }),
    "auth": frozenset({
        "auth_failed", "auth_oauth2_required", "auth_not_offered", "pop3_login_failed",
    }),
    "rejected": frozenset({
        "sender_refused", "recipient_refused", "relay_denied", "message_refused",
    }),
    "temporary": frozenset({"temporary_failure"}),
    "sendmail": frozenset({"sendmail_missing", "sendmail_failed"}),
    "transport": frozenset({"timeout", "connection_lost", "protocol_error"}),
    "cancelled": frozenset({"cancelled"}),
}
