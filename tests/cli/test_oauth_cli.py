"""The OAuth2 commands end to end: presets, the client secret on standard input,
`oauth login` (device code) against the authlib authorization server,
`oauth status`, `test-mail` with the token, `oauth logout`, and `validate`'s
warning about a sign-in near its end.  No token is ever printed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

from config.tokens import TokenStore, token_path
from tests.cli.conftest import ROOT, cli_env
from tests.servers.oauth import CLIENT_SECRET, MAILBOX


def assignments(values: dict) -> list[str]:
    out = []
    for k, v in values.items():
        if k.endswith("client_secret") or k.endswith("password"):
            continue
        out.append(f"{k}={str(v).lower() if isinstance(v, bool) else v}")
    return out


def no_token(lab, *texts: str) -> None:
    for token in lab.auth.tokens.values():
        for secret in (token.access_token, token.refresh_token):
            for text in texts:
                assert not secret or secret not in text


def test_preset_list_and_an_unknown_preset(run):
    listed = run("preset", "--list")
    assert listed.code == 0
    names = [line.split()[0] for line in listed.out.splitlines()]
    assert {"other", "microsoft365", "microsoft365-device", "google-workspace",
            "gmail"} <= set(names)
    bad = run("preset", "hotmail")
    assert bad.code == 2 and "microsoft365" in bad.err


def test_preset_fills_the_keys_prints_the_checklist_and_saves_with_the_secret(run, cfg):
    check = run("preset", "microsoft365", "--check")
    assert check.code == 1
    assert "Set-CASMailbox" in check.out and "SMTP.SendAsApp" in check.out
    assert "Still missing: mail.smtp.oauth2.tenant" in check.out
    assert not cfg.exists()
    done = run("preset", "microsoft365", "mail.smtp.oauth2.tenant=contoso.example",
               "mail.smtp.oauth2.client_id=11111111-2222", f"mail.smtp.username={MAILBOX}",
               f"mail.sender={MAILBOX}", "--client-secret-stdin", stdin=CLIENT_SECRET + "\n")
    assert done.code == 0, done.err
    text = cfg.read_text()
    assert 'auth_method = "oauth2"' in text and 'server = "smtp.office365.com:587"' in text
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
    shown = run("show")
    assert "# mail.smtp.oauth2.client_secret = (set)" in shown.out
    assert CLIENT_SECRET not in shown.out + done.out + done.err
    refused = run("get", "mail.smtp.oauth2.client_secret")
    assert refused.code == 2
    on_line = run("set", f"mail.smtp.oauth2.client_secret={CLIENT_SECRET}")
    assert on_line.code == 2 and "--client-secret-stdin" in on_line.err
    assert CLIENT_SECRET not in on_line.err
    diff = run("apply", "-", "--check", stdin='[mail.smtp.oauth2]\nclient_secret = "other-1"\n')
    assert "other-1" not in diff.out and "********" in diff.out


def test_client_credentials_test_mail_through_the_cli(run, cfg, oauth_lab):
    smtp = oauth_lab.smtp()
    values = oauth_lab.settings_values("client_credentials", smtp)
    saved = run("set", *assignments(values), "--client-secret-stdin", stdin=CLIENT_SECRET + "\n")
    assert saved.code == 0, saved.err
    sent = run("test-mail", "--to", "admin@example.org")
    assert sent.code == 0, sent.out + sent.err
    assert "Get a token from 127.0.0.1" in sent.out and "(OAuth2)" in sent.out
    assert smtp.wait_for_messages(1)
    status = run("oauth", "status", "--json")
    info = status.json()
    assert info["access_token"] == "valid" and info["account"] == MAILBOX
    no_token(oauth_lab, sent.out, sent.err, status.out)
    stored = TokenStore(token_path(cfg)).entries()
    assert len(stored) == 1
    assert stat.S_IMODE(os.stat(token_path(cfg)).st_mode) == 0o600
    out = run("oauth", "logout")
    assert out.code == 0 and not os.path.exists(token_path(cfg))


def test_device_login_status_send_and_logout(run, cfg, oauth_lab):
    smtp = oauth_lab.smtp()
    values = oauth_lab.settings_values("device_code", smtp)
    assert run("set", *assignments(values)).code == 0
    before = run("validate")
    assert "oauth login" in before.out  # nobody signed in yet: a warning
    assert run("test-mail", "--to", "admin@example.org").code == 1

    def approve() -> None:
        oauth_lab.auth.approve(oauth_lab.auth.wait_for_user_code(), MAILBOX)

    helper = threading.Thread(target=approve, daemon=True)
    helper.start()
    login = run("oauth", "login")
    helper.join(5)
    assert login.code == 0, login.err
    code = oauth_lab.auth.user_codes[-1]
    assert f"enter the code {code}" in login.out and "/device" in login.out
    assert "Signed in" in login.out
    status = run("oauth", "status")
    assert "sign-in (refresh token): stored" in status.out
    sent = run("test-mail", "--to", "admin@example.org")
    assert sent.code == 0, sent.out + sent.err
    no_token(oauth_lab, login.out, login.err, status.out, sent.out, sent.err)
    # a sign-in near the end of its known lifetime: validate warns
    path = token_path(cfg)
    store = TokenStore(path)
    key = next(iter(store.entries()))
    store.update(key, lambda e: {**e, "refresh_expires_at": time.time() + 2 * 86400})
    warned = run("validate")
    assert "the stored sign-in expires on" in warned.out
    store.update(key, lambda e: {**e, "refresh_expires_at": time.time() - 60})
    assert "the stored sign-in expired on" in run("validate").out
    assert run("oauth", "logout").code == 0
    assert json.loads(run("oauth", "status", "--json").out)["refresh_token"] == "none"


def test_oauth_login_is_refused_for_the_headless_flows(run, oauth_lab):
    smtp = oauth_lab.smtp()
    values = oauth_lab.settings_values("client_credentials", smtp)
    run("set", *assignments(values), "--client-secret-stdin", stdin=CLIENT_SECRET + "\n")
    refused = run("oauth", "login")
    assert refused.code == 1 and "device_code" in refused.err


def test_ctrl_c_cancels_the_device_login(run, cfg, oauth_lab):
    smtp = oauth_lab.smtp()
    assert run("set", *assignments(oauth_lab.settings_values("device_code", smtp))).code == 0
    env = cli_env(MAILCONSOLE_CONFIG=str(cfg),
                  SSL_CERT_FILE=str(oauth_lab.ca.ca_file))
    proc = subprocess.Popen([sys.executable, "-m", "mailconsole", "oauth", "login"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        oauth_lab.auth.wait_for_user_code(timeout=20)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "enter the code" in out
    assert not TokenStore(token_path(cfg)).entries()
