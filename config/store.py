"""The crash-safe, comment-preserving TOML store underneath SettingsService.

Reading: the file must be UTF-8, at most :data:`MAX_BYTES`, and parse with
both ``tomllib`` (the values) and ``tomlkit`` (the layout used for edits).
Errors come as :class:`ConfigSyntaxError` (``path:line:col: message``) or
:class:`ConfigTypeError` (naming the key path, never echoing the password).

Rendering: only the leaf values that changed are edited in place with
tomlkit, so comments, order, blank lines, quoting style and the newline
style stay; the result is checked with ``tomllib.loads`` against the data
meant, and refused otherwise.  No change renders the exact original text.

Writing: :func:`write_atomic` (temp file in the same directory, fsync, mode
and owner kept, ``os.replace``, directory fsync, temp removed on any error)
under :func:`locked` (an exclusive ``flock`` on ``<name>.lock``).
"""

from __future__ import annotations

import copy
import errno
import fcntl
import os
import re
import stat
import sys
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from config.errors import (
    ConfigError,
    ConfigLockError,
    ConfigSyntaxError,
    ConfigTypeError,
    ConfigWriteError,
)
from config.files import NotRegularFile, read_bounded
from config.i18n import _
from config.model import FIELDS, Settings, Value

if TYPE_CHECKING:
    import tomlkit

# tomlkit (~40 ms to import) and the template are imported only when a file
# is edited: `get`, `show` and `validate` do not need them.

MAX_BYTES = 1024 * 1024
MAX_NESTING = 32        # arrays and inline tables inside each other (mail.toml needs 3)
LOCK_WAIT = 10.0        # seconds one holder may keep us waiting, then ConfigLockError
LOCK_WAIT_TOTAL = 60.0  # seconds in all while the lock passes between other writers
TMP_INFIX = ".tmp-"
NEW_FILE_MODE = 0o600
TABLES = sorted({p.rsplit(".", 1)[0] for p in FIELDS})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One file as read: its bytes (None if missing), text, data and settings."""

    path: Path  # as given (may be a symlink)
    real: Path  # the file actually read and written
    raw: bytes | None
    text: str | None
    data: dict[str, Any]
    settings: Settings
    mode: int | None  # st_mode of the file, None if missing

    @property
    def exists(self) -> bool:
        return self.raw is not None


def real_path(path: str | os.PathLike[str]) -> Path:
    """The file a possibly symlinked ``path`` points to (may not exist yet).

    Links are followed only where that is safe (docs/config.md, "Links"): a link
    whose target does not exist is refused (a save would create the target), and so
    is a link in a directory that someone other than root, this user or the owner of
    the link's target could write (whoever could have planted it could not change the
    target anyway).  :class:`ConfigError` (exit 1) names the link."""
    return Path(_safe_realpath(os.fspath(path)))


_MAX_LINKS = 40  # as the kernel's limit on links in one lookup


def _safe_realpath(path: str) -> str:
    """``os.path.realpath(path)``, checking every link on the way (see real_path)."""
    euid = os.geteuid()
    if not path.startswith("/"):
        path = os.path.join(os.getcwd(), path)
    todo = [p for p in path.split("/") if p not in ("", ".")][::-1]  # a stack
    resolved = "/"
    links = 0
    while todo:
        name = todo.pop()
        if name == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, name)
        try:
            link = os.lstat(candidate)
        except OSError:  # missing (a new file) or unreadable: the rest as it is
            return os.path.normpath(os.path.join(candidate, *todo[::-1]))
        if not stat.S_ISLNK(link.st_mode):
            resolved = candidate
            continue
        links += 1
        if links > _MAX_LINKS:
            raise ConfigError(candidate + ": " + _("too many levels of symbolic links"))
        try:
            target = os.stat(candidate)
        except OSError:
            raise ConfigError(candidate + ": " + _(
                "is a symbolic link to {target}, which does not exist; mailconsole does "
                "not create the target of a link: create the file or remove the link"
            ).format(target=os.readlink(candidate))) from None
        if not _link_is_trusted(os.stat(resolved), link, target.st_uid, euid):
            raise ConfigError(candidate + ": " + _(
                "is a symbolic link in {dir}, a directory that others than root, you and "
                "the owner of the link's target can write; it is not followed (replace "
                "the link with the file, or use the target's path)").format(dir=resolved))
        pointer = os.readlink(candidate)
        if pointer.startswith("/"):
            resolved = "/"
        todo.extend([p for p in pointer.split("/") if p not in ("", ".")][::-1])
    return resolved


def _link_is_trusted(directory: os.stat_result, link: os.stat_result, target_uid: int,
                     euid: int) -> bool:
    """May a link in ``directory`` be followed?  Only if everyone who could have put it
    there could change its target anyway: the directory belongs to root, to us or to
    the target's owner, and nobody else may write it (a sticky directory -- /tmp --
    lets others add names, but only the link's owner replace this one)."""
    trusted = {0, euid, target_uid}
    if directory.st_uid not in trusted:
        return False
    if directory.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return bool(directory.st_mode & stat.S_ISVTX) and link.st_uid in trusted
    return True


