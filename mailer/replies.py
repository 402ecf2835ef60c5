"""Classification of an SMTP reply by what it says.

One place for the replies of the servers admins meet, each with its source:
:data:`KNOWN` (the table the tests read and replay), then the enhanced status
code (RFC 3463, :data:`ENHANCED`), then the basic code (4xx temporary, 5xx
permanent); the step the reply came at decides only when the reply says
nothing more (:data:`STEP_DEFAULT`).

    classify(535, "5.7.8 Error: authentication failed: ...", "login") -> "auth_failed"

The classes are those of mailer.diagnosis (stable names, in ``--json``).
This module imports nothing at run time (the send path's import diet).
"""

from __future__ import annotations


class KnownReply:
    """One real reply: who sends it, the text as the server sends it, the
    lower-case pieces that all must occur in it, the class, and the source."""

    __slots__ = ("cls", "example", "needles", "server", "source")

    def __init__(self, server: str, example: str, needles: tuple[str, ...], cls: str,
                 source: str) -> None:
        self.server, self.example, self.needles = server, example, needles
        self.cls, self.source = cls, source

    def matches(self, low: str) -> bool:
        return all(n in low for n in self.needles)

    def __repr__(self) -> str:
        return f"KnownReply({self.server!r}, {self.example!r} -> {self.cls})"


_POSTFIX_CHECK = ("Postfix 3.7 src/smtpd/smtpd_check.c; postconf(5) "
                  "https://www.postfix.org/postconf.5.html")
_POSTFIX_SMTPD = "Postfix 3.7 src/smtpd/smtpd.c"
_EXIM_DEBIAN = "Debian exim4-config 4.96 conf.d/acl/30_exim4-config_check_rcpt"
_EXIM_SPEC = "Exim 4.96 specification (https://www.exim.org/exim-html-current/doc/html/spec_html/)"
_SENDMAIL = "sendmail 8.17 cf/m4/proto.m4 and sendmail/srvrsmtp.c"
_MS_SUBMISSION = ("Microsoft Learn, 'Enable or disable authenticated client SMTP submission "
                  "(SMTP AUTH) in Exchange Online' "
                  "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/"
                  "authenticated-client-smtp-submission")
_MS_BASIC_RETIRE = ("Exchange Team Blog, 'Exchange Online to retire Basic auth for Client "
                    "Submission (SMTP AUTH)', 2024 (techcommunity.microsoft.com)")
_MS_NDR = ("Microsoft Learn, 'Non-delivery reports in Exchange Online' "
           "https://learn.microsoft.com/exchange/mail-flow-best-practices/"
           "non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online")
_GOOGLE = ("Google Workspace Admin Help, 'SMTP errors and codes' "
           "https://support.google.com/a/answer/3726730")

