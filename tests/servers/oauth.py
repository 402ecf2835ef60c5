"""A real OAuth2 authorization server on 127.0.0.1 (HTTPS, free port, in a
thread), built from authlib's server components:

    POST /token        client_credentials (client_secret_post/basic),
                       urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523, RS256
                       assertions checked against the client's public key),
                       urn:ietf:params:oauth:grant-type:device_code (RFC 8628),
                       refresh_token (rotating: every refresh issues a new one)
    POST /devicecode   the device authorization endpoint (RFC 8628 3.1)
    POST /introspect   token introspection (RFC 7662), for the SMTP server

    server = OAuthServer(ca).start()
    server.add_client("app", secret="s", grants=("client_credentials",), scope="smtp")
    server.approve(user_code, "pbx@example.org")   # what the person does in a browser
    server.deny(user_code); server.revoke_refresh_tokens(); server.stop()

Error cases come from authlib itself (invalid_client, invalid_grant,
unauthorized_client, invalid_scope, authorization_pending, slow_down,
expired_token, access_denied) plus one the test sets up: a client without
admin consent answers like Microsoft Entra (invalid_grant, "AADSTS65001").
Every request is recorded in ``requests`` (path and grant type, never a secret).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error, OAuth2Payload, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)

from tests.servers.certs import TestCA

HOST = "127.0.0.1"


@dataclass
class Client(ClientMixin):
    client_id: str
    secret: str = ""
    grants: tuple[str, ...] = ("client_credentials",)
    scope: str = ""
    public_key: Any = None          # PEM for jwt_bearer / private_key_jwt
    consent: bool = True            # False: answer like Entra without admin consent
    expires_in: int = 3600
    introspect: bool = False        # a resource server allowed to introspect
    x5t: str = ""                   # certificate credentials: the thumbprint Entra checks

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return ""

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.secret) and secrets.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method == "none":
            return not self.secret and self.public_key is None
        if method == JWTBearerClientAssertion.CLIENT_AUTH_METHOD:
            return self.public_key is not None
        return bool(self.secret)

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grants


@dataclass
class Token:
    client_id: str
    user: str | None
    scope: str
    access_token: str
    refresh_token: str | None
    issued_at: float
    expires_in: int
    revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str | None:
        return self.user

    def get_client(self) -> Any:
        return None


class _Payload(OAuth2Payload):
    def __init__(self, form: dict[str, str], lists: dict[str, list[str]]) -> None:
        self._form, self._lists = form, lists

    @property
    def data(self) -> dict[str, str]:
        return self._form

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._lists


class _Request(OAuth2Request):
    def __init__(self, uri: str, headers: dict[str, str], body: str) -> None:
        super().__init__("POST", uri, headers=headers)
        pairs = parse_qsl(body, keep_blank_values=True)
        self._form = dict(pairs)
        lists: dict[str, list[str]] = defaultdict(list)
        for k, v in pairs:
            lists[k].append(v)
        self.payload = _Payload(self._form, lists)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):
    def __init__(self, owner: OAuthServer) -> None:
        super().__init__(scopes_supported=["smtp", "offline"])
        self.owner = owner
        self.register_token_generator("default", BearerTokenGenerator(
            lambda **kw: secrets.token_urlsafe(32), lambda **kw: secrets.token_urlsafe(40),
            lambda client, grant_type: client.expires_in))

    def query_client(self, client_id: str) -> Client | None:
        return self.owner.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        user = request.user if isinstance(request.user, str) else None
        record = Token(request.client.client_id, user, token.get("scope", ""),
                       token["access_token"], token.get("refresh_token"), time.time(),
                       int(token["expires_in"]))
        with self.owner.lock:
            self.owner.tokens[record.access_token] = record
            if record.refresh_token:
                self.owner.refresh[record.refresh_token] = record

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class _Consent(OAuth2Error):
    error = "invalid_grant"


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post",
                                   JWTBearerClientAssertion.CLIENT_AUTH_METHOD]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if not self.request.client.consent:
            raise _Consent(description="AADSTS65001: The user or administrator has not "
                           "consented to use the application.")


class JWTBearer(JWTBearerGrant):
    def resolve_issuer_client(self, issuer: str) -> Client | None:
        return self.server.owner.clients.get(issuer)

    def resolve_client_public_key(self, client: Client) -> Any:
        from joserfc.jwk import RSAKey

        return RSAKey.import_key(client.public_key)

    def authenticate_user(self, subject: str) -> str | None:
        return subject if subject in self.server.owner.users else None

    def has_granted_permission(self, client: Client, user: str | None) -> bool:
        return user is not None  # the domain-wide delegation of the test

    def get_audiences(self) -> list[str]:
        return [self.server.owner.token_url]

    def process_assertion_claims(self, assertion: str) -> Any:
        claims = super().process_assertion_claims(assertion)
        self.claims = claims
        return claims

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # Google's profile: the scope travels in the assertion's claims
        requested = self.request.payload.data.get("scope") or self.claims.get("scope", "")
        if not self.request.client.get_allowed_scope(requested):
            raise InvalidScopeError()
        self.request.payload.data["scope"] = requested


class DeviceCode(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
        return self.server.owner.devices.get(device_code)

    def query_user_grant(self, user_code: str) -> tuple[str, bool] | None:
        return self.server.owner.grants.get(user_code)

    def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
        owner = self.server.owner
        code = credential["device_code"]
        owner.polls[code] = owner.polls.get(code, 0) + 1
        return owner.polls[code] in owner.slow_down_on


class RefreshToken(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        record = self.server.owner.refresh.get(refresh_token)
        if record is None or record.refresh_revoked:
            return None
        return record

    def authenticate_user(self, credential: Token) -> str | None:
        return credential.user

    def revoke_old_credential(self, credential: Token) -> None:
        credential.refresh_revoked = True


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    EXPIRES_IN = 600
    INTERVAL = 1

    def get_verification_uri(self) -> str:
        return self.server.owner.base_url + "/device"

    def save_device_credential(self, client_id: str, scope: str, data: dict[str, Any]) -> None:
        owner = self.server.owner
        record = DeviceCredentialDict(client_id=client_id, scope=scope,
                                      expires_at=time.time() + owner.device_expires_in, **data)
        owner.devices[data["device_code"]] = record
        owner.user_codes.append(data["user_code"])


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.owner.tokens.get(token_string)

    def check_permission(self, token: Token, client: Client, request: Any) -> bool:
        return client.introspect

    def introspect_token(self, token: Token) -> dict[str, Any]:
        return {"active": True, "client_id": token.client_id, "username": token.user,
                "scope": token.scope, "token_type": "Bearer",
                "exp": int(token.issued_at + token.expires_in), "iat": int(token.issued_at)}


class ClientAssertion(JWTBearerClientAssertion):
    def __init__(self, owner: OAuthServer) -> None:
        super().__init__(validate_jti=False)
        self.owner = owner

    def get_audiences(self) -> list[str]:
        return [self.owner.token_url]

    def resolve_client_public_key(self, client: Client) -> Any:
        from joserfc.jwk import RSAKey

        return RSAKey.import_key(client.public_key)

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        from authlib.oauth2.rfc6749.errors import InvalidClientError

        headers, claims = self.extract_assertion(assertion)
        client = self.owner.clients.get(str(claims.get("sub")))
        if client is not None and client.x5t and headers.get("x5t") != client.x5t:
            # like Entra: the assertion must name the registered certificate
            raise InvalidClientError(description="AADSTS700027: the certificate (x5t) is "
                                     "not registered for this application")
        return super().process_assertion_claims(assertion, resolve_key)


@dataclass
class Seen:
    path: str
    grant_type: str
    at: float = field(default_factory=time.monotonic)


class OAuthServer:
    def __init__(self, ca: TestCA, *, cert: str = "valid") -> None:
        self.ca, self.cert = ca, cert
        self.clients: dict[str, Client] = {}
        self.users: set[str] = set()
        self.tokens: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        self.devices: dict[str, DeviceCredentialDict] = {}
        self.grants: dict[str, tuple[str, bool]] = {}
        self.user_codes: list[str] = []
        self.polls: dict[str, int] = {}
        self.slow_down_on: set[int] = set()
        self.device_expires_in = 600
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        server = _Server(self)
        server.register_grant(ClientCredentials)
        server.register_grant(JWTBearer)
        server.register_grant(DeviceCode)
        server.register_grant(RefreshToken)
        server.register_endpoint(DeviceAuthorization)
        server.register_endpoint(Introspection)
        self.server = server

    # -- set-up ------------------------------------------------------------------
    def add_client(self, client_id: str, **kwargs: Any) -> Client:
        client = Client(client_id, **kwargs)
        self.clients[client_id] = client
        return client

    def approve(self, user_code: str, user: str) -> None:
        self.grants[user_code] = (user, True)

    def deny(self, user_code: str) -> None:
        self.grants[user_code] = ("", False)

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            for record in self.refresh.values():
                record.refresh_revoked = True

    def revoke_access_tokens(self) -> None:
        with self.lock:
            for record in self.tokens.values():
                record.revoked = True

    def wait_for_user_code(self, timeout: float = 10) -> str:
        until = time.monotonic() + timeout
        while not self.user_codes and time.monotonic() < until:
            time.sleep(0.02)
        return self.user_codes[-1]

    def issued(self, token: str) -> Token | None:
        return self.tokens.get(token)

    # -- URLs ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def device_url(self) -> str:
        return self.base_url + "/devicecode"

    @property
    def introspect_url(self) -> str:
        return self.base_url + "/introspect"

    # -- life cycle ----------------------------------------------------------------
    def start(self) -> OAuthServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                request = _Request(owner.base_url + self.path, dict(self.headers), body)
                owner.requests.append(Seen(self.path, request.form.get("grant_type", "")))
                if self.path == "/token":
                    status, payload, _headers = owner.server.create_token_response(request)
                elif self.path == "/devicecode":
                    status, payload, _headers = owner.server.create_endpoint_response(
                        DeviceAuthorization.ENDPOINT_NAME, request)
                elif self.path == "/introspect":
                    status, payload, _headers = owner.server.create_endpoint_response(
                        Introspection.ENDPOINT_NAME, request)
                else:
                    status, payload = 404, {"error": "not_found"}
                data = json.dumps(payload).encode() if isinstance(payload, dict) else \
                    (payload or b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        httpd = ThreadingHTTPServer((HOST, 0), Handler)
        httpd.daemon_threads = True
        httpd.socket = self.ca.server_context(self.cert).wrap_socket(httpd.socket,
                                                                      server_side=True)
        self.port = httpd.server_address[1]
        self.server.register_client_auth_method(
            ClientAssertion.CLIENT_AUTH_METHOD, ClientAssertion(self))
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)


# DEVICE_CODE_GRANT_TYPE is re-exported for the tests
__all__ = ["DEVICE_CODE_GRANT_TYPE", "OAuthServer", "Client", "Token"]


# --- a whole lab: the authorization server, its clients and a matching SMTP server ----

MAILBOX = "pbx@example.org"
CLIENT_SECRET = "Sentinel-Client-Secret-5d1e"
SERVICE_ACCOUNT = "mailer@appliance-test.iam.example"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthLab:
    """``lab.auth`` (OAuthServer) with the clients "app" (client credentials,
    secret CLIENT_SECRET), SERVICE_ACCOUNT (jwt_bearer, key in ``lab.key_file``),
    "device-app" (public: device code + refresh) and the resource server "smtp"
    (may introspect); ``lab.smtp(**kw)`` starts a CaptureServer that accepts
    their tokens; ``lab.settings_values(flow, smtp)`` -> flat settings."""

    def __init__(self, ca: TestCA, directory: Any, smtp_factory: Any) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.ca, self.directory, self._smtp_factory = ca, directory, smtp_factory
        self.auth = OAuthServer(ca).start()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.private_key = private
        self.key_file = directory / "service-account.json"
        self.key_file.write_text(json.dumps({"type": "service_account",
                                             "client_email": SERVICE_ACCOUNT,
                                             "private_key": private}))
        self.key_file.chmod(0o600)
        self.auth.users.add(MAILBOX)
        self.auth.add_client("app", secret=CLIENT_SECRET, grants=("client_credentials",),
                             scope="smtp")
        self.auth.add_client(SERVICE_ACCOUNT, grants=(JWT_GRANT,), scope="smtp",
                             public_key=public)
        self.cert_file = directory / "app-certificate.pem"
        cert = _self_signed(key, "mailconsole test app")
        self.cert_file.write_text(private + cert)
        self.cert_file.chmod(0o600)
        self.auth.add_client("cert-app", grants=("client_credentials",), scope="smtp",
                             public_key=public, x5t=_thumbprint(cert))
        self.auth.add_client("device-app", grants=(DEVICE_CODE_GRANT_TYPE, "refresh_token"),
                             scope="smtp offline")
        self.auth.add_client("smtp", secret="resource-server-secret", grants=(),
                             introspect=True)

    def smtp(self, *, mechanisms: tuple[str, ...] = ("XOAUTH2",), fail: str = "",
             mailboxes: dict[str, set[str]] | None = None, **kwargs: Any) -> Any:
        oauth = {"url": self.auth.introspect_url, "client_id": "smtp",
                 "secret": "resource-server-secret", "ca_file": str(self.ca.ca_file),
                 "mailboxes": {"app": {MAILBOX}} if mailboxes is None else mailboxes,
                 "fail": fail}
        return self._smtp_factory(tls="starttls", user=MAILBOX, mechanisms=mechanisms,
                                  oauth=oauth, **kwargs)

    def settings_values(self, flow: str, smtp: Any, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            **smtp.settings_values(),
            "mail.smtp.username": MAILBOX, "mail.smtp.password": "",
            "mail.smtp.auth_method": "oauth2", "mail.smtp.oauth2.flow": flow,
            "mail.smtp.oauth2.token_url": self.auth.token_url, "mail.smtp.oauth2.scope": "smtp",
        }
        if flow == "client_credentials":
            values.update({"mail.smtp.oauth2.client_id": "app",
                           "mail.smtp.oauth2.client_secret": CLIENT_SECRET})
        elif flow == "jwt_bearer":
            values.update({"mail.smtp.oauth2.key_file": str(self.key_file)})
        else:
            values.update({"mail.smtp.oauth2.client_id": "device-app",
                           "mail.smtp.oauth2.device_authorization_url": self.auth.device_url,
                           "mail.smtp.oauth2.scope": "smtp offline"})
        values.update(overrides)
        return values

    def stop(self) -> None:
        self.auth.stop()


def _self_signed(key: Any, name: str) -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _thumbprint(cert_pem: str) -> str:
    """base64url(SHA-1 of the DER certificate), as Microsoft Entra's x5t."""
    import base64
    import hashlib
    import ssl

    der = ssl.PEM_cert_to_DER_cert(cert_pem)
    return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
