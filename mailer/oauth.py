"""OAuth2 access tokens for SMTP AUTH (XOAUTH2 / OAUTHBEARER).

Flows (``mail.smtp.oauth2.flow``):

* ``client_credentials`` (RFC 6749 4.4): the app's own secret, or a
  certificate (``key_file`` with key and certificate: a private_key_jwt client
  assertion, RFC 7523 2.2, with the certificate's thumbprint as ``x5t``).
  Microsoft 365 app-only.
* ``jwt_bearer`` (RFC 7523 2.1): an assertion signed with the service
  account's key (``key_file``: Google's JSON key file or a PEM key), ``sub`` =
  the mailbox.  Google Workspace domain-wide delegation.
* ``device_code`` (RFC 8628): :func:`device_login` (``mailconsole oauth
  login``) polls until a person signed in elsewhere; the refresh token is
  stored (config.tokens) and a send refreshes the access token with it.

Access tokens are cached (in this process and in the token file) until
:data:`EXPIRY_MARGIN` seconds before they expire.  The HTTPS requests run in
a worker thread inside the send's deadline (``runtime.in_thread``).

authlib builds the request bodies (``prepare_token_request``) and signs the
JWT assertions (``sign_jwt_bearer_assertion``, ``private_key_jwt_sign``, on
joserfc); the HTTP itself is urllib with the mailer's TLS context (the system
store plus ``mail.smtp.ca_file``), so the send's deadline and the project's
certificate rules apply and no HTTP client package is needed.

Nothing here prints or logs a token, a secret or an assertion; every one of
them is registered with the Recorder's scrubber as soon as it exists.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

from config.i18n import _
from config.tokens import TokenStore, account_of, fingerprint, resolve_url, token_path

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from typing import Any

    from config.model import Settings
    from mailer.session import Recorder
    from mailer.wire import Runtime

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXPIRY_MARGIN = 60        # seconds: a cached access token is renewed this long before it ends
MAX_BODY = 256 * 1024     # bytes read from the token endpoint
MAX_DESCRIPTION = 300     # characters of the provider's error_description shown

_MEMORY: dict[str, tuple[str, float]] = {}  # fingerprint -> (access token, expires_at)


class OAuthError(Exception):
    """A token could not be had.  ``cls`` is a failure class of
    mailer.diagnosis; ``error``/``description`` what the endpoint said."""

    def __init__(self, cls: str, *, error: str = "", description: str = "",
                 status: int = 0, detail: str = "") -> None:
        super().__init__(cls)
        self.cls, self.error, self.description = cls, error, description
        self.status, self.detail = status, detail

    def values(self) -> dict[str, object]:
        reply = self.error + (": " + self.description if self.description else "")
        if self.status:
            reply = f"HTTP {self.status} {reply}".strip()
        return {"reply": reply or self.detail, "detail": self.detail or reply,
                "error": self.error}


# --- SASL ------------------------------------------------------------------------

def xoauth2(user: str, token: str) -> str:
    """The XOAUTH2 initial response (Google's and Microsoft's documented format)."""
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """The OAUTHBEARER initial client response (RFC 7628 3.1)."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    raw = f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def token_forms(token: str, user: str, host: str = "", port: int = 0) -> list[str]:
    """Every form of ``token`` the mailer could put on the wire."""
    if not token:
        return []
    b64 = base64.b64encode(token.encode("utf-8")).decode("ascii")
    forms = {token, b64, xoauth2(user, token)}
    if host:
        forms.add(oauthbearer(user, token, host, port))
    return sorted(forms, key=len, reverse=True)


def choose_mechanism(offered: list[str]) -> str | None:
    """OAUTHBEARER (the standard, RFC 7628) when offered, else XOAUTH2."""
    for mechanism in ("OAUTHBEARER", "XOAUTH2"):
        if mechanism in offered:
            return mechanism
    return None


# --- the token endpoint --------------------------------------------------------------

_CLASS_BY_ERROR = {
    "invalid_client": "oauth_invalid_client",
    "invalid_grant": "oauth_invalid_grant",
    "unauthorized_client": "oauth_unauthorized_client",
    "invalid_scope": "oauth_invalid_scope",
    "consent_required": "oauth_consent_required",
    "interaction_required": "oauth_consent_required",
    "access_denied": "oauth_access_denied",
    "expired_token": "oauth_expired_token",
}


