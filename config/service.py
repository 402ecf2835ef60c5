"""The settings service: what the TUI and the CLI call (never the store directly).

INTERFACE (contract; the config helper implements it, the TUI and CLI use it):

    svc = SettingsService(path)           # path: str | Path of the TOML file
    svc.path                              # Path
    svc.load() -> Settings                # reads the file (missing -> defaults, no write);
                                          # raises ConfigSyntaxError / ConfigTypeError;
                                          # remembers what it loaded (for conflicts)
    svc.settings -> Settings              # what was last loaded
    svc.validate(settings) -> list[Problem]   # config.validate.validate + file-mode warning
    svc.render(settings) -> str           # the new file text (leaf edits, comments kept)
    svc.diff(settings) -> str             # unified diff loaded file -> render, password redacted
                                          # ("" when nothing changes)
    svc.save(settings, *, force=False) -> bool
                                          # validates (ConfigInvalidError on errors), locks,
                                          # checks the file did not change since load
                                          # (ConfigConflictError unless force), atomic write,
                                          # .bak; True if the file changed
    svc.update(values: dict[str, Value]) -> tuple[Settings, bool]
                                          # lock; reload; apply; validate; save.  For CLI `set`.
    svc.apply_toml(text: str, *, check=False) -> ApplyResult(changed: bool, diff: str, settings)
                                          # merge a partial TOML document (its known keys)
    svc.reset(keys: list[str]) -> tuple[Settings, bool]   # back to defaults (CLI `unset`)

Additions (same module, also public):

    svc.exists -> bool                    # the file existed when last loaded
    svc.file_mode -> int | None           # st_mode of the file now (None if missing)
    svc.rebase(settings) -> Settings      # after a ConfigConflictError: reload the file and
                                          # re-apply the keys changed since the last load on
                                          # top of it ("apply my edits to the new file")
    svc.update(callable)                  # update also takes f(current Settings) -> values,
                                          # called under the lock (read-modify-write)
    svc.apply_toml(text, check=..., source="FILE")   # source names the input in errors
    DEFAULT_PATH                          # Path("/etc/mailconsole/mail.toml"), the one default
    default_config_path() -> Path         # $MAILCONSOLE_CONFIG or DEFAULT_PATH

Notes: for a missing file, saving writes the commented template (with the
given values), so ``diff`` shows the whole new file and ``save`` returns True
even when ``settings`` equal the defaults.  To know whether the user edited
anything, compare ``settings.changed_keys(svc.settings)``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import store
from config.errors import ConfigConflictError, ConfigInvalidError, ConfigTypeError
from config.i18n import _
from config.model import FIELDS, REDACTED, SECRET_KEYS, Settings, Value, check_type
from config.validate import Problem, errors, validate

DEFAULT_PATH = Path("/etc/mailconsole/mail.toml")  # the one default (CLI, screen, docs)


def default_config_path() -> Path:
    """``$MAILCONSOLE_CONFIG`` if set, else :data:`DEFAULT_PATH`."""
    env = os.environ.get("MAILCONSOLE_CONFIG")
    return Path(env) if env else DEFAULT_PATH


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What apply_toml did."""

    changed: bool
    diff: str
    settings: Settings


Values = Mapping[str, Value]


