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

# The screen's labels of the settings advice names (the same msgids as the
# screen's, so both show the same words in every language).  Advice refers to
# them as {label_<name>}; describe() fills them in, translated.
LABELS: dict[str, str] = {
    "relay": N_("Mail server"),
    "sender": N_("Sender address"),
    "server": N_("SMTP server"),
    "security": N_("Security"),
    "certificates": N_("Certificates"),
    "authentication": N_("SMTP with authentication"),
    "pop3": N_("SMTP after POP3"),
    "pop3_server": N_("POP3 server"),
    "username": N_("User name"),
    "password": N_("Password"),
    "ca_file": N_("CA file"),
    "timeout": N_("Timeout"),
    "ehlo_name": N_("EHLO name"),
    "plaintext": N_("Login without encryption"),
    "sendmail": N_("Sendmail program"),
    "test_recipient": N_("Test recipient"),
}

# label name -> the key path it is the label of
LABEL_KEYS: dict[str, str] = {
    "relay": "mail.relay", "sender": "mail.sender", "server": "mail.smtp.server",
    "security": "mail.smtp.security", "certificates": "mail.smtp.verify_certificates",
    "authentication": "mail.smtp.authentication", "pop3": "mail.pop3.enabled",
    "pop3_server": "mail.pop3.server", "username": "mail.smtp.username",
    "password": "mail.smtp.password", "ca_file": "mail.smtp.ca_file",
    "timeout": "mail.smtp.timeout", "ehlo_name": "mail.smtp.ehlo_name",
    "plaintext": "mail.smtp.allow_plaintext_auth", "sendmail": "mail.internal.sendmail",
    "test_recipient": "mail.test_recipient",
}