def classify(status: int, data: dict[str, Any]) -> OAuthError:
    """The OAuthError for an error answer of the token endpoint (RFC 6749 5.2)."""
    error = str(data.get("error") or "")
    description = " ".join(str(data.get("error_description") or "").split())
    if len(description) > MAX_DESCRIPTION:
        description = description[:MAX_DESCRIPTION] + "…"
    cls = _CLASS_BY_ERROR.get(error, "oauth_error")
    # Microsoft Entra: AADSTS65001 "The user or administrator has not consented"
    if "AADSTS65001" in description or "consent" in description.lower() and \
            error in ("invalid_grant", "invalid_request", "unauthorized_client"):
        cls = "oauth_consent_required"
    return OAuthError(cls, error=error or f"HTTP {status}", description=description,
                      status=status)


def provider_hint(token_url: str) -> str:
    """Where to fix it: the portal of the provider behind ``token_url``."""
    host = token_url.split("://", 1)[-1].split("/", 1)[0].lower()
    if host.endswith("microsoftonline.com"):
        return _("Microsoft Entra admin centre > App registrations > your app")
    if host.endswith("googleapis.com") or host.endswith("google.com"):
        return _("Google Cloud console (service account, keys) and Google Admin console > "
                 "Security > API controls > Domain-wide delegation")
    return _("the identity provider's administration of this application")