# Order matters: the first row whose needles all occur wins.  Needles are
# lower case; they are searched in the reply's text (all lines, codes included).
KNOWN: tuple[KnownReply, ...] = (
    # -- Exchange Online / Microsoft 365 / Outlook.com ---------------------
    KnownReply("Exchange Online",
               "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. "
               "[AM0PR02CA0001.eurprd02.prod.outlook.com]",
               ("5.7.139",), "auth_oauth2_required", _MS_SUBMISSION),
    KnownReply("Exchange Online",
               "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
               "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
               ("smtpclientauthentication is disabled",), "auth_oauth2_required",
               _MS_SUBMISSION),
    KnownReply("Exchange Online",
               "550 5.7.30 Basic authentication is not supported for Client Submission.",
               ("5.7.30",), "auth_oauth2_required", _MS_BASIC_RETIRE),
    KnownReply("Exchange Online",
               "535 5.7.3 Authentication unsuccessful [BN0PR04CA0090.namprd04.prod.outlook.com]",
               ("5.7.3 authentication unsuccessful",), "auth_failed", _MS_SUBMISSION),
    KnownReply("Exchange Online",
               "530 5.7.57 Client not authenticated to send mail. "
               "[BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]",
               ("5.7.57",), "auth_required", _MS_NDR),
    KnownReply("Exchange Online",
               "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
               ("5.7.60",), "sender_not_owned", _MS_NDR),
    KnownReply("Exchange Online",
               "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
               "MapiExceptionSendAsDenied; Failed to process message due to a permanent "
               "exception with message Cannot submit message.",
               ("sendasdenied",), "sender_not_owned", _MS_NDR),
    KnownReply("Exchange Online",
               "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
               ("unable to relay",), "relay_denied", _MS_NDR),
    # -- Gmail / Google Workspace -------------------------------------------
    KnownReply("Gmail",
               "534-5.7.9 Application-specific password required. Learn more at\n"
               "534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor",
               ("application-specific password required",), "app_password_required",
               _GOOGLE),
    KnownReply("Gmail",
               "535-5.7.8 Username and Password not accepted. Learn more at\n"
               "535 5.7.8 https://support.google.com/mail/?p=BadCredentials",
               ("username and password not accepted",), "auth_failed", _GOOGLE),
    KnownReply("Gmail",
               "550 5.4.5 Daily user sending limit exceeded.",
               ("sending limit exceeded",), "rate_limited", _GOOGLE),
    KnownReply("Gmail",
               "552-5.3.4 Your message exceeded Google's message size limits. Please visit\n"
               "552 5.3.4 https://support.google.com/mail/?p=MaxSizeError to view our size "
               "guidelines.",
               ("message size limits",), "message_too_big", _GOOGLE),
    # -- Postfix (and Gmail's identical STARTTLS text) ----------------------
    KnownReply("Postfix",
               "530 5.7.0 Must issue a STARTTLS command first",
               ("must issue a starttls command first",), "starttls_required", _POSTFIX_SMTPD),
    KnownReply("Postfix",
               "454 4.7.1 <admin@example.org>: Relay access denied",
               ("relay access denied",), "relay_denied", _POSTFIX_CHECK),
    KnownReply("Postfix",
               "554 5.7.1 <admin@example.org>: Recipient address rejected: Access denied",
               ("recipient address rejected: access denied",), "relay_denied", _POSTFIX_CHECK),
    KnownReply("Postfix",
               "553 5.7.1 <pbx@example.com>: Sender address rejected: not owned by user "
               "tester",
               ("sender address rejected: not owned by user",), "sender_not_owned",
               _POSTFIX_CHECK),
    KnownReply("Postfix",
               "553 5.7.1 <pbx@example.com>: Sender address rejected: not logged in",
               ("sender address rejected: not logged in",), "auth_required", _POSTFIX_CHECK),
    KnownReply("Postfix",
               "504 5.5.2 <vm>: Helo command rejected: need fully-qualified hostname",
               ("helo command rejected",), "helo_rejected", _POSTFIX_CHECK),
    KnownReply("Postfix",
               "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied",
               ("client host rejected",), "client_rejected", _POSTFIX_CHECK),
    KnownReply("Postfix",
               "552 5.3.4 Message size exceeds fixed limit",
               ("message size exceeds fixed limit",), "message_too_big", _POSTFIX_SMTPD),
    KnownReply("Postfix",
               "535 5.7.8 Error: authentication failed: authentication failure",
               ("error: authentication failed",), "auth_failed",
               "Postfix 3.7 src/smtpd/smtpd_sasl_glue.c"),
    KnownReply("Postfix",
               "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in "
               "local recipient table",
               ("user unknown",), "recipient_refused", _POSTFIX_CHECK),
    KnownReply("postgrey (Postfix policy service)",
               "450 4.2.0 <admin@example.org>: Recipient address rejected: Greylisted, see "
               "http://postgrey.schweikert.ch/help/example.org.html",
               ("greylisted",), "temporary_failure", "postgrey 1.37 (Debian) postgrey(8)"),
    # -- Exim ------------------------------------------------------------------
    KnownReply("Exim",
               "550 relay not permitted",
               ("relay not permitted",), "relay_denied", _EXIM_DEBIAN),
    KnownReply("Exim (cPanel)",
               "550-[192.0.2.10]:42630 is not permitted to relay through this server without\n"
               "550 authentication.",
               ("not permitted to relay",), "relay_denied", "cPanel Exim configuration"),
    KnownReply("Exim",
               "535 Incorrect authentication data",
               ("incorrect authentication data",), "auth_failed", _EXIM_SPEC),
    KnownReply("Exim",
               "552 Message size exceeds maximum permitted",
               ("message size exceeds maximum permitted",), "message_too_big", _EXIM_SPEC),
    KnownReply("Exim",
               "501 Syntactically invalid HELO argument(s)",
               ("invalid helo argument",), "helo_rejected", _EXIM_SPEC),
    KnownReply("Exim",
               "550 Unrouteable address",
               ("unrouteable address",), "recipient_refused", _EXIM_SPEC),
    KnownReply("Exim",
               "550 Administrative prohibition",
               ("administrative prohibition",), "policy_refused", _EXIM_SPEC),
    # -- Sendmail --------------------------------------------------------------
    KnownReply("Sendmail",
               "550 5.7.1 <admin@example.org>... Relaying denied",
               ("relaying denied",), "relay_denied", _SENDMAIL),
    KnownReply("Sendmail",
               "530 5.7.0 Authentication required",
               ("authentication required",), "auth_required", _SENDMAIL),
    KnownReply("Sendmail",
               "553 5.1.8 <pbx@example.invalid>... Domain of sender address "
               "pbx@example.invalid does not exist",
               ("domain of sender address",), "sender_refused", _SENDMAIL),
    KnownReply("Sendmail",
               "552 5.2.3 Message size exceeds maximum value",
               ("message size exceeds maximum value",), "message_too_big", _SENDMAIL),
    KnownReply("Sendmail",
               "452 4.4.5 Insufficient disk space; try again later",
               ("insufficient disk space",), "temporary_failure", _SENDMAIL),
)

