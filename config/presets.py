"""Provider presets: one table of data, no code paths of their own.

A preset fills ordinary keys of :data:`config.model.FIELDS` (server, security,
authentication method, the OAuth2 endpoints and scope) and carries the
provider's checklist: what an administrator must do in the provider's portal
before the appliance can send.  ``mailconsole preset NAME`` and the screen's
"Provider" choice both read :data:`PRESETS`; nothing else in the code knows a
provider.  The facts and their sources are in docs/oauth.md.

    PRESETS[name] -> Preset(name, label, values, checklist, refresh_lifetime_days)
    preset_values(name) -> {key path: value}
    checklist(name) -> [translated lines]
    find(name) -> Preset            (KeyError with the known names)
"""

from __future__ import annotations

from dataclasses import dataclass

from config.i18n import N_, _
from config.model import Value


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    label: str                      # N_-marked
    values: tuple[tuple[str, Value], ...]
    checklist: tuple[str, ...] = ()  # N_-marked lines
    refresh_lifetime_days: int = 0   # 0: unknown or none
    short: str = ""                  # N_-marked: the screen's Provider button


def _preset(name: str, label: str, short: str, values: dict[str, Value],
            checklist: tuple[str, ...] = (), refresh_lifetime_days: int = 0) -> Preset:
    return Preset(name, label, tuple(values.items()), checklist, refresh_lifetime_days, short)


_MS_TOKEN = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
_MS_DEVICE = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode"
_GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"