# cls: (what happened, what to change).  Placeholders available everywhere:
# {server} (host:port), {host}, {port}, {label_*} (LABELS); some classes use
# more (see below).  {reply} is the server's reply in one line with its code
# ("535 5.7.8 ...").
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
        N_("Check the spelling of \"{label_server}\" and the appliance's DNS settings, "
           "or enter the server's IP address."),
    ),
    "refused": (
        N_("{server} refused the connection."),
        N_("Check the port in \"{label_server}\" (465 for TLS, 587 for STARTTLS, 25 "
           "unencrypted) and that a firewall does not block it."),
    ),
    "connect_timeout": (
        N_("No connection to {server} within the time limit."),
        N_("Check the address and port in \"{label_server}\", and that a firewall lets "
           "the appliance out on this port (many networks block port 25)."),
    ),
    "tls_on_plain_port": (
        N_("{server} does not speak TLS from the first byte (\"wrong version number\"): "
           "it is a plain SMTP port."),
        N_("Set \"{label_security}\" to STARTTLS (usually port 587), or use the server's "
           "TLS port (usually 465)."),
    ),
    "plain_on_tls_port": (
        N_("{server} expects TLS from the first byte; it sent no SMTP greeting."),
        N_("Set \"{label_security}\" to TLS for this port, or use port 587 with STARTTLS "
           "(port 465 is TLS)."),
    ),
    "starttls_not_offered": (
        N_("{server} does not offer STARTTLS; nothing was sent unencrypted."),
        N_("Set \"{label_security}\" to TLS with the server's TLS port (usually 465), or "
           "ask the provider; only choose \"unencrypted\" if the link itself is trusted."),
    ),
    "starttls_refused": (
        N_("{server} refused STARTTLS: {reply}"),
        N_("The server cannot encrypt right now; set \"{label_security}\" to TLS with port "
           "465, or ask the server's administrator."),
    ),
    "starttls_required": (
        N_("{server} requires encryption before anything else: {reply}"),
        N_("Set \"{label_security}\" to STARTTLS (port 587 or 25) or TLS (port 465)."),
    ),
    "tls_failed": (
        N_("The TLS handshake with {server} failed: {detail}"),
        N_("Check \"{label_security}\" and the port; the server may need a newer TLS "
           "version (1.2 or later is required)."),
    ),
    "cert_untrusted": (
        N_("The certificate of {server} is not signed by a trusted authority: {detail}"),
        N_("Put the issuing CA's certificate into a PEM file and enter it as "
           "\"{label_ca_file}\", or switch \"{label_certificates}\" off only if you trust "
           "the network."),
    ),
    "cert_hostname": (
        N_("The certificate of {server} is not valid for the name {host!r}: {detail}"),
        N_("Enter the server in \"{label_server}\" by a name its certificate is made out "
           "to, not by another alias or its IP address."),
    ),
    "cert_expired": (
        N_("The certificate of {server} is expired or not yet valid: {detail}"),
        N_("Check the appliance's clock and time zone first; if they are right, the "
           "server's certificate must be renewed."),
    ),
    "auth_failed": (
        N_("{server} refused the login: {reply}"),
        N_("Check \"{label_username}\" and \"{label_password}\"; some providers want an "
           "app password."),
    ),
    "auth_required": (
        N_("{server} wants a login before it accepts mail: {reply}"),
        N_("Switch \"{label_authentication}\" on and enter \"{label_username}\" and "
           "\"{label_password}\" (or use \"{label_pop3}\")."),
    ),
    "app_password_required": (
        N_("{server} wants an app password for this account, not the account's normal "
           "password: {reply}"),
        N_("Create an app password in the account's security settings (it needs two-step "
           "verification) and enter it as \"{label_password}\"."),
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
        N_("Switch \"{label_authentication}\" off if the server lets you send without, set "
           "\"{label_security}\" to STARTTLS or TLS (many servers offer login only when "
           "encrypted), or use another port."),
    ),
    "plaintext_auth_refused": (
        N_("The user name and password would travel unencrypted; the appliance refused "
           "to send them."),
        N_("Set \"{label_security}\" to STARTTLS or TLS; only if the link itself is trusted "
           "switch \"{label_plaintext}\" on."),
    ),
    "pop3_login_failed": (
        N_("The POP3 login at {server} failed: {reply}"),
        N_("Check \"{label_pop3_server}\", \"{label_username}\" and \"{label_password}\" "
           "(SMTP after POP3 uses the same ones)."),
    ),
    "pop3_refused": (
        N_("The POP3 server {server} refused the connection."),
        N_("Check the port in \"{label_pop3_server}\": 110 for POP3 with STARTTLS or "
           "unencrypted, 995 for POP3 over TLS."),
    ),
    "pop3_connect_timeout": (
        N_("No connection to the POP3 server {server} within the time limit."),
        N_("Check the address and port in \"{label_pop3_server}\" (110 or 995) and that a "
           "firewall lets the appliance out on this port."),
    ),
    "pop3_tls_on_plain_port": (
        N_("The POP3 server {server} does not speak TLS from the first byte: it is a plain "
           "POP3 port."),
        N_("Use port 995 in \"{label_pop3_server}\" for POP3 over TLS, or set "
           "\"{label_security}\" to STARTTLS (POP3 STLS on port 110)."),
    ),
    "pop3_plain_on_tls_port": (
        N_("The POP3 server {server} expects TLS from the first byte; it sent no POP3 "
           "greeting."),
        N_("Set \"{label_security}\" to TLS for this port, or use port 110 in "
           "\"{label_pop3_server}\" (port 995 is POP3 over TLS)."),
    ),
    "pop3_stls_not_offered": (
        N_("The POP3 server {server} does not offer STLS (STARTTLS for POP3); nothing was "
           "sent unencrypted."),
        N_("Set \"{label_security}\" to TLS and use port 995 in \"{label_pop3_server}\", or "
           "ask the server's administrator to enable STLS."),
    ),
    "pop3_stls_refused": (
        N_("The POP3 server {server} refused STLS: {reply}"),
        N_("Set \"{label_security}\" to TLS and use port 995 in \"{label_pop3_server}\", or "
           "ask the server's administrator."),
    ),
    "pop3_protocol_error": (
        N_("{server} answered with something that is not POP3: {detail}"),
        N_("Check the port in \"{label_pop3_server}\": 110 or 995 are POP3; 25, 465 and "
           "587 are SMTP ports."),
    ),
    "pop3_connection_lost": (
        N_("The POP3 server {server} closed the connection unexpectedly (during: {step})."),
        N_("Check \"{label_security}\" and the port in \"{label_pop3_server}\" (110 or "
           "995); the server's log says why."),
    ),
    "sender_refused": (
        N_("{server} refused the sender address: {reply}"),
        N_("Set \"{label_sender}\" to an address of a domain the server accepts for your "
           "account (often exactly your mailbox address)."),
    ),
    "sender_not_owned": (
        N_("{server} does not let this login send as the sender address: {reply}"),
        N_("Set \"{label_sender}\" to the mailbox address of \"{label_username}\", or "
           "have the server's administrator allow this login to send as it."),
    ),
    "recipient_refused": (
        N_("{server} refused the recipient address: {reply}"),
        N_("Check the recipient address for typing errors."),
    ),
    "relay_denied": (
        N_("{server} does not relay mail for the appliance: {reply}"),
        N_("Switch \"{label_authentication}\" on (or \"{label_pop3}\"), or ask the "
           "server's administrator to allow the appliance's address; waiting does not "
           "help."),
    ),
    "helo_rejected": (
        N_("{server} refused the name the appliance introduced itself with: {reply}"),
        N_("Enter the appliance's fully-qualified host name (such as pbx.example.com) as "
           "\"{label_ehlo_name}\"."),
    ),
    "client_rejected": (
        N_("{server} refuses connections from the appliance's address: {reply}"),
        N_("Ask the server's administrator to allow the appliance's address, or use "
           "another \"{label_server}\"."),
    ),
    "policy_refused": (
        N_("{server} refused the mail by its policy: {reply}"),
        N_("The answer says which rule; most often the server wants a login "
           "(\"{label_authentication}\") or a \"{label_sender}\" of your own mailbox; "
           "otherwise ask the server's administrator."),
    ),
    "message_too_big": (
        N_("{server} refused the message as too big: {reply}"),
        N_("Send smaller mails (fewer or shorter attachments, such as voicemail "
           "recordings), or ask the server's administrator to raise the size limit."),
    ),
    "message_refused": (
        N_("{server} refused the message: {reply}"),
        N_("The server's answer says why (content, sender policy such as SPF/DMARC); "
           "change \"{label_sender}\" or \"{label_server}\"."),
    ),
    "rate_limited": (
        N_("{server} refuses more mail from this account for now: {reply}"),
        N_("Wait until the provider's sending limit resets (often a day), send fewer "
           "mails, or use another \"{label_server}\"."),
    ),
    "temporary_failure": (
        N_("{server} answered with a temporary failure: {reply}"),
        N_("Try again in a few minutes; if it persists, the answer says why "
           "(greylisting, rate limit, full mailbox)."),
    ),
    "sendmail_missing": (
        N_("The sendmail program {path!r} was not found or cannot be run: {detail}"),
        N_("Install a mail transfer agent (for example msmtp-mta or postfix), correct "
           "\"{label_sendmail}\", or set \"{label_relay}\" to an external SMTP server "
           "(recommended)."),
    ),
    "sendmail_failed": (
        N_("The local mail system refused the mail ({detail})."),
        N_("Check the local mail system's configuration and its log (journalctl, "
           "/var/log/mail.log), or set \"{label_relay}\" to an external SMTP server "
           "(recommended)."),
    ),
    "sendmail_tempfail": (
        N_("The local mail system could not take the mail ({detail})."),
        N_("This is a fault of the local mail system, not of the receiver: check that it "
           "is configured and running and read its log (journalctl, /var/log/mail.log); "
           "\"mailq\" lists mail it holds. Or set \"{label_relay}\" to an external SMTP "
           "server (recommended)."),
    ),
    "sendmail_config": (
        N_("The local mail system is not set up ({detail})."),
        N_("Configure the local mail system (for msmtp: /etc/msmtprc; for Postfix: "
           "/etc/postfix/main.cf) or set \"{label_relay}\" to an external SMTP server "
           "(recommended)."),
    ),
    "timeout": (
        N_("{server} did not finish within {timeout} seconds (during: {step})."),
        N_("Check the port and \"{label_security}\"; raising \"{label_timeout}\" helps "
           "only on very slow links."),
    ),
    "connection_lost": (
        N_("{server} closed the connection unexpectedly (during: {step})."),
        N_("The server may block the appliance's address or dislike a setting; its log "
           "says why. Check the port and \"{label_security}\"."),
    ),
    "protocol_error": (
        N_("{server} answered with something that is not SMTP: {detail}"),
        N_("Check the port in \"{label_server}\": it may belong to another service, or a "
           "proxy or virus scanner interferes."),
    ),
    "cancelled": (
        N_("The send was cancelled."),
        N_("Nothing to change; send again when ready."),
    ),
}

