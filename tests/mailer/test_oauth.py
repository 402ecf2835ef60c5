"""OAuth2 for SMTP against real servers on loopback: an authlib authorization
server (HTTPS; client credentials, JWT bearer, device code, refresh, their
errors, introspection) and an aiosmtpd server that accepts XOAUTH2 /
OAUTHBEARER only for tokens that authorization server issued (it asks by
token introspection, RFC 7662)."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest

from config.model import Settings
from config.tokens import TokenStore, fingerprint
from mailer import oauth, send_test_mail
from mailer.oauth import OAuthError, device_login
from tests.servers.oauth import CLIENT_SECRET, MAILBOX

RCPT = "admin@example.org"


def settings_for(lab, flow, smtp, **overrides) -> Settings:
    return Settings().with_values(lab.settings_values(flow, smtp, **overrides))


def step(report, name, index=-1):
    return [s for s in report.steps if s.name == name][index]


def token_requests(lab) -> list[str]:
    return [r.grant_type for r in lab.auth.requests if r.path == "/token"]


def test_client_credentials_token_then_xoauth2_and_the_mail_arrives(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    tokens = str(tmp_path / "mail.toml.oauth2.json")
    report = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp),
                            recipient=RCPT, token_file=tokens)
    assert report.ok, report.failure
    names = [s.name for s in report.steps]
    assert names.index("token") < names.index("connect") < names.index("login")
    assert step(report, "token").status == "ok" and "new token" in step(report, "token").detail
    assert step(report, "login").detail == "mechanism XOAUTH2"
    assert [a.ok for a in smtp.auth_attempts] == [True]
    assert smtp.introspections[-1]["active"] and smtp.introspections[-1]["client_id"] == "app"
    assert smtp.wait_for_messages(1)[0].user == MAILBOX
    assert token_requests(oauth_lab) == ["client_credentials"]
    assert stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    # the second send reuses the token (no request to the token endpoint)
    oauth._MEMORY.clear()  # from the token file, as a new process would
    again = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp),
                           recipient=RCPT, token_file=tokens)
    assert again.ok, again.failure
    assert "cached token" in step(again, "token").detail
    assert token_requests(oauth_lab) == ["client_credentials"]


def test_jwt_bearer_service_account_with_oauthbearer(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp(mechanisms=("OAUTHBEARER", "XOAUTH2"))
    report = send_test_mail(settings=settings_for(oauth_lab, "jwt_bearer", smtp),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.ok, report.failure
    assert step(report, "login").detail == "mechanism OAUTHBEARER"
    assert smtp.auth_attempts[-1].mechanism == "OAUTHBEARER" and smtp.auth_attempts[-1].ok
    issued = [t for t in oauth_lab.auth.tokens.values()]
    assert [t.user for t in issued] == [MAILBOX]  # sub = the mailbox (domain-wide delegation)
    assert token_requests(oauth_lab) == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


def test_certificate_credentials_sign_a_client_assertion_with_the_thumbprint(oauth_lab,
                                                                            tmp_path):
    """client_credentials with key_file = key + certificate: a private_key_jwt
    assertion (RFC 7523 2.2) whose x5t the authorization server checks."""
    smtp = oauth_lab.smtp(mailboxes={"cert-app": {MAILBOX}})
    settings = settings_for(oauth_lab, "client_credentials", smtp, **{
        "mail.smtp.oauth2.client_id": "cert-app", "mail.smtp.oauth2.client_secret": "",
        "mail.smtp.oauth2.key_file": str(oauth_lab.cert_file)})
    report = send_test_mail(settings=settings, recipient=RCPT,
                            token_file=str(tmp_path / "t.json"))
    assert report.ok, report.failure
    assert [t.client_id for t in oauth_lab.auth.tokens.values()] == ["cert-app"]
    # another certificate's thumbprint: the client is not authenticated
    oauth_lab.auth.clients["cert-app"].x5t = "not-this-certificate"
    oauth._MEMORY.clear()
    report = send_test_mail(settings=settings, recipient=RCPT,
                            token_file=str(tmp_path / "t2.json"))
    assert report.failure is not None and report.failure.cls == "oauth_invalid_client"


@pytest.mark.parametrize("change,cls", [
    ({"mail.smtp.oauth2.client_secret": "not-the-secret"}, "oauth_invalid_client"),
    ({"mail.smtp.oauth2.client_id": "nobody"}, "oauth_invalid_client"),
    ({"mail.smtp.oauth2.scope": "imap"}, "oauth_invalid_scope"),
])
def test_token_endpoint_errors_are_classified_before_any_smtp(oauth_lab, tmp_path, change, cls):
    smtp = oauth_lab.smtp()
    report = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp,
                                                  **change),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == cls, report.failure
    assert report.failure.step == "token"
    assert smtp.events == []  # no connection to the mail server was wasted
    assert "App registrations" not in report.failure.advice or cls != "oauth_invalid_scope"


def test_missing_consent_names_the_portal(oauth_lab, tmp_path):
    oauth_lab.auth.clients["app"].consent = False
    smtp = oauth_lab.smtp()
    report = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_consent_required"
    assert "AADSTS65001" in report.failure.message
    assert "Grant admin consent" in report.failure.advice


def test_a_client_not_allowed_the_grant_is_unauthorized_client(oauth_lab, tmp_path):
    oauth_lab.auth.clients["app"].grants = ()
    smtp = oauth_lab.smtp()
    report = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_unauthorized_client"


def test_a_service_account_for_an_unknown_mailbox_is_invalid_grant(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    settings = settings_for(oauth_lab, "jwt_bearer", smtp,
                            **{"mail.smtp.oauth2.subject": "stranger@example.org"})
    report = send_test_mail(settings=settings, recipient=RCPT,
                            token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_invalid_grant"
    assert "subject" in report.failure.advice


def test_a_token_for_another_mailbox_is_refused_by_the_smtp_server(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp(mailboxes={"app": {"other@example.org"}},
                          fail="535 5.7.3 Authentication unsuccessful")
    report = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_token_refused"
    assert "5.7.3" in report.failure.message and report.failure.step == "login"
    assert smtp.messages == []


def test_a_cached_token_revoked_meanwhile_is_renewed_within_the_session(oauth_lab, tmp_path):
    """The token expires (here: is revoked) between two sends: the second send's
    cached token is refused by the SMTP server, the mailer gets a new one and
    logs in again in the same session."""
    smtp = oauth_lab.smtp()
    tokens = str(tmp_path / "t.json")
    settings = settings_for(oauth_lab, "client_credentials", smtp)
    assert send_test_mail(settings=settings, recipient=RCPT, token_file=tokens).ok
    oauth_lab.auth.revoke_access_tokens()
    report = send_test_mail(settings=settings, recipient=RCPT, token_file=tokens)
    assert report.ok, report.failure
    assert [s.status for s in report.steps if s.name in ("token", "login")] == \
        ["ok", "warning", "ok", "ok"]
    assert [a.ok for a in smtp.auth_attempts] == [True, False, True]
    assert token_requests(oauth_lab) == ["client_credentials", "client_credentials"]


def test_a_token_near_its_expiry_is_not_reused(oauth_lab, tmp_path):
    oauth_lab.auth.clients["app"].expires_in = oauth.EXPIRY_MARGIN + 1
    smtp = oauth_lab.smtp()
    tokens = str(tmp_path / "t.json")
    settings = settings_for(oauth_lab, "client_credentials", smtp)
    assert send_test_mail(settings=settings, recipient=RCPT, token_file=tokens).ok
    time.sleep(1.2)
    report = send_test_mail(settings=settings, recipient=RCPT, token_file=tokens)
    assert report.ok, report.failure
    assert "new token" in step(report, "token").detail
    assert token_requests(oauth_lab) == ["client_credentials", "client_credentials"]


def _login_in_thread(lab, settings, tokens, **kwargs):
    box: dict[str, object] = {}
    prompts = []

    def target() -> None:
        try:
            box["entry"] = device_login(settings, tokens, on_prompt=prompts.append, **kwargs)
        except OAuthError as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box, prompts


def test_device_login_polls_until_approved_then_sends_with_the_refreshed_token(
        oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    tokens = str(tmp_path / "t.json")
    settings = settings_for(oauth_lab, "device_code", smtp)
    thread, box, prompts = _login_in_thread(oauth_lab, settings, tokens)
    code = oauth_lab.auth.wait_for_user_code()
    time.sleep(1.5)  # at least one authorization_pending answer
    oauth_lab.auth.approve(code, MAILBOX)
    thread.join(15)
    assert "entry" in box, box
    assert prompts[0].user_code == code and prompts[0].verification_uri.endswith("/device")
    grants = token_requests(oauth_lab)
    assert grants.count("urn:ietf:params:oauth:grant-type:device_code") >= 2  # pending, then ok
    entry = TokenStore(tokens).get(fingerprint(settings))
    assert entry and entry["refresh_token"] and entry["signed_in_at"]
    # a send after the access token ran out: refreshed with the stored refresh token
    oauth.Client(settings, tokens).forget_access_token()
    old_refresh = entry["refresh_token"]
    report = send_test_mail(settings=settings, recipient=RCPT, token_file=tokens)
    assert report.ok, report.failure
    assert token_requests(oauth_lab)[-1] == "refresh_token"
    rotated = TokenStore(tokens).get(fingerprint(settings))
    assert rotated["refresh_token"] != old_refresh  # the server rotates: the new one is kept
    # a revoked refresh token: the next refresh fails with advice to sign in again
    oauth_lab.auth.revoke_refresh_tokens()
    oauth.Client(settings, tokens).forget_access_token()
    report = send_test_mail(settings=settings, recipient=RCPT, token_file=tokens)
    assert report.failure is not None and report.failure.cls == "oauth_invalid_grant"
    assert "oauth login" in report.failure.advice


def test_device_login_slow_down_adds_five_seconds(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    settings = settings_for(oauth_lab, "device_code", smtp)
    oauth_lab.auth.slow_down_on = {1}
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:  # the waits asked for, without waiting them
        waits.append(seconds)
        if len(waits) == 3:
            oauth_lab.auth.approve(oauth_lab.auth.user_codes[-1], MAILBOX)

    entry = device_login(settings, str(tmp_path / "t.json"), on_prompt=lambda p: None,
                         sleep=fake_sleep)
    assert entry["refresh_token"]
    assert waits[:3] == [1, 6, 6]  # interval 1 s; after slow_down 1 + 5 for every later poll


def test_device_login_errors(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    settings = settings_for(oauth_lab, "device_code", smtp)
    tokens = str(tmp_path / "t.json")
    # declined in the browser
    thread, box, _p = _login_in_thread(oauth_lab, settings, tokens)
    oauth_lab.auth.deny(oauth_lab.auth.wait_for_user_code())
    thread.join(15)
    assert box["error"].cls == "oauth_access_denied"
    # the code expired
    oauth_lab.auth.device_expires_in = 0
    with pytest.raises(OAuthError) as info:
        device_login(settings, tokens, on_prompt=lambda p: None, sleep=lambda s: None)
    assert info.value.cls == "oauth_expired_token"
    # cancelled (the screen's Cancel, Ctrl+C in the CLI)
    oauth_lab.auth.device_expires_in = 600
    cancel = threading.Event()
    thread, box, _p = _login_in_thread(oauth_lab, settings, tokens, cancel=cancel)
    oauth_lab.auth.wait_for_user_code()
    cancel.set()
    thread.join(15)
    assert box["error"].cls == "oauth_cancelled"
    assert TokenStore(tokens).get(fingerprint(settings)) is None


def test_a_send_without_sign_in_says_to_log_in(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    report = send_test_mail(settings=settings_for(oauth_lab, "device_code", smtp),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_login_required"
    assert MAILBOX in report.failure.message


def test_a_server_without_oauth_mechanisms_is_named(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp(mechanisms=("PLAIN", "LOGIN"))
    report = send_test_mail(settings=settings_for(oauth_lab, "client_credentials", smtp),
                            recipient=RCPT, token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_not_offered"
    assert "PLAIN" in report.failure.message


def test_an_unreachable_token_endpoint(oauth_lab, tmp_path):
    smtp = oauth_lab.smtp()
    settings = settings_for(oauth_lab, "client_credentials", smtp,
                            **{"mail.smtp.oauth2.token_url": "https://127.0.0.1:9/token"})
    report = send_test_mail(settings=settings, recipient=RCPT,
                            token_file=str(tmp_path / "t.json"))
    assert report.failure is not None and report.failure.cls == "oauth_unreachable"
    assert CLIENT_SECRET not in report.to_json()