def post_form(url: str, form: dict[str, str], *, ca_file: str, verify: bool,
              timeout: float) -> dict[str, Any]:
    """POST ``form`` to ``url``; the JSON object answered, or OAuthError.
    Blocking: run it through ``runtime.in_thread``."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    from mailer.wire import tls_context

    body = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
        "User-Agent": "mailconsole"})
    handlers: list[Any] = [urllib.request.ProxyHandler({})]
    if url.lower().startswith("https:"):
        handlers.append(urllib.request.HTTPSHandler(context=tls_context(verify, ca_file)))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(MAX_BODY)
        exc.close()
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = getattr(reason, "strerror", None) or str(reason)
        raise OAuthError("oauth_unreachable", detail=f"{url.split('?')[0]}: {text}") from None
    except (OSError, ValueError) as exc:
        raise OAuthError("oauth_unreachable",
                         detail=f"{url.split('?')[0]}: {type(exc).__name__}: {exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise OAuthError("oauth_error", status=status,
                         detail=_("HTTP {status}, not a JSON answer").format(status=status))
    if status >= 400 or "error" in data:
        raise classify(status, data)
    return data


class Client:
    """The token requests of one configuration (no network in the constructor)."""

    def __init__(self, settings: Settings, token_file: str,
                 register: Callable[[str], None] | None = None) -> None:
        smtp = settings.mail.smtp
        o = smtp.oauth2
        self.settings = settings
        self.flow = o.flow
        self.token_url = resolve_url(o.token_url, o.tenant)
        self.device_url = resolve_url(o.device_authorization_url, o.tenant)
        self.client_id = o.client_id
        self.client_secret = o.client_secret
        self.scope = o.scope
        self.key_file = o.key_file
        self.account = account_of(settings)
        self.key = fingerprint(settings)
        self.store = TokenStore(token_file)
        self.ca_file, self.verify = smtp.ca_file, smtp.verify_certificates
        self.timeout = float(smtp.timeout)
        self.register = register or (lambda secret: None)
        self.register(self.client_secret)

    # -- requests -------------------------------------------------------------
    def post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        return post_form(url, form, ca_file=self.ca_file, verify=self.verify,
                         timeout=self.timeout)

    def _load_key(self) -> tuple[Any, str, str]:
        """(key, issuer, certificate PEM or "") from key_file."""
        import json

        try:
            with open(self.key_file, "rb") as fh:
                raw = fh.read(1024 * 1024)
        except OSError as exc:
            raise OAuthError("oauth_key_file", detail=_("{path}: {reason}").format(
                path=self.key_file, reason=exc.strerror or type(exc).__name__)) from None
        text = raw.decode("utf-8", "replace")
        if text.lstrip().startswith("{"):
            try:
                info = json.loads(text)
                key, issuer = info["private_key"], info.get("client_email") or self.client_id
            except (ValueError, KeyError, TypeError):
                raise OAuthError("oauth_key_file", detail=_(
                    "{path}: not a service account key file (private_key missing)").format(
                        path=self.key_file)) from None
            self.register(key)
            return _rsa_key(key), issuer, ""
        if "PRIVATE KEY-----" not in text:
            raise OAuthError("oauth_key_file", detail=_(
                "{path}: no PEM private key in the file").format(path=self.key_file))
        start = text.find("-----BEGIN CERTIFICATE-----")
        end = text.find("-----END CERTIFICATE-----")
        cert = text[start:end + len("-----END CERTIFICATE-----")] if start >= 0 < end else ""
        self.register(text)
        begin = text.find("-----BEGIN ")
        while begin >= 0 and "PRIVATE KEY-----" not in text[begin:text.find("\n", begin)]:
            begin = text.find("-----BEGIN ", begin + 1)
        end_marker = text.find("PRIVATE KEY-----", text.find("-----END ", max(begin, 0)))
        key_pem = text[max(begin, 0):end_marker + len("PRIVATE KEY-----")]
        return _rsa_key(key_pem), self.client_id, cert

    def _client_auth(self) -> dict[str, str]:
        """Client authentication in the body: the secret, or a private_key_jwt
        assertion when key_file holds a certificate credential."""
        if self.client_secret:
            return {"client_id": self.client_id, "client_secret": self.client_secret}
        if self.key_file:
            from authlib.oauth2.rfc7523 import private_key_jwt_sign

            key, issuer, cert = self._load_key()
            header: dict[str, Any] = {"alg": "RS256"}
            if cert:
                import hashlib
                import ssl

                der = ssl.PEM_cert_to_DER_cert(cert)
                header["x5t"] = base64.urlsafe_b64encode(
                    hashlib.sha1(der).digest()).decode("ascii").rstrip("=")
            assertion = private_key_jwt_sign(key, issuer or self.client_id, self.token_url,
                                             header=header)
            assertion = assertion.decode() if isinstance(assertion, bytes) else assertion
            self.register(assertion)
            return {"client_id": self.client_id, "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion}
        return {"client_id": self.client_id}

    def _form(self, grant_type: str, **params: str) -> dict[str, str]:
        from urllib.parse import parse_qsl

        from authlib.oauth2.rfc6749.parameters import prepare_token_request

        body = prepare_token_request(grant_type, **{k: v for k, v in params.items() if v})
        return dict(parse_qsl(body, keep_blank_values=True))

    def request_new(self) -> dict[str, Any]:
        """A new token from the endpoint (blocking)."""
        if self.flow == "client_credentials":
            form = self._form("client_credentials", scope=self.scope)
            form.update(self._client_auth())
        elif self.flow == "jwt_bearer":
            from authlib.oauth2.rfc7523.assertion import sign_jwt_bearer_assertion

            key, issuer, _cert = self._load_key()
            assertion = sign_jwt_bearer_assertion(
                key, issuer=issuer, audience=self.token_url, subject=self.account,
                claims={"scope": self.scope}, header={"alg": "RS256"}, expires_in=3600)
            assertion = assertion.decode() if isinstance(assertion, bytes) else assertion
            self.register(assertion)
            form = self._form(JWT_GRANT, assertion=assertion)
        else:
            entry = self.store.get(self.key) or {}
            refresh = str(entry.get("refresh_token") or "")
            if not refresh:
                raise OAuthError("oauth_login_required")
            self.register(refresh)
            form = self._form("refresh_token", refresh_token=refresh, scope=self.scope)
            form.update(self._client_auth())
        data = self.post(self.token_url, form)
        return self.accept(data)

    def accept(self, data: dict[str, Any], *, login: bool = False) -> dict[str, Any]:
        """Check and store a token answer; the stored entry."""
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise OAuthError("oauth_error", detail=_("the answer has no access_token"))
        self.register(token)
        refresh = data.get("refresh_token")
        if isinstance(refresh, str):
            self.register(refresh)
        now = time.time()
        try:
            expires_in = int(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600
        expires_at = now + max(expires_in, 1)
        _MEMORY[self.key] = (token, expires_at)

        def merge(old: dict[str, Any] | None) -> dict[str, Any]:
            entry = dict(old or {})
            entry.update(flow=self.flow, account=self.account, token_url=self.token_url,
                         client_id=self.client_id, scope=self.scope, access_token=token,
                         expires_at=expires_at, obtained_at=now)
            if isinstance(refresh, str) and refresh:
                from config.presets import refresh_lifetime_days

                lifetime = 0.0
                try:
                    lifetime = float(data.get("refresh_token_expires_in") or 0)
                except (TypeError, ValueError):
                    lifetime = 0.0
                if not lifetime:
                    lifetime = refresh_lifetime_days(
                        self.settings.mail.smtp.oauth2.token_url, self.flow) * 86400.0
                entry.update(refresh_token=refresh, refresh_obtained_at=now,
                             refresh_expires_at=now + lifetime if lifetime else 0)
            if login:
                entry["signed_in_at"] = now
            return entry

        try:
            return self.store.update(self.key, merge) or {}
        except Exception:
            if self.flow == "device_code" and isinstance(refresh, str) and refresh:
                raise
            return merge(None)

    def cached(self) -> tuple[str, float] | None:
        """A cached access token valid for more than EXPIRY_MARGIN seconds."""
        now = time.time()
        hit = _MEMORY.get(self.key)
        if hit is None:
            entry = self.store.get(self.key) or {}
            token, ends = entry.get("access_token"), float(entry.get("expires_at") or 0)
            hit = (token, ends) if isinstance(token, str) and token else None
        if hit is not None and hit[1] - EXPIRY_MARGIN > now:
            self.register(hit[0])
            return hit
        return None

    def forget_access_token(self) -> None:
        _MEMORY.pop(self.key, None)

        def drop(old: dict[str, Any] | None) -> dict[str, Any] | None:
            if old is None:
                return None
            entry = dict(old)
            entry.pop("access_token", None)
            entry["expires_at"] = 0
            return entry

        try:
            self.store.update(self.key, drop)
        except Exception:
            pass


def _rsa_key(pem: str) -> Any:
    """The RSA private key in ``pem`` as joserfc's key object."""
    from joserfc.jwk import RSAKey

    try:
        return RSAKey.import_key(pem)
    except Exception as exc:
        raise OAuthError("oauth_key_file", detail=_("the private key cannot be read ({kind})")
                         .format(kind=type(exc).__name__)) from None


