"""The OAuth2 token store: refresh and access tokens outside the TOML file.

The TOML file is edited by people and keeps their comments; tokens change on
every refresh, so they live in their own file beside it,
``<config file>.oauth2.json`` (:func:`token_path`), mode 0600, replaced
atomically (config.store.write_atomic) under an exclusive lock.  Entries are
keyed by a fingerprint of what the token was issued for (flow, token URL,
client id, scope, account): changing any of these settings leaves the old
token unused.

    store = TokenStore(path)
    store.get(key) -> dict | None
    store.update(key, fn)           # fn(old entry or None) -> new entry or None
    store.entries() -> {key: entry}
    store.clear() -> int            # entries removed (oauth logout)

An entry holds: flow, account, token_url, client_id, scope, access_token,
expires_at (epoch seconds), refresh_token, refresh_obtained_at,
refresh_expires_at (0: unknown).  Nothing here ever prints a token.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from config.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from config.model import Settings
    from config.validate import Problem

    Entry = dict[str, Any]

SUFFIX = ".oauth2.json"
WARN_DAYS = 7  # validate warns this long before a refresh token's known end


def token_path(config_path: str | os.PathLike[str]) -> str:
    """The token file of the configuration at ``config_path``."""
    return os.path.realpath(config_path) + SUFFIX


def resolve_url(url: str, tenant: str) -> str:
    return url.replace("{tenant}", tenant)


def account_of(settings: Settings) -> str:
    smtp = settings.mail.smtp
    return smtp.oauth2.subject or smtp.username


def fingerprint(settings: Settings) -> str:
    """What a token was issued for, as a short stable key."""
    import hashlib

    o = settings.mail.smtp.oauth2
    parts = (o.flow, resolve_url(o.token_url, o.tenant), o.client_id, o.scope,
             account_of(settings))
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:24]


class TokenStore:
    def __init__(self, path: str) -> None:
        self.path = path

    def _read(self) -> dict[str, Entry]:
        import json

        try:
            with open(self.path, "rb") as fh:
                raw = fh.read(1024 * 1024)
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {}  # a damaged store is as good as none: sign in again
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(v, dict)}

    def entries(self) -> dict[str, Entry]:
        return self._read()

    def get(self, key: str) -> Entry | None:
        return self._read().get(key)

    def _write(self, entries: dict[str, Entry]) -> None:
        import json
        from pathlib import Path

        from config.store import write_atomic

        data = json.dumps({"version": 1, "entries": entries}, indent=1, sort_keys=True)
        write_atomic(Path(self.path), data.encode("utf-8") + b"\n", like=None)

    def update(self, key: str, fn: Callable[[Entry | None], Entry | None]) -> Entry | None:
        """Read-modify-write one entry under the lock; the file is always 0600."""
        from pathlib import Path

        from config.store import locked

        with locked(Path(self.path)):
            entries = self._read()
            new = fn(entries.get(key))
            if new is None:
                entries.pop(key, None)
            else:
                entries[key] = new
            self._write(entries)
            return new

    def clear(self) -> int:
        from pathlib import Path

        from config.store import locked

        with locked(Path(self.path)):
            entries = self._read()
            if os.path.exists(self.path):
                os.unlink(self.path)
            return len(entries)


def token_problems(settings: Settings, config_path: str | os.PathLike[str],
                   now: float | None = None) -> list[Problem]:
    """Warnings about the stored sign-in of the device code flow: none yet,
    or a refresh token near or past its known lifetime."""
    from config.validate import WARNING, Problem

    smtp = settings.mail.smtp
    if not (settings.mail.relay == "external" and smtp.authentication
            and smtp.auth_method == "oauth2" and smtp.oauth2.flow == "device_code"):
        return []
    import time

    now = time.time() if now is None else now
    entry = TokenStore(token_path(config_path)).get(fingerprint(settings))
    key = "mail.smtp.oauth2.flow"
    if not entry or not entry.get("refresh_token"):
        return [Problem(key, WARNING, _(
            "nobody has signed in for this account yet: run 'mailconsole oauth login'"))]
    ends = float(entry.get("refresh_expires_at") or 0)
    if not ends:
        return []
    when = time.strftime("%Y-%m-%d", time.localtime(ends))
    if ends <= now:
        return [Problem(key, WARNING, _(
            "the stored sign-in expired on {date}: run 'mailconsole oauth login' again"
        ).format(date=when))]
    if ends - now <= WARN_DAYS * 86400:
        return [Problem(key, WARNING, _(
            "the stored sign-in expires on {date}; a send renews it, or run 'mailconsole "
            "oauth login' again").format(date=when))]
    return []
