"""Failure classes of a send: what happened and what to change.

This table is the one place where the TUI, the CLI and the docs read the
classes from.  ``CLASSES[cls]`` is ``(message, advice)``, both English and
marked with ``N_`` for extraction; :func:`describe` translates them at call
time (``_()``) and fills named ``{placeholders}``.

A failure class is machine-readable and stable (scripts match on it); the
sentences may change.
"""

from __future__ import annotations

from config.i18n import N_, _

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping

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
        N_("Switch to OAuth2 ('mailconsole preset microsoft365' or 'google-workspace'), "
           "or enable SMTP AUTH for this mailbox in the provider's admin centre, or use an "
           "app password."),
    ),
    "oauth_invalid_client": (
        N_("The token endpoint did not accept the application's credentials ({reply})."),
        N_("Check mail.smtp.oauth2.client_id and the client secret or certificate in "
           "{portal}: a client secret expires; create a new one and set it with "
           "'mailconsole set --client-secret-stdin'."),
    ),
    "oauth_invalid_grant": (
        N_("The token endpoint refused the grant ({reply})."),
        N_("Device sign-in: the stored sign-in expired or was revoked; run 'mailconsole "
           "oauth login' again. Service account: check the key file, the appliance's clock "
           "and mail.smtp.oauth2.subject (a mailbox of your domain), in {portal}."),
    ),
    "oauth_unauthorized_client": (
        N_("The application may not use this way of getting a token ({reply})."),
        N_("In {portal}: Microsoft: allow public client flows for the device code, or the "
           "application permission for client credentials; Google: add the service "
           "account's client ID with the scope https://mail.google.com/ to domain-wide "
           "delegation."),
    ),
    "oauth_consent_required": (
        N_("The permission has not been granted for this application ({reply})."),
        N_("An administrator must grant consent in {portal} (API permissions > Grant admin "
           "consent), then try again."),
    ),
    "oauth_invalid_scope": (
        N_("The token endpoint refused the scope ({reply})."),
        N_("Check mail.smtp.oauth2.scope: Microsoft 365 app-only "
           "https://outlook.office365.com/.default, with a person's sign-in "
           "https://outlook.office.com/SMTP.Send offline_access; Google "
           "https://mail.google.com/ ('mailconsole preset NAME' fills it)."),
    ),
    "oauth_access_denied": (
        N_("The sign-in was declined ({reply})."),
        N_("Run 'mailconsole oauth login' again and accept the request, signed in as the "
           "sending mailbox."),
    ),
    "oauth_expired_token": (
        N_("The sign-in code expired before anyone used it."),
        N_("Run 'mailconsole oauth login' again and enter the code within its time."),
    ),
    "oauth_login_timeout": (
        N_("Nobody completed the sign-in in time."),
        N_("Run 'mailconsole oauth login' again and enter the code within its time."),
    ),
    "oauth_cancelled": (
        N_("The sign-in was cancelled."),
        N_("Nothing to change; run 'mailconsole oauth login' when ready."),
    ),
    "oauth_login_required": (
        N_("Nobody has signed in for {account} on this appliance yet (device code flow)."),
        N_("Run 'mailconsole oauth login' (or sign in from the screen) and follow the "
           "instructions."),
    ),
    "oauth_key_file": (
        N_("The key file cannot be used: {detail}"),
        N_("Set mail.smtp.oauth2.key_file to the service account's JSON key file or a PEM "
           "private key, readable by the appliance (mode 0600)."),
    ),
    "oauth_unreachable": (
        N_("The token endpoint could not be reached: {detail}"),
        N_("Check mail.smtp.oauth2.token_url, DNS and that a firewall or proxy lets the "
           "appliance reach the provider over HTTPS (port 443)."),
    ),
    "oauth_error": (
        N_("The token endpoint answered with an error: {reply}"),
        N_("The provider's answer above names the cause; check the application in "
           "{portal}."),
    ),
    "oauth_token_refused": (
        N_("{server} refused the OAuth2 token: {reply}"),
        N_("The token was issued but the mail server does not accept it for {user}: check "
           "that SMTP AUTH is enabled for the mailbox, that the application has the SMTP "
           "permission (Microsoft: SMTP.SendAsApp and the service principal's mailbox "
           "permission; Google: domain-wide delegation), and that the user name is the "
           "mailbox."),
    ),
    "oauth_not_offered": (
        N_("{server} offers no OAuth2 login (offered: {offered})."),
        N_("Use the provider's submission server (smtp.office365.com:587, "
           "smtp.gmail.com:587) with STARTTLS, or set mail.smtp.auth_method = \"password\"."),
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
        "oauth_invalid_client", "oauth_invalid_grant", "oauth_unauthorized_client",
        "oauth_consent_required", "oauth_invalid_scope", "oauth_access_denied",
        "oauth_expired_token", "oauth_login_timeout", "oauth_login_required",
        "oauth_error", "oauth_token_refused", "oauth_not_offered",
    }),
    "oauth_settings": frozenset({"oauth_key_file"}),
    "oauth_connect": frozenset({"oauth_unreachable"}),
    "rejected": frozenset({
        "sender_refused", "recipient_refused", "relay_denied", "message_refused",
    }),
    "temporary": frozenset({"temporary_failure"}),
    "sendmail": frozenset({"sendmail_missing", "sendmail_failed"}),
    "transport": frozenset({"timeout", "connection_lost", "protocol_error"}),
    "cancelled": frozenset({"cancelled", "oauth_cancelled"}),
}