# --- inside a send ----------------------------------------------------------------------

class TokenStep:
    """The "Get a token" step of a send and the renewal after a refused token."""

    def __init__(self, runtime: Runtime, settings: Settings, rec: Recorder,
                 token_file: str | None) -> None:
        self.runtime, self.rec = runtime, rec
        self.account = account_of(settings)
        self.host = ""
        self.port = 0
        self.token = ""
        self.from_cache = False
        path = token_file or default_token_file()
        self.client = Client(settings, path, register=self._register)

    def _register(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            forms = token_forms(secret, self.account, self.host, self.port)
            for form in forms:
                if form not in self.rec.secrets:
                    self.rec.secrets.append(form)
            self.rec.secrets.sort(key=len, reverse=True)

    def set_server(self, host: str, port: int) -> None:
        """The SMTP server (OAUTHBEARER names it); scrub those forms too."""
        self.host, self.port = host, port
        if self.token:
            self._register(self.token)

    def get(self, *, renew: bool = False) -> str:
        rec, client = self.rec, self.client
        rec.start("token", _("Get a token from {host}").format(
            host=client.token_url.split("://", 1)[-1].split("/", 1)[0] or "?"))
        rec.context["portal"] = provider_hint(client.token_url)
        if renew:
            client.forget_access_token()
        hit = None if renew else client.cached()
        if hit is not None:
            self.token, self.from_cache = hit[0], True
            rec.end("ok", detail=_("cached token, valid for {n} more minutes").format(
                n=int((hit[1] - time.time()) // 60)))
            return self.token
        rec.note(_("POST {url} (grant {flow})").format(url=client.token_url, flow=client.flow))
        rec.credentials_sent()  # the endpoint's answer may echo the client secret (issue 12)
        try:
            entry = self.runtime.in_thread(client.request_new, name="mailer-oauth")
        except OAuthError as exc:
            values = exc.values()
            rec.set_reply(str(values["reply"]))
            raise rec.error(exc.cls, **values) from None
        self.token, self.from_cache = str(entry.get("access_token") or ""), False
        if not self.token:
            raise rec.error("oauth_error", detail=_("the answer has no access_token"))
        minutes = int((float(entry.get("expires_at") or 0) - time.time()) // 60)
        rec.end("ok", detail=_("new token for {account}, valid for {n} minutes").format(
            account=client.account, n=max(minutes, 0)))
        return self.token


def default_token_file() -> str:
    """The token file of the default configuration ($MAILCONSOLE_CONFIG or
    /etc/mailconsole/mail.toml)."""
    import os

    return token_path(os.environ.get("MAILCONSOLE_CONFIG") or "/etc/mailconsole/mail.toml")


# --- the device authorization grant (RFC 8628) ------------------------------------------

class DevicePrompt:
    __slots__ = ("expires_in", "interval", "user_code", "verification_uri",
                 "verification_uri_complete")

    def __init__(self, data: dict[str, Any]) -> None:
        self.user_code = str(data.get("user_code") or "")
        # Microsoft's v2 endpoint says verification_uri; some older ones verification_url
        self.verification_uri = str(data.get("verification_uri")
                                    or data.get("verification_url") or "")
        self.verification_uri_complete = str(data.get("verification_uri_complete") or "")
        self.expires_in = int(data.get("expires_in") or 900)
        self.interval = max(int(data.get("interval") or 5), 1)


def device_login(settings: Settings, token_file: str, *,
                 on_prompt: Callable[[DevicePrompt], None],
                 on_wait: Callable[[str], None] | None = None,
                 cancel: threading.Event | None = None, timeout: float = 900,
                 sleep: Callable[[float], None] | None = None,
                 register: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Sign in with the device code flow; the stored entry (no token in it is
    ever shown).  Raises OAuthError (oauth_access_denied, oauth_expired_token,
    oauth_login_timeout, oauth_cancelled, or an endpoint error)."""
    client = Client(settings, token_file, register=register)
    form = {"client_id": client.client_id}
    if client.scope:
        form["scope"] = client.scope
    if client.client_secret:
        form["client_secret"] = client.client_secret
    data = client.post(client.device_url, form)
    device_code = str(data.get("device_code") or "")
    prompt = DevicePrompt(data)
    if not device_code or not prompt.user_code or not prompt.verification_uri:
        raise OAuthError("oauth_error", detail=_(
            "the device authorization answer lacks device_code, user_code or "
            "verification_uri"))
    client.register(device_code)
    on_prompt(prompt)
    deadline = time.monotonic() + min(timeout, prompt.expires_in)
    interval = float(prompt.interval)
    wait = sleep or (cancel.wait if cancel is not None else time.sleep)
    poll = client._form(DEVICE_GRANT, device_code=device_code)
    poll.update(client._client_auth())
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise OAuthError("oauth_login_timeout")
        wait(min(interval, left))
        if cancel is not None and cancel.is_set():
            raise OAuthError("oauth_cancelled")
        try:
            answer = client.post(client.token_url, poll)
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                if on_wait:
                    on_wait("authorization_pending")
                continue
            if exc.error == "slow_down":  # RFC 8628 3.5: +5 s for this and all later polls
                interval += 5
                if on_wait:
                    on_wait("slow_down")
                continue
            raise
        return client.accept(answer, login=True)


def status(settings: Settings, token_file: str) -> dict[str, Any]:
    """What `mailconsole oauth status` shows: never a token."""
    o = settings.mail.smtp.oauth2
    entry = TokenStore(token_file).get(fingerprint(settings)) or {}
    now = time.time()
    out: dict[str, Any] = {
        "auth_method": settings.mail.smtp.auth_method, "flow": o.flow,
        "account": account_of(settings), "client_id": o.client_id,
        "token_url": resolve_url(o.token_url, o.tenant), "scope": o.scope,
        "token_file": token_file,
        "access_token": "none", "access_token_expires_at": None,
        "refresh_token": "none", "refresh_token_expires_at": None, "signed_in_at": None,
    }
    expires = float(entry.get("expires_at") or 0)
    if entry.get("access_token"):
        out["access_token"] = "valid" if expires > now else "expired"
        out["access_token_expires_at"] = _iso(expires)
    if entry.get("refresh_token"):
        ends = float(entry.get("refresh_expires_at") or 0)
        out["refresh_token"] = "stored" if not ends or ends > now else "expired"
        out["refresh_token_expires_at"] = _iso(ends) if ends else None
    if entry.get("signed_in_at"):
        out["signed_in_at"] = _iso(float(entry["signed_in_at"]))
    return out


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def logout(token_file: str) -> int:
    """Forget every stored token of this configuration; how many entries."""
    _MEMORY.clear()
    return TokenStore(token_file).clear()