# Classes where trying the same send later may work (for a queue: retry;
# every other class is permanent until a setting or the server changes).
# A 4xx reply is temporary only if it says nothing more: "454 4.7.1 Relay
# access denied" is relay_denied (permanent), waiting never helps.
TEMPORARY: frozenset[str] = frozenset({
    "temporary_failure", "rate_limited", "connect_timeout", "timeout", "connection_lost",
    "refused", "sendmail_tempfail", "pop3_connect_timeout", "pop3_connection_lost",
    "pop3_refused",
})


# While the POP3 login of SMTP after POP3 runs, the classes shared with SMTP
# (raised by mailer.wire and the conversation) become their POP3 variants,
# whose words and advice are about POP3 (ports 110/995, STLS).
POP3_VARIANTS: dict[str, str] = {
    "refused": "pop3_refused",
    "connect_timeout": "pop3_connect_timeout",
    "tls_on_plain_port": "pop3_tls_on_plain_port",
    "plain_on_tls_port": "pop3_plain_on_tls_port",
    "starttls_not_offered": "pop3_stls_not_offered",
    "starttls_refused": "pop3_stls_refused",
    "protocol_error": "pop3_protocol_error",
    "connection_lost": "pop3_connection_lost",
}


def is_temporary(cls: str) -> bool:
    """Whether a send that failed with ``cls`` may work later unchanged."""
    return cls in TEMPORARY