class SettingsService:
    """Load, validate, diff and save one TOML config file (see module doc)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._snap: store.Snapshot | None = None

    # -- reading -------------------------------------------------------------
    def load(self) -> Settings:
        store.cleanup_temps(os.path.realpath(self.path), only_dead=True)
        self._snap = store.read(self.path)
        return self._snap.settings

    @property
    def _snapshot(self) -> store.Snapshot:
        if self._snap is None:
            self.load()
        assert self._snap is not None
        return self._snap

    @property
    def settings(self) -> Settings:
        return self._snapshot.settings

    @property
    def exists(self) -> bool:
        return self._snapshot.exists

    @property
    def file_mode(self) -> int | None:
        try:
            return os.stat(os.path.realpath(self.path)).st_mode
        except OSError:
            return None

    def validate(self, settings: Settings | None = None) -> list[Problem]:
        settings = self.settings if settings is None else settings
        problems = validate(settings, file_mode=self.file_mode)
        if settings.mail.smtp.auth_method == "oauth2":
            from config.tokens import token_problems

            problems += token_problems(settings, self.path)
        return problems

    # -- rendering -----------------------------------------------------------
    def render(self, settings: Settings) -> str:
        return store.render(self._snapshot, settings)

    def diff(self, settings: Settings) -> str:
        return self._diff(self._snapshot, settings, store.render(self._snapshot, settings))

    def _diff(self, snap: store.Snapshot, settings: Settings, new: str) -> str:
        old = snap.text if snap.text is not None else ""
        if old == new:
            return ""
        changed = {k for k in SECRET_KEYS if snap.settings.get(k) != settings.get(k)}
        old_shown = masked(old, set())
        new_shown = masked(new, changed)
        if old_shown is None or new_shown is None:
            return _("(the diff is not shown: the secrets in the file could not be located "
                     "to hide them)\n")
        lines = difflib.unified_diff(
            old_shown.replace("\r\n", "\n").splitlines(keepends=True),
            new_shown.replace("\r\n", "\n").splitlines(keepends=True),
            fromfile=str(self.path) if snap.exists else "/dev/null",
            tofile=str(self.path),
        )
        return "".join(lines)

    # -- writing -------------------------------------------------------------
    def _check(self, settings: Settings) -> None:
        problems = self.validate(settings)
        if errors(problems):
            raise ConfigInvalidError(problems)

    def _write(self, snap: store.Snapshot, settings: Settings) -> bool:
        """Render onto ``snap`` and write it; the caller holds the lock."""
        text = store.render(snap, settings)
        if snap.exists and text == snap.text:
            self._snap = snap
            return False
        raw = text.encode("utf-8")
        store.cleanup_temps(snap.real, only_dead=False)
        store.save_bytes(snap.real, raw, old=snap.raw, shown=str(self.path))
        self._snap = store.snapshot_of(self.path, raw, self.file_mode)
        return True

    def save(self, settings: Settings, *, force: bool = False) -> bool:
        self._check(settings)
        snap = self._snapshot
        with store.locked(snap.real, str(self.path)):
            current = store.read_current_bytes(snap.real)
            if current != snap.raw:
                if not force:
                    raise ConfigConflictError(str(self.path))
                snap = store.read(self.path)
            return self._write(snap, settings)

    def rebase(self, settings: Settings) -> Settings:
        """Reload; return the new file's settings with the keys changed since
        the last load (``settings`` vs what was loaded) applied on top."""
        edits = {k: settings.get(k) for k in settings.changed_keys(self.settings)}
        return self.load().with_values(edits)

    def update(self, values: Values | Callable[[Settings], Values]) -> tuple[Settings, bool]:
        real = store.real_path(self.path)
        with store.locked(real, str(self.path)):
            snap = store.read(self.path)
            self._snap = snap
            vals = values(snap.settings) if callable(values) else values
            new = snap.settings.with_values(vals)
            self._check(new)
            changed = self._write(snap, new)
            return new, changed

    def reset(self, keys: Iterable[str]) -> tuple[Settings, bool]:
        values: dict[str, Value] = {}
        for key in keys:
            if key not in FIELDS:
                raise ConfigTypeError(key, _("is not a known setting"))
            values[key] = FIELDS[key].default
        return self.update(values)

    def apply_toml(self, text: str, *, check: bool = False,
                   source: str = "<input>") -> ApplyResult:
        values = parse_partial(text, source)
        if check:
            snap = store.read(self.path)
            self._snap = snap
            new = snap.settings.with_values(values)
            self._check(new)
            rendered = store.render(snap, new)
            diff = self._diff(snap, new, rendered)
            return ApplyResult(not snap.exists or rendered != snap.text, diff, new)
        real = store.real_path(self.path)
        with store.locked(real, str(self.path)):
            snap = store.read(self.path)
            self._snap = snap
            new = snap.settings.with_values(values)
            self._check(new)
            diff = self._diff(snap, new, store.render(snap, new))
            changed = self._write(snap, new)
            return ApplyResult(changed, diff, new)


def parse_partial(text: str, source: str = "<input>") -> dict[str, Value]:
    """The known keys of a partial TOML document; unknown keys and wrong types
    raise ConfigTypeError naming the key path (never echoing the password)."""
    data = store.parse_data(text, source)
    out: dict[str, Value] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            path = f"{prefix}{k}"
            if path in FIELDS:
                out[path] = check_type(path, v)
            elif isinstance(v, Mapping) and any(p.startswith(path + ".") for p in FIELDS):
                walk(v, path + ".")
            else:
                raise ConfigTypeError(path, _("is not a known setting"), path=source)

    try:
        walk(data, "")
    except ConfigTypeError as e:
        raise ConfigTypeError(e.key, e.message, path=source) from None
    return out


CHANGED_MASK = REDACTED + " (changed)"


def masked(text: str, changed: set[str]) -> str | None:
    """``text`` (a whole TOML file) with the value of every secret key
    replaced, on the parsed document, by a fixed mask: REDACTED, or
    CHANGED_MASK for the keys in ``changed``.  Whatever the key's spelling
    (quoted, dotted, in an inline table) or the value's (escapes, multi-line),
    the mask replaces the value itself; nothing is searched for in the text.
    None if the file cannot be parsed or a secret could not be replaced (the
    caller then shows no diff at all)."""
    if not text.strip():
        return text
    import tomllib

    import tomlkit

    try:
        doc = tomlkit.parse(text)
        wanted: dict[str, str] = {}
        for key in SECRET_KEYS:
            *tables, leaf = key.split(".")
            node: Any = doc
            for part in tables:
                if not isinstance(node, Mapping) or part not in node:
                    node = None
                    break
                node = node[part]
            if isinstance(node, Mapping) and leaf in node and node[leaf] != "":
                mask = CHANGED_MASK if key in changed else REDACTED
                table: Any = node  # a tomlkit Container/Table (mutable)
                table[leaf] = tomlkit.string(mask)
                wanted[key] = mask
        result = doc.as_string()
        data = tomllib.loads(result)
    except Exception:  # tomlkit's parse and edit raise various errors
        return None
    for key, mask in wanted.items():  # check: every secret is now the mask
        node = data
        for part in key.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if node != mask:
            return None
    return result