def lock_path(real: Path) -> Path:
    return real.with_name(real.name + ".lock")


def backup_path(real: Path) -> Path:
    return real.with_name(real.name + ".bak")


# --- reading ------------------------------------------------------------------


def read_regular(path: str | os.PathLike[str], shown: str,
                 limit: int = MAX_BYTES) -> tuple[bytes, os.stat_result]:
    """The bytes (at most ``limit`` + 1) and the stat of ``path``, opened
    only if it is a regular file: O_NONBLOCK, so a FIFO or a device never
    blocks the open, and fstat before the first read.  ConfigSyntaxError
    (exit 3) for anything else; OSError as open raises it (FileNotFoundError,
    PermissionError...; a directory: IsADirectoryError)."""
    try:
        return read_bounded(path, limit)
    except NotRegularFile as err:
        if stat.S_ISDIR(err.mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path) from None
        raise ConfigSyntaxError(shown, 1, 1, _(
            "is not a regular file (a FIFO, device or socket); give the path of a file"
        )) from None


_NESTING_TOKEN = r"""\"\"\"|'''|["'#\[\]{}]"""
_STRING_END = {
    '"""': r'(?<!\\)(?:\\\\)*"""',   # an unescaped """ (a 4th or 5th quote is content)
    "'''": r"'''",
    '"': r'(?<!\\)(?:\\\\)*"|\n',
    "'": r"'|\n",
}