# The settings (key paths) each class's advice names, first the one most
# likely to need a change; and one-key fixes (Ctrl+F on the screen) where the
# fix is obvious: (values, label of the fix).
SETTINGS: dict[str, tuple[str, ...]] = {
    cls: tuple(LABEL_KEYS[name] for name in LABELS
               if "{label_" + name + "}" in advice)
    for cls, (_message, advice) in CLASSES.items()
}

FIXES: dict[str, tuple[dict[str, object], str]] = {
    "starttls_required": ({"mail.smtp.security": "starttls"}, N_("use STARTTLS")),
    "tls_on_plain_port": ({"mail.smtp.security": "starttls"}, N_("use STARTTLS")),
    "plain_on_tls_port": ({"mail.smtp.security": "tls"}, N_("choose TLS")),
    "starttls_not_offered": ({"mail.smtp.security": "tls"}, N_("choose TLS")),
    "auth_not_offered": ({"mail.smtp.authentication": False}, N_("authentication: no")),
    "auth_required": ({"mail.smtp.authentication": True}, N_("authentication: yes")),
    "relay_denied": ({"mail.smtp.authentication": True}, N_("authentication: yes")),
    "plaintext_auth_refused": ({"mail.smtp.security": "starttls"}, N_("use STARTTLS")),
}


class _Defaults(dict[str, object]):
    """Format mapping that leaves unknown placeholders visible but harmless."""

    def __missing__(self, key: str) -> str:
        return "?"


def describe(cls: str, values: Mapping[str, object] | None = None) -> tuple[str, str]:
    """The translated ``(message, advice)`` of ``cls`` with ``values`` filled in."""
    message, advice = CLASSES.get(cls, CLASSES["protocol_error"])
    mapping = _Defaults({f"label_{name}": _(label) for name, label in LABELS.items()})
    mapping.update(values or {})
    return _(message).format_map(mapping), _(advice).format_map(mapping)


# Multi-level groups of classes, for callers that want to react by kind.
GROUPS: dict[str, frozenset[str]] = {
    "settings": frozenset({"invalid_settings", "invalid_address", "plaintext_auth_refused"}),
    "connect": frozenset({"dns", "refused", "connect_timeout", "pop3_refused",
                          "pop3_connect_timeout"}),
    "tls": frozenset({
        "tls_on_plain_port", "plain_on_tls_port", "starttls_not_offered", "starttls_refused",
        "starttls_required", "tls_failed", "cert_untrusted", "cert_hostname", "cert_expired",
        "pop3_tls_on_plain_port", "pop3_plain_on_tls_port", "pop3_stls_not_offered",
        "pop3_stls_refused",
    }),
    "auth": frozenset({
        "auth_failed", "auth_required", "app_password_required", "auth_oauth2_required",
        "auth_not_offered", "pop3_login_failed",
        "oauth_invalid_client", "oauth_invalid_grant", "oauth_unauthorized_client",
        "oauth_consent_required", "oauth_invalid_scope", "oauth_access_denied",
        "oauth_expired_token", "oauth_login_timeout", "oauth_login_required",
        "oauth_error", "oauth_token_refused", "oauth_not_offered",
    }),
    "oauth_settings": frozenset({"oauth_key_file"}),
    "oauth_connect": frozenset({"oauth_unreachable"}),
    "rejected": frozenset({
        "sender_refused", "sender_not_owned", "recipient_refused", "relay_denied",
        "helo_rejected", "client_rejected", "policy_refused", "message_too_big",
        "message_refused",
    }),
    "temporary": frozenset({"temporary_failure", "rate_limited"}),
    "sendmail": frozenset({"sendmail_missing", "sendmail_failed", "sendmail_tempfail",
                           "sendmail_config"}),
    "transport": frozenset({"timeout", "connection_lost", "protocol_error",
                            "pop3_protocol_error", "pop3_connection_lost"}),
    "cancelled": frozenset({"cancelled", "oauth_cancelled"}),
}