_MS_COMMON = (
    N_("Exchange Online: allow SMTP AUTH for the sending mailbox: Set-CASMailbox -Identity "
       "<mailbox> -SmtpClientAuthenticationDisabled $false (Exchange Online PowerShell; "
       "the tenant-wide switch is Set-TransportConfig -SmtpClientAuthenticationDisabled)."),
    N_("Microsoft Entra: Security Defaults, or a Conditional Access policy that blocks "
       "legacy authentication, also block SMTP AUTH: exclude this mailbox or turn them off."),
    N_("Set mail.smtp.username and mail.sender to the mailbox address."),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (
    _preset(
        "other", N_("Other (any SMTP server, user name and password)"),
        N_("Other"),
        {"mail.smtp.auth_method": "password"},
        (N_("Enter the server, security, user name and password your provider gives."),),
    ),
    _preset(
        "microsoft365", N_("Microsoft 365 (OAuth2, app-only: client credentials)"),
        N_("Microsoft 365 (app)"),
        {"mail.relay": "external", "mail.smtp.server": "smtp.office365.com:587",
         "mail.smtp.security": "starttls", "mail.smtp.authentication": True,
         "mail.smtp.auth_method": "oauth2", "mail.smtp.oauth2.flow": "client_credentials",
         "mail.smtp.oauth2.token_url": _MS_TOKEN,
         "mail.smtp.oauth2.device_authorization_url": "",
         "mail.smtp.oauth2.scope": "https://outlook.office365.com/.default"},
        (
            N_("Microsoft Entra admin centre > App registrations > New registration; note "
               "the Application (client) ID (mail.smtp.oauth2.client_id) and the Directory "
               "(tenant) ID (mail.smtp.oauth2.tenant)."),
            N_("Certificates & secrets > New client secret; give it to the appliance with "
               "'mailconsole set --client-secret-stdin' (it expires: note the date)."),
            N_("API permissions > Add a permission > APIs my organization uses > Office 365 "
               "Exchange Online > Application permissions > SMTP.SendAsApp; then \"Grant "
               "admin consent\"."),
            N_("Exchange Online PowerShell: New-ServicePrincipal -AppId <client id> -ObjectId "
               "<object id of the Enterprise application>, then Add-MailboxPermission "
               "-Identity <mailbox> -User <service principal id> -AccessRights FullAccess."),
            *_MS_COMMON,
        ),
    ),
    _preset(
        "microsoft365-device", N_("Microsoft 365 (OAuth2, a person signs in: device code)"),
        N_("Microsoft 365 (sign-in)"),
        {"mail.relay": "external", "mail.smtp.server": "smtp.office365.com:587",
         "mail.smtp.security": "starttls", "mail.smtp.authentication": True,
         "mail.smtp.auth_method": "oauth2", "mail.smtp.oauth2.flow": "device_code",
         "mail.smtp.oauth2.token_url": _MS_TOKEN,
         "mail.smtp.oauth2.device_authorization_url": _MS_DEVICE,
         "mail.smtp.oauth2.scope": "https://outlook.office.com/SMTP.Send offline_access"},
        (
            N_("Microsoft Entra admin centre > App registrations > New registration; note "
               "the Application (client) ID and the Directory (tenant) ID."),
            N_("Authentication > Allow public client flows: Yes (the device code flow needs "
               "no client secret)."),
            N_("API permissions > Microsoft Graph > Delegated permissions > SMTP.Send and "
               "offline_access; grant admin consent if users may not consent themselves."),
            N_("Then run 'mailconsole oauth login' and sign in as the mailbox; the refresh "
               "token expires after 90 days without use."),
            *_MS_COMMON,
        ),
        refresh_lifetime_days=90,
    ),
    _preset(
        "google-workspace", N_("Google Workspace (OAuth2, service account)"),
        N_("Google Workspace"),
        {"mail.relay": "external", "mail.smtp.server": "smtp.gmail.com:587",
         "mail.smtp.security": "starttls", "mail.smtp.authentication": True,
         "mail.smtp.auth_method": "oauth2", "mail.smtp.oauth2.flow": "jwt_bearer",
         "mail.smtp.oauth2.token_url": _GOOGLE_TOKEN,
         "mail.smtp.oauth2.device_authorization_url": "",
         "mail.smtp.oauth2.scope": "https://mail.google.com/"},
        (
            N_("Google Cloud console > IAM & Admin > Service accounts > Create; Keys > Add "
               "key > JSON; copy the file to the appliance (mode 0600) and set "
               "mail.smtp.oauth2.key_file to its path."),
            N_("Google Admin console > Security > Access and data control > API controls > "
               "Manage Domain Wide Delegation > Add new: the service account's client ID "
               "with the scope https://mail.google.com/."),
            N_("Set mail.smtp.username (and mail.smtp.oauth2.subject, if another) to the "
               "sending mailbox of your domain; the service account acts for it."),
            N_("Google's device flow does not allow the Gmail scope: a person's sign-in on "
               "the appliance is not possible; use the service account or an app password."),
        ),
    ),
    _preset(
        "gmail", N_("Gmail or Google Workspace (app password)"),
        N_("Gmail (app password)"),
        {"mail.relay": "external", "mail.smtp.server": "smtp.gmail.com:587",
         "mail.smtp.security": "starttls", "mail.smtp.authentication": True,
         "mail.smtp.auth_method": "password"},
        (
            N_("Turn on 2-Step Verification for the Google account; app passwords need it."),
            N_("Google account > Security > App passwords: create one and give it to the "
               "appliance with 'mailconsole set --password-stdin' (16 letters, no spaces)."),
            N_("The user name is the full address. \"534-5.7.9 Application-specific password "
               "required\" means the normal password was used."),
        ),
    ),
    _preset(
        "ionos", N_("IONOS (password)"),
        N_("IONOS"),
        {"mail.relay": "external", "mail.smtp.server": "smtp.ionos.de:587",
         "mail.smtp.security": "starttls", "mail.smtp.authentication": True,
         "mail.smtp.auth_method": "password"},
        (N_("The user name is the full mail address; the password is the mailbox's."),),
    ),
    _preset(
        "strato", N_("STRATO (password)"),
        N_("STRATO"),
        {"mail.relay": "external", "mail.smtp.server": "smtp.strato.de:465",
         "mail.smtp.security": "tls", "mail.smtp.authentication": True,
         "mail.smtp.auth_method": "password"},
        (N_("The user name is the full mail address; the password is the mailbox's."),),
    ),
)}


def find(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive; "_" as "-"); KeyError
    whose text lists the known names."""
    key = name.strip().lower().replace("_", "-")
    if key not in PRESETS:
        raise KeyError(_("unknown preset {name!r}: use one of {names}").format(
            name=name, names=", ".join(PRESETS)))
    return PRESETS[key]


def preset_values(name: str) -> dict[str, Value]:
    return dict(find(name).values)


def checklist(name: str) -> list[str]:
    """The translated checklist lines of preset ``name``."""
    return [_(line) for line in find(name).checklist]


def label(name: str) -> str:
    return _(find(name).label)


def short_label(name: str) -> str:
    return _(find(name).short)


def refresh_lifetime_days(token_url: str, flow: str) -> int:
    """The known lifetime of a refresh token from this endpoint (0: none known):
    the preset with the same token URL and flow says it."""
    for p in PRESETS.values():
        values = dict(p.values)
        if values.get("mail.smtp.oauth2.token_url") == token_url and \
                values.get("mail.smtp.oauth2.flow") == flow:
            return p.refresh_lifetime_days
    return 0


def matching(values: dict[str, Value]) -> str:
    """The name of the preset whose keys ``values`` all hold ("other" if none)."""
    for p in PRESETS.values():
        if p.name != "other" and all(values.get(k) == v for k, v in p.values):
            return p.name
    return "other"