def check_nesting(text: str, path: str) -> None:
    """ConfigSyntaxError (with line and column) if arrays and inline tables
    nest deeper than :data:`MAX_NESTING` (parsers recurse per level: a
    5000-deep array would end in a RecursionError).  Strings and comments
    are skipped; a file with few brackets is not scanned at all."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return
    token = re.compile(_NESTING_TOKEN)
    ends = {k: re.compile(v) for k, v in _STRING_END.items()}
    depth = pos = 0
    while (m := token.search(text, pos)) is not None:
        tok, pos = m.group(), m.end()
        if tok in ends:
            end = ends[tok].search(text, pos)
            pos = len(text) if end is None else end.end()
        elif tok == "#":
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline + 1
        elif tok in "[{":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise ConfigSyntaxError(path, line, col, _(
                    "arrays or inline tables nested more than {n} deep; this is not a "
                    "mailconsole configuration").format(n=MAX_NESTING))
        else:
            depth = max(depth - 1, 0)


def decode(raw: bytes, path: str) -> str:
    """Bytes -> text, or ConfigSyntaxError for a too large / non-UTF-8 file."""
    if len(raw) > MAX_BYTES:
        raise ConfigSyntaxError(path, 1, 1, _(
            "the file is {size} bytes, larger than the limit of {limit} bytes; this is not "
            "a mailconsole configuration").format(size=len(raw), limit=MAX_BYTES))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigSyntaxError(path, line, col, _(
            "the file is not valid UTF-8 (byte 0x{byte:02x}); save it as UTF-8").format(
                byte=raw[e.start])) from None


_TOMLLIB_POS = r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$"


def parse_data(text: str, path: str) -> dict[str, Any]:
    """Parse ``text``: the plain data (what ``tomllib.loads`` returns) or
    ConfigSyntaxError naming path:line:col.  Too deep nesting
    (:func:`check_nesting`) and integers too long for Python's int() are
    syntax errors too (exit 3), never a crash."""
    check_nesting(text, path)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigSyntaxError(path, 1, 1, _(
            "nested too deep to read; this is not a mailconsole configuration")) from None
    except ValueError as e:
        if not isinstance(e, tomllib.TOMLDecodeError):  # int(): more than 4300 digits
            raise ConfigSyntaxError(path, 1, 1, _(
                "a number has more than {n} digits; this is not a mailconsole configuration"
            ).format(n=sys.get_int_max_str_digits())) from None
        msg = str(e)
        m = re.match(_TOMLLIB_POS, msg)
        if m:
            raise ConfigSyntaxError(path, int(m["line"]), int(m["col"]),
                                    _("invalid TOML: {reason}").format(reason=m["msg"])
                                    ) from None
        line = text.count("\n") + 1
        col = len(text) - text.rfind("\n")
        reason = msg.replace("(at end of document)", "").strip()
        raise ConfigSyntaxError(path, line, col, _("invalid TOML: {reason} at the end of "
                                                   "the file").format(reason=reason)) from None


def parse_document(text: str, path: str) -> tomlkit.TOMLDocument:
    """Parse ``text`` with tomlkit for editing; ConfigSyntaxError if tomlkit
    cannot parse it or would not reproduce it exactly."""
    import tomlkit
    import tomlkit.exceptions

    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        raise ConfigSyntaxError(path, e.line, e.col, _(
            "the file cannot be edited safely: {reason}").format(reason=str(e))) from None
    except Exception as e:  # tomlkit raises other errors for some valid TOML
        raise ConfigSyntaxError(path, 1, 1, _(
            "the file cannot be edited safely: {reason}").format(reason=str(e))) from None
    if doc.as_string() != text:  # tomlkit must reproduce the file exactly
        raise ConfigSyntaxError(path, 1, 1, _(
            "the file cannot be edited safely (its layout is not reproduced exactly); "
            "edit it by hand"))
    return doc


def settings_from_data(data: Mapping[str, Any], path: str | None = None) -> Settings:
    """Settings from plain TOML data; ConfigTypeError names the key path."""
    for table in TABLES:
        node: Any = data
        for i, part in enumerate(table.split(".")):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
            if not isinstance(node, Mapping):
                key = ".".join(table.split(".")[: i + 1])
                raise ConfigTypeError(key, _("must be a table ([{key}]), not a {kind}").format(
                    key=key, kind=type(node).__name__), path=path)
    try:
        return Settings.from_mapping(data)
    except ConfigTypeError as e:
        raise ConfigTypeError(e.key, e.message, path=path) from None


def read(path: str | Path) -> Snapshot:
    """Read ``path`` (missing -> defaults).  Never writes."""
    path = Path(path)
    real = real_path(path)
    shown = str(path)
    try:
        raw, st = read_regular(real, shown)
    except FileNotFoundError:
        return Snapshot(path, real, None, None, {}, Settings(), None)
    except IsADirectoryError:
        raise ConfigSyntaxError(shown, 1, 1, _("is a directory, not a file")) from None
    except PermissionError:
        raise ConfigError(shown + ": " + _("cannot be read: permission denied (run as root "
                                           "or as the file's owner)")) from None
    text = decode(raw, shown)
    data = parse_data(text, shown)
    return Snapshot(path, real, raw, text, data, settings_from_data(data, shown), st.st_mode)


def read_current_bytes(real: Path) -> bytes | None:
    try:
        return read_regular(str(real), str(real))[0]
    except FileNotFoundError:
        return None


# --- rendering -----------------------------------------------------------------


def _uses_crlf(text: str) -> bool:
    return "\r\n" in text and "\n" not in text.replace("\r\n", "")


def _item_like(value: Value, old: Any) -> Any:
    """A tomlkit item for ``value`` in the style of ``old`` (literal strings stay)."""
    import tomlkit
    from tomlkit.items import String, StringType

    if isinstance(value, str):
        literal = (
            isinstance(old, String)
            and old.type == StringType.SLL
            and "'" not in value
            and not any(ord(c) < 32 or ord(c) == 127 for c in value)
        )
        return tomlkit.string(value, literal=literal)
    return tomlkit.item(value)


def _set_leaf(doc: Any, path: str, value: Value) -> None:
    import tomlkit
    from tomlkit.items import InlineTable

    parts = path.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            rest = parts[i + 1:]
            if isinstance(node, InlineTable):  # stay inline: {pop3 = {enabled = true}}
                obj: Any = value
                for name in reversed(rest):
                    inline = tomlkit.inline_table()
                    inline[name] = obj
                    obj = inline
                node[part] = obj
                return
            sub: dict[str, Any] = {}
            cur = sub
            for r in rest[:-1]:
                cur[r] = {}
                cur = cur[r]
            cur[rest[-1]] = value
            node[part] = tomlkit.item(sub)
            return
        node = node[part]
    leaf = parts[-1]
    if leaf in node:
        node[leaf] = _item_like(value, node[leaf])
    else:
        node[leaf] = value


def _set_plain(data: dict[str, Any], path: str, value: Value) -> None:
    *tables, leaf = path.split(".")
    node = data
    for t in tables:
        node = node.setdefault(t, {})
    node[leaf] = value


def intended_data(snap: Snapshot, settings: Settings) -> dict[str, Any]:
    """The plain data the file should hold after saving ``settings``."""
    if not snap.exists:
        return settings.to_nested()
    data = copy.deepcopy(snap.data)
    for path, value in changes(snap, settings).items():
        _set_plain(data, path, value)
    return data


def changes(snap: Snapshot, settings: Settings) -> dict[str, Value]:
    old, new = snap.settings.to_flat(), settings.to_flat()
    return {p: v for p, v in new.items() if old[p] != v}


def render(snap: Snapshot, settings: Settings) -> str:
    """The new file text: leaf edits only; verified with tomllib."""
    if snap.text is None:
        from config.template import render_template

        text = render_template(settings)
    else:
        todo = changes(snap, settings)
        if not todo:
            return snap.text
        doc = parse_document(snap.text, str(snap.path))
        try:
            for path, value in todo.items():
                _set_leaf(doc, path, value)
            text = doc.as_string()
        except Exception:  # tomlkit refused the edit: report it like a failed check
            text = ""
        if _uses_crlf(snap.text):
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    try:
        ok = tomllib.loads(text) == intended_data(snap, settings)
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        raise ConfigWriteError(str(snap.path), _(
            "the change could not be placed in the file without disturbing it (an unusual "
            "layout of the keys); nothing was written. Edit the file by hand or move the "
            "key into its [table]."))
    return text


# --- writing ------------------------------------------------------------------


def temp_name(real: Path) -> Path:
    return real.with_name(f".{real.name}{TMP_INFIX}{os.getpid()}-{os.urandom(4).hex()}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_temps(real: str | Path, *, only_dead: bool = True) -> list[Path]:
    """Remove temp files a killed writer left beside ``real`` (and its backup).
    With ``only_dead`` (no lock held) only those whose writer pid is gone."""
    removed: list[Path] = []
    directory, name = os.path.split(Path(real))
    directory = directory or "."
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for base in (name, name + ".bak"):  # backup_path(real).name
        prefix = f".{base}{TMP_INFIX}"
        for entry in entries:
            if not entry.startswith(prefix):
                continue
            pid_text = entry[len(prefix):].split("-", 1)[0]
            if only_dead and pid_text.isdigit() and _pid_alive(int(pid_text)):
                continue
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                continue
            removed.append(Path(directory, entry))
    return removed


def _reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return _("no space left on the device")
    if e.errno in (errno.EACCES, errno.EPERM):
        return _("permission denied")
    if e.errno == errno.EROFS:
        return _("the file system is read-only")
    if e.errno == errno.EIO:
        return _("input/output error (the disk may be failing)")
    if e.errno == errno.EDQUOT:
        return _("the disk quota is exceeded")
    return e.strerror or type(e).__name__


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(real: Path, data: bytes, *, like: os.stat_result | None,
                 shown: str | None = None) -> None:
    """Replace ``real`` with ``data`` atomically.  ``like``: the stat of the file
    being replaced (mode and owner are kept) or None for a new file (0600)."""
    shown = shown or str(real)
    tmp = temp_name(real)
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, NEW_FILE_MODE)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if like is not None:
            if (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.fchown(fd, like.st_uid, like.st_gid)
                except PermissionError:
                    raise ConfigWriteError(shown, _(
                        "cannot keep the file's owner ({uid}:{gid}); run as root or as the "
                        "owner. The file was not changed.").format(
                            uid=like.st_uid, gid=like.st_gid)) from None
            os.fchmod(fd, stat.S_IMODE(like.st_mode))
        else:
            os.fchmod(fd, NEW_FILE_MODE)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, real)
        _fsync_dir(real.parent)
    except BaseException as e:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ConfigWriteError(shown, _(
                "cannot write: {reason}. The file was not changed.").format(
                    reason=_reason(e))) from None
        raise


def save_bytes(snap_real: Path, new: bytes, *, old: bytes | None, shown: str) -> None:
    """Write ``new`` to ``snap_real``, keeping ``old`` as ``<name>.bak`` (same
    mode and owner).  Caller holds the lock."""
    try:
        like = os.stat(snap_real) if old is not None else None
    except FileNotFoundError:
        like = None
    if old is not None and like is not None:
        write_atomic(backup_path(snap_real), old, like=like, shown=shown)
    write_atomic(snap_real, new, like=like, shown=shown)


def locked(real: Path, shown: str | None = None) -> _Locked:
    """Hold an exclusive flock on ``<name>.lock`` beside ``real``:
    ``with locked(real): ...``."""
    return _Locked(real, shown)


class _Locked:
    """The context manager of :func:`locked`."""

    def __init__(self, real: Path, shown: str | None = None) -> None:
        self.real, self.shown, self.fd = real, shown or str(real), -1

    def __enter__(self) -> None:
        real, shown = self.real, self.shown
        lp = lock_path(real)
        try:
            fd = _open_lock(lp)
        except FileNotFoundError:
            raise ConfigWriteError(shown, _("cannot write: the directory {dir} does not exist; "
                                            "create it first (mkdir -p {dir})"
                                            ).format(dir=real.parent)) from None
        except OSError as e:
            if e.errno == errno.ELOOP:  # O_NOFOLLOW: the lock file is a link
                raise ConfigWriteError(shown, _(
                    "the lock file {lock} is a symbolic link; it is never followed (remove "
                    "it). The file was not changed.").format(lock=lp)) from None
            raise ConfigWriteError(shown, _(
                "cannot write in the directory {dir}: {reason}. The file was not changed."
            ).format(dir=real.parent, reason=_reason(e))) from None
        try:
            _wait_for_lock(fd, shown)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)


def _open_lock(lp: Path) -> int:
    """The lock file, never through a link (O_NOFOLLOW: ELOOP) nor inherited by a
    child (O_CLOEXEC).  One root makes in a directory of another account (the admin
    account's /etc/mailconsole) is given to that account, which could not lock it
    otherwise (0600); a lock file we may not write is locked read-only (flock needs no
    write access)."""
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(lp, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, NEW_FILE_MODE)
    except FileExistsError:
        try:
            return os.open(lp, os.O_RDWR | flags)
        except PermissionError:
            return os.open(lp, os.O_RDONLY | flags)
    if os.geteuid() == 0:
        try:
            directory = os.stat(lp.parent)
            if directory.st_uid != 0:
                os.fchown(fd, directory.st_uid, directory.st_gid)
        except OSError:
            pass
    return fd


def _wait_for_lock(fd: int, shown: str) -> None:
    """flock ``fd`` exclusively.  Wait while one process holds the lock for at
    most :data:`LOCK_WAIT` seconds (the holder is looked up in /proc/locks
    every 0.1 s); while the lock passes from writer to writer (progress), at
    most :data:`LOCK_WAIT_TOTAL` in all.  Then ConfigLockError naming the
    holder where known."""
    now = time.monotonic()
    total = now + LOCK_WAIT_TOTAL
    deadline = now + LOCK_WAIT
    holder: str | None = None
    look = now
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        now = time.monotonic()
        if now >= look:
            current = lock_holder(fd)
            if current != holder:
                holder, deadline = current, now + LOCK_WAIT
            look = now + 0.1
        if now >= deadline or now >= total:
            raise ConfigLockError(shown, LOCK_WAIT, holder or "")
        time.sleep(0.005)


def lock_holder(fd: int) -> str:
    """"pid N, command" of the process holding an flock on the file of
    ``fd`` according to /proc/locks (Linux), or "" if unknown."""
    st = os.fstat(fd)
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read(1 << 20).splitlines()
    except OSError:
        return ""
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks waiters)
        if len(fields) < 6 or fields[1] != "FLOCK" or "->" in fields:
            continue
        pid_text, ident = fields[4], fields[5]
        dev_ino = ident.rsplit(":", 1)
        if len(dev_ino) != 2 or not dev_ino[1].isdigit() or int(dev_ino[1]) != st.st_ino:
            continue
        major_minor = dev_ino[0].split(":")
        try:
            major, minor = (int(x, 16) for x in major_minor)
        except ValueError:
            continue
        if (major, minor) != (os.major(st.st_dev), os.minor(st.st_dev)):
            continue
        if not pid_text.isdigit():
            return ""
        try:
            with open(f"/proc/{pid_text}/comm", encoding="utf-8", errors="replace") as fh:
                command = fh.read(64).strip()
        except OSError:
            command = ""
        return f"pid {pid_text}, {command}" if command else f"pid {pid_text}"
    return ""


def snapshot_of(path: Path, raw: bytes, mode: int | None) -> Snapshot:
    """A Snapshot of bytes just written (or read) for ``path``."""
    shown = str(path)
    text = decode(raw, shown)
    data = parse_data(text, shown)
    return Snapshot(path, real_path(path), raw, text, data, settings_from_data(data, shown), mode)