# RFC 3463 (and the IANA registry of enhanced status codes): "subject.detail"
# -> class, for 5xx replies no KNOWN row matched.  "*" = by step (below).
ENHANCED: dict[str, str] = {
    "1.0": "*", "1.1": "recipient_refused", "1.2": "recipient_refused",
    "1.3": "*", "1.4": "recipient_refused", "1.6": "recipient_refused",
    "1.7": "sender_refused", "1.8": "sender_refused", "1.10": "recipient_refused",
    "2.1": "recipient_refused", "2.2": "recipient_refused",
    "2.3": "message_too_big", "3.4": "message_too_big",
    "3.0": "*", "3.1": "temporary_failure", "4.5": "rate_limited",
    "5.3": "message_refused",
    "6.0": "message_refused", "6.1": "message_refused",
    "7.0": "*", "7.1": "policy_refused",
    "7.4": "auth_not_offered", "7.7": "message_refused",
    "7.8": "auth_failed", "7.9": "auth_failed", "7.11": "starttls_required",
    "7.12": "auth_failed", "7.13": "auth_failed", "7.14": "auth_failed",
    "7.23": "message_refused", "7.25": "client_rejected", "7.26": "message_refused",
    "7.27": "sender_refused",
}

# The class when the reply says nothing more than its basic 5xx code.
STEP_DEFAULT: dict[str, str] = {
    "greeting": "client_rejected",
    "ehlo": "helo_rejected",
    "starttls": "starttls_refused",
    "login": "auth_failed",
    "mail_from": "sender_refused",
    "rcpt_to": "recipient_refused",
    "data": "message_refused",
}


def enhanced_code(text: str) -> str:
    """The enhanced status code at the start of ``text`` ("5.7.8"), or ""."""
    head = text.lstrip().split(" ", 1)[0].rstrip(".,;:")
    parts = head.split(".")
    if len(parts) == 3 and parts[0] in ("2", "4", "5") and all(
            p.isascii() and p.isdigit() and len(p) <= 3 for p in parts[1:]):
        return head
    return ""


def known(text: str) -> KnownReply | None:
    """The first row of :data:`KNOWN` the reply matches."""
    low = text.lower()
    for row in KNOWN:
        if row.matches(low):
            return row
    return None


def classify(code: int, text: str, step: str) -> str:
    """The failure class of reply ``code``/``text`` (text without the basic
    code, lines joined) received at ``step``: a known text first, then a 4xx
    is temporary, then the enhanced status code, then the step."""
    row = known(text)
    if row is not None:
        return row.cls
    if 400 <= code < 500:
        return "temporary_failure"
    if code == 530:  # RFC 4954: authentication required
        return "auth_required"
    if code == 538:  # RFC 4954: encryption required for the mechanism
        return "starttls_required"
    enhanced = enhanced_code(text)
    if enhanced:
        cls = ENHANCED.get(enhanced.split(".", 1)[1], "*")
        if cls != "*":
            return cls
    return STEP_DEFAULT.get(step, "protocol_error")


def reply_line(code: int, lines: list[str]) -> str:
    """A reply in one line as admins quote it: ``535 5.7.8 Username and
    Password not accepted. Learn more at https://...`` (the code once, the
    enhanced code once, the lines joined)."""
    if not lines:
        return str(code)
    first = enhanced_code(lines[0])
    parts = []
    for index, line in enumerate(lines):
        text = line.strip()
        if index and first and text.startswith(first):
            text = text[len(first):].strip()
        if text:
            parts.append(text)
    return f"{code} " + " ".join(parts)
