"""The durable outgoing queue (spool): accept, then deliver.

Layout of the spool directory (``queue.dir``, or ``$MAILCONSOLE_QUEUE_DIR``)::

    msg/ID        one mail: "MCQ1 <meta length> <data length> <sha256>\\n" + meta
                  (JSON: sender, recipients, created, message_id, notice) + the
                  message bytes (CRLF, ready for DATA).  Written once, never changed.
    state/ID      its state (JSON: waiting|failed, attempts, next_attempt,
                  last_error, inflight); absent = waiting, never tried
    tmp/          accepts in progress (each held under flock by its writer)
    corrupt/      entries whose length or checksum did not match (set aside)
    history.log   the delivery history: one JSON line per attempt (+ .1 .. .3)
    done/         a mail just sent, until its history line is written
    runner.lock   flock: one ``queue run`` at a time
    notified      exists while a failure episode has been notified

Accept (:meth:`Queue.accept`): write tmp/ID under flock, fsync, rename to
msg/ID, fsync msg/; only then is the mail accepted.  A writer killed half-way
leaves a tmp file nobody holds a lock on; the runner removes it.  A torn or
damaged msg/ID (a disk fault: the rename makes a torn one impossible
otherwise) fails the length/checksum test and is moved to corrupt/, never sent.

Delivery (:meth:`Queue.deliver`, :meth:`Queue.run`): each mail is claimed by
an flock on its msg file (so ``queue flush``, a ``send``'s first attempt and
the runner never send the same mail at once; the lock dies with its
process).  Before MAIL FROM the state says ``inflight``; the server's 250
after DATA is followed at once by the unlink of msg/ID.  A mail found
``inflight`` by the next claim was interrupted in that window: it is sent
again (at least once) and its history line says ``"resend": true``.
One connection carries every due mail (RSET between), each transaction
under the ``mail.smtp.timeout`` deadline; a connection that breaks or
times out ends the pass, the mails not yet tried stay due.

Temporary failures wait 1, 5, 15, 30 minutes, then hourly, until
``queue.lifetime_hours`` after acceptance; permanent ones go to failed at
once (:func:`is_temporary`).  With ``queue.notify`` set, the first mail to
fail in an episode (until no failed mail is left) queues one notice; a
notice itself never causes another.

Time comes from ``clock`` (an injectable ``time.time``) for every
scheduling decision, so the tests need no sleeps.  The state files are not
fsynced: a process crash (kill -9) loses nothing; after a power loss a mail
may be tried earlier than planned or once more, never lost.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import TYPE_CHECKING

from config.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

    from config.model import Settings
    from mailer.report import Report
    from mailer.smtp import SmtpClient
    from mailer.wire import Runtime

SPOOL_ENV = "MAILCONSOLE_QUEUE_DIR"   # overrides queue.dir (tests, containers)
BACKOFF = (60, 300, 900, 1800)        # seconds after the 1st..4th failed attempt
HOURLY = 3600                          # then
MAGIC = b"MCQ1"
MAX_HEADER = 200
HISTORY = "history.log"
HISTORY_MAX = 1_000_000                # bytes before the history is rotated
HISTORY_KEEP = 3                       # rotated files kept (history.log.1 .. .3)
WAITED_TOO_LONG = 3600                 # seconds: validate and the screen warn

_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC
_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz-")

# The steps of one mail's own transaction: a failure there is about this mail.
TRANSACTION_STEPS = frozenset({"mail_from", "rcpt_to", "data", "sendmail"})
# Failures that leave the connection out of step (no RSET, end the pass).
BROKEN_CLASSES = frozenset({"timeout", "connection_lost", "protocol_error"})


CLOCK: Callable[[], float] = time.time  # the default clock; tests may replace it


def _now() -> float:
    return CLOCK()


def is_temporary(report: Report) -> bool:
    """Whether the queue retries a failed send (else the mail goes to failed).

    The mailer's diagnosis decides (:func:`mailer.diagnosis.is_temporary`: 4xx,
    rate limits, refused or lost connections, timeouts...).  On top of that, a
    failure *before* this mail's own transaction -- DNS, TLS, certificate, login,
    the appliance's settings -- is not the mail's fault and is the same for every
    waiting mail: the mail waits (until queue.lifetime_hours) so that fixing the
    settings or the network sends it.  Only a refusal of this mail (its sender,
    a recipient, its content: MAIL FROM, RCPT TO, DATA, or the local sendmail) or
    an invalid address sends it to failed at once."""
    from mailer.diagnosis import is_temporary as temporary_class

    failure = report.failure
    if failure is None:
        return False
    if temporary_class(failure.cls):
        return True
    if failure.cls == "invalid_address":
        return False
    return failure.step not in TRANSACTION_STEPS


def backoff(attempts: int) -> int:
    """Seconds to wait after ``attempts`` failed attempts."""
    return BACKOFF[attempts - 1] if 1 <= attempts <= len(BACKOFF) else HOURLY


def spool_dir(settings: Settings) -> str:
    return os.environ.get(SPOOL_ENV) or settings.queue.dir


def for_settings(settings: Settings, *, clock: Callable[[], float] | None = None) -> Queue:
    return Queue(spool_dir(settings), lifetime_hours=settings.queue.lifetime_hours,
                 notify=settings.queue.notify, clock=clock)



def age_text(seconds: int) -> str:
    """An age for people: "90 s", "12 min", "5 h", "3 days" (the CLI and the screen)."""
    if seconds < 120:
        return _("{n} s").format(n=seconds)
    if seconds < 7200:
        return _("{n} min").format(n=seconds // 60)
    if seconds < 172800:
        return _("{n} h").format(n=seconds // 3600)
    return _("{n} days").format(n=seconds // 86400)

class AcceptError(Exception):
    """The mail could not be queued (disk full, spool not writable): EX_TEMPFAIL."""

    def __init__(self, path: str, error: OSError) -> None:
        super().__init__(f"{path}: {error.strerror or error}")
        self.path, self.error = path, error


class CorruptEntry(ValueError):
    """A spool file whose header, length or checksum is wrong."""


def check_id(ident: str) -> str:
    """``ident`` if it can be a queue id (no path tricks), else ValueError."""
    if not ident or len(ident) > 64 or not _ID_CHARS.issuperset(ident) or \
            ident.startswith("-"):
        raise ValueError(_("{id!r} is not a queue id ('mailconsole queue list' shows "
                           "them)").format(id=ident))
    return ident


def _new_id(now: float) -> str:
    """Sortable by acceptance time (to the microsecond), unique by 40 random bits."""
    micro = int(now * 1_000_000) % 1_000_000
    return (time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"{micro:06d}-"
            + os.urandom(5).hex())


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_fd(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    pos = 0
    while True:
        chunk = os.pread(fd, max(size - pos, 65536), pos)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        pos += len(chunk)


def parse_entry(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """(meta, message bytes) of a spool file; CorruptEntry if torn or damaged."""
    import hashlib
    import json

    end = raw.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        raise CorruptEntry("no header")
    parts = raw[:end].split(b" ")
    if len(parts) != 4 or parts[0] != MAGIC:
        raise CorruptEntry("bad header")
    try:
        meta_len, data_len = int(parts[1]), int(parts[2])
    except ValueError:
        raise CorruptEntry("bad lengths") from None
    body = raw[end + 1:]
    if len(body) != meta_len + data_len:
        raise CorruptEntry(f"length {len(body)}, header says {meta_len + data_len}")
    if hashlib.sha256(body).hexdigest().encode() != parts[3]:
        raise CorruptEntry("checksum mismatch")
    try:
        meta = json.loads(body[:meta_len])
    except ValueError:
        raise CorruptEntry("bad meta") from None
    if not isinstance(meta, dict):
        raise CorruptEntry("bad meta")
    return meta, body[meta_len:]


def _meta_only(raw: bytes) -> dict[str, Any]:
    """The meta of a spool file from its first bytes (listing; no checksum)."""
    import json

    end = raw.find(b"\n", 0, MAX_HEADER)
    parts = raw[:end].split(b" ") if end > 0 else []
    if len(parts) != 4 or parts[0] != MAGIC:
        raise CorruptEntry("bad header")
    meta_len, data_len = int(parts[1]), int(parts[2])
    meta = json.loads(raw[end + 1:end + 1 + meta_len])
    if not isinstance(meta, dict):
        raise CorruptEntry("bad meta")
    meta["size"] = data_len
    return meta


def message_id_of(data: bytes) -> str:
    """The Message-ID header of ``data`` ("" if none), for the history."""
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"message-id":
            return value.strip().decode("ascii", "replace")[:200]
    return ""


def prepare_without_settings(message: Any) -> tuple[Any, bool]:
    """What can be made ready of ``message`` (an EmailMessage) without the settings:
    Bcc removed, Date and Message-ID added if missing, header values checked.
    Returns (message, whether the From header is still missing)."""
    import copy
    from email.utils import formatdate, make_msgid

    from mailer.message import AddressError, _has_control

    msg = copy.copy(message)
    for name, value in msg.items():
        if _has_control(str(value)):
            raise AddressError(name, _("the header {name} contains a line break or control "
                                       "character").format(name=name))
    if "Date" not in msg:
        msg["Date"] = formatdate(localtime=True)
    if "Message-ID" not in msg:
        msg["Message-ID"] = make_msgid()
    del msg["Bcc"]
    return msg, "From" not in msg


def ready(meta: dict[str, Any], data: bytes, settings: Settings) -> tuple[str, bytes]:
    """(envelope sender, message bytes) of a queued mail: a mail accepted without
    the settings gets mail.sender and its From header here.  AddressError if they
    cannot be made."""
    from mailer.message import check_address

    sender = meta.get("sender") or check_address(settings.mail.sender)
    if not meta.get("needs_from"):
        return sender, data
    from mailer.message import message_bytes, parse_message, prepare_for_sending

    name = meta.get("sender_name")
    values = {"mail.sender": sender}
    if name is not None:
        values["mail.sender_name"] = name
    return sender, message_bytes(prepare_for_sending(parse_message(data),
                                                     settings.with_values(values)))


class Item:
    """One claimed mail: its open, flock-ed file and what it holds."""

    __slots__ = ("data", "fd", "id", "meta", "state")

    def __init__(self, ident: str, fd: int, meta: dict[str, Any], data: bytes,
                 state: dict[str, Any]) -> None:
        self.id, self.fd, self.meta, self.data, self.state = ident, fd, meta, data, state


class Result:
    """What one delivery pass did (ids per outcome)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.deferred: list[str] = []
        self.failed: list[str] = []
        self.resent: list[str] = []
        self.corrupt: list[str] = []
        self.last_report: Report | None = None
        self.notice: str = ""          # id of a notice queued by this pass
        self.busy = False              # another runner held the lock

    def __repr__(self) -> str:
        return (f"Result(sent={len(self.sent)}, deferred={len(self.deferred)}, "
                f"failed={len(self.failed)}, resent={len(self.resent)}, "
                f"corrupt={len(self.corrupt)})")


class Queue:
    def __init__(self, root: str, *, lifetime_hours: int = 120, notify: str = "",
                 clock: Callable[[], float] | None = None) -> None:
        self.root = root
        self.lifetime = lifetime_hours * 3600
        self.notify = notify
        self.clock: Callable[[], float] = clock or _now
        self.msg = os.path.join(root, "msg")
        self.state_dir = os.path.join(root, "state")
        self.tmp = os.path.join(root, "tmp")
        self.corrupt = os.path.join(root, "corrupt")
        self.done = os.path.join(root, "done")

    # -- the directory ------------------------------------------------------
    def ensure(self) -> None:
        """Create the spool's directories (mode 2770: writers share the group)."""
        for path in (self.root, self.msg, self.state_dir, self.tmp, self.corrupt, self.done):
            try:
                os.mkdir(path, 0o2770)
            except FileExistsError:
                if not os.path.isdir(path) or os.path.islink(path):
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                             path) from None

    def exists(self) -> bool:
        return os.path.isdir(self.msg)

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.msg)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if _ID_CHARS.issuperset(n))

    # -- accept -------------------------------------------------------------
    def accept(self, sender: str, recipients: list[str], data: bytes, *,
               message_id: str | None = None, notice: bool = False,
               needs_from: bool = False, sender_name: str | None = None) -> str:
        """Store the mail durably; return its id.  AcceptError if it cannot be.
        ``sender`` "" and ``needs_from``: accepted without the settings (see
        :func:`prepare_without_settings`); the runner completes them."""
        import hashlib
        import json

        now = self.clock()
        ident = _new_id(now)
        meta = json.dumps({
            "v": 1, "sender": sender, "recipients": list(recipients), "created": now,
            "message_id": message_id_of(data) if message_id is None else message_id,
            "notice": notice,
            **({"needs_from": True, "sender_name": sender_name} if needs_from else {}),
        }, ensure_ascii=False).encode("utf-8")
        body = meta + data
        header = b"%s %d %d %s\n" % (MAGIC, len(meta), len(data),
                                     hashlib.sha256(body).hexdigest().encode())
        tmp = os.path.join(self.tmp, ident)
        try:
            self.ensure()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o660)
        except OSError as exc:
            raise AcceptError(self.tmp, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # "writer alive" for the tmp clean-up
            os.fchmod(fd, 0o660)
            _write_all(fd, header + body)
            os.fsync(fd)
            os.rename(tmp, os.path.join(self.msg, ident))
            _fsync_dir(self.msg)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise AcceptError(self.tmp, exc) from None
        finally:
            os.close(fd)
        return ident

    # -- state --------------------------------------------------------------
    def _state_path(self, ident: str) -> str:
        return os.path.join(self.state_dir, ident)

    def read_state(self, ident: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        import json

        try:
            fd = os.open(self._state_path(ident), os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            state = None
        else:
            try:
                state = json.loads(_read_fd(fd))
            except ValueError:
                state = None
            finally:
                os.close(fd)
        created = float((meta or {}).get("created", 0.0))
        if not isinstance(state, dict):
            state = {}
        state.setdefault("state", "waiting")
        state.setdefault("attempts", 0)
        state.setdefault("next_attempt", created)
        state.setdefault("since", created)      # the lifetime counts from here
        state.setdefault("last_error", None)
        state.setdefault("inflight", False)
        return state

    def write_state(self, ident: str, state: dict[str, Any]) -> None:
        import json

        path = self._state_path(ident)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _OPEN_FLAGS, 0o660)
        try:
            _write_all(fd, json.dumps(state, ensure_ascii=False).encode("utf-8"))
        finally:
            os.close(fd)
        os.rename(tmp, path)

    # -- claims ---------------------------------------------------------------
    def claim(self, ident: str) -> Item | None:
        """Lock mail ``ident`` for this process; None if it is gone or another
        process holds it.  A corrupt entry is set aside (and None returned)."""
        try:
            fd = os.open(os.path.join(self.msg, ident), os.O_RDONLY | _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            if os.fstat(fd).st_nlink == 0:  # delivered (unlinked) while we waited
                os.close(fd)
                return None
            try:
                meta, data = parse_entry(_read_fd(fd))
            except CorruptEntry as exc:
                self._set_aside(ident, str(exc))
                os.close(fd)
                return None
            return Item(ident, fd, meta, data, self.read_state(ident, meta))
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            raise

    def read(self, ident: str) -> tuple[dict[str, Any], bytes] | None:
        """(meta, message bytes) of mail ``ident`` without claiming it; None if gone."""
        try:
            fd = os.open(os.path.join(self.msg, check_id(ident)), os.O_RDONLY | _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            return parse_entry(_read_fd(fd))
        except CorruptEntry:
            return None
        finally:
            os.close(fd)

    def release(self, item: Item) -> None:
        if item.fd >= 0:
            os.close(item.fd)
            item.fd = -1

    def _set_aside(self, ident: str, why: str) -> None:
        os.makedirs(self.corrupt, exist_ok=True)
        try:
            os.rename(os.path.join(self.msg, ident), os.path.join(self.corrupt, ident))
        except FileNotFoundError:
            return
        self._unlink_state(ident)
        self.log({"id": ident, "result": "corrupt", "class": "corrupt_entry", "reply": why,
                  "attempt": 0})

    def _unlink_state(self, ident: str) -> None:
        for path in (self._state_path(ident), self._state_path(ident) + ".tmp"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    # -- listing ----------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        """Every mail in the queue as ``queue list --json`` shows it."""
        now = self.clock()
        out = []
        for ident in self.ids():
            entry = self.entry(ident, now=now)
            if entry is not None:
                out.append(entry)
        return out

    def entry(self, ident: str, *, now: float | None = None) -> dict[str, Any] | None:
        now = self.clock() if now is None else now
        try:
            fd = os.open(os.path.join(self.msg, ident), os.O_RDONLY | _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            head = os.pread(fd, 65536, 0)
            try:
                meta = _meta_only(head)
            except (CorruptEntry, ValueError):
                meta = _meta_only(_read_fd(fd))
        except (CorruptEntry, ValueError):
            return None
        finally:
            os.close(fd)
        state = self.read_state(ident, meta)
        error = state["last_error"]
        return {
            "id": ident,
            "state": state["state"],
            "attempts": state["attempts"],
            "next_attempt": iso(state["next_attempt"]) if state["state"] == "waiting" else None,
            "age_seconds": max(0, int(now - float(meta.get("created", now)))),
            "recipients": meta.get("recipients", []),
            "size": meta["size"],
            "last_error": None if not error else {"cls": error.get("cls", ""),
                                                  "message": error.get("message", "")},
            # beyond the contract's fields (queue show):
            "sender": meta.get("sender", ""),
            "message_id": meta.get("message_id", ""),
            "created": iso(float(meta.get("created", now))),
            "notice": bool(meta.get("notice")),
            "advice": (error or {}).get("advice", ""),
            "reply": (error or {}).get("reply", ""),
        }

    def summary(self) -> dict[str, Any]:
        """Counts for the screen's line and validate: waiting, failed, the oldest
        waiting mail's age, the last error (of the most recent failed attempt)."""
        entries = self.entries()
        waiting = [e for e in entries if e["state"] == "waiting"]
        failed = [e for e in entries if e["state"] == "failed"]
        last = None
        for e in sorted(entries, key=lambda e: e["attempts"] > 0):
            if e["last_error"]:
                last = {**e["last_error"], "advice": e["advice"]}
        return {"waiting": len(waiting), "failed": len(failed),
                "oldest_seconds": max((e["age_seconds"] for e in waiting), default=0),
                "last_error": last}

    # -- user actions ------------------------------------------------------------
    def retry(self, ident: str) -> bool:
        """A failed mail back to waiting, due now.  False if not failed (or busy)."""
        item = self.claim(check_id(ident))
        if item is None:
            return False
        try:
            if item.state["state"] != "failed":
                return False
            now = self.clock()
            item.state.update(state="waiting", next_attempt=now, since=now, inflight=False)
            self.write_state(ident, item.state)
        finally:
            self.release(item)
        self._episode_check()
        return True

    def drop(self, ident: str) -> bool:
        """Remove a mail for good (recorded in the history).  False if unknown/busy."""
        item = self.claim(check_id(ident))
        if item is None:
            return False
        try:
            os.unlink(os.path.join(self.msg, ident))
            self._unlink_state(ident)
            self._history(item, "dropped", "dropped", None, "", resend=False)
        finally:
            self.release(item)
        self._episode_check()
        return True

    # -- delivery -------------------------------------------------------------------
    def run(self, settings: Settings) -> Result:
        """One pass of the runner (``mailconsole queue run``): clean up, send what
        is due, notify.  Does nothing if another runner holds the lock."""
        self.ensure()
        lock = os.open(os.path.join(self.root, "runner.lock"),
                       os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o660)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                result = Result()
                result.busy = True
                return result
            self.clean()
            return self.deliver(settings)
        finally:
            os.close(lock)

    def clean(self) -> None:
        """Remove accepts whose writer died, and state files without a mail; write
        the history line of a mail sent by a process that died right after."""
        try:
            done = os.listdir(self.done)
        except FileNotFoundError:
            done = []
        for name in done:
            path = os.path.join(self.done, name)
            try:
                fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its sender is alive and writing the line now
                os.close(fd)
                continue
            try:
                meta, data = parse_entry(_read_fd(fd))
            except CorruptEntry:
                meta, data = {}, b""
            finally:
                os.close(fd)
            state = self.read_state(name, meta)
            item = Item(name, -1, meta, data, state)
            self._history(item, "sent", "ok", None, _(
                "recorded after a crash: the server had accepted the mail"), resend=False)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        try:
            names = os.listdir(self.tmp)
        except FileNotFoundError:
            names = []
        for name in names:
            path = os.path.join(self.tmp, name)
            try:
                fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)  # nobody writes it any more: a torn accept
            except (BlockingIOError, FileNotFoundError):
                pass
            finally:
                os.close(fd)
        present = set(self.ids())
        try:
            states = os.listdir(self.state_dir)
        except FileNotFoundError:
            states = []
        for name in states:
            if name.removesuffix(".tmp") not in present:
                try:
                    os.unlink(os.path.join(self.state_dir, name))
                except FileNotFoundError:
                    pass

    def deliver(self, settings: Settings, ids: Iterable[str] | None = None, *,
                force: bool = False) -> Result:
        """Send the waiting mails that are due (``force``: all waiting ones; ``ids``:
        only those) over one connection.  Failed mails are left alone."""
        result = Result()
        candidates = self.ids() if ids is None else [check_id(i) for i in ids]
        items = _Due(self, candidates, force, settings, result)
        if settings.mail.relay == "internal":
            for item in items:
                try:
                    self._send_internal(settings, item, result)
                finally:
                    self.release(item)
        else:
            from mailer.blocking import SyncRuntime

            runtime = SyncRuntime()
            try:
                self._session(runtime, settings, items, result)
            finally:
                runtime.finish()
                for item in items.held:
                    self.release(item)
        self._after_pass(settings, result)
        return result

    def _unready(self, item: Item, reason: str, result: Result) -> None:
        """A mail accepted without the settings whose sender or From header cannot
        be made from them: failed at once (class invalid_address)."""
        from mailer.diagnosis import describe
        from mailer.report import Failure, Report

        message, advice = describe("invalid_address", {"address": "", "detail": reason})
        report = Report(failure=Failure(cls="invalid_address", message=message,
                                        advice=advice, step="settings"))
        resend = self._begin(item)
        self._failed(item, report, resend, result)

    def _begin(self, item: Item) -> bool:
        """Mark the attempt in flight (before MAIL FROM); True if the previous
        attempt was interrupted in flight (this one may be a resend; the
        interrupted one is written to the history as result "interrupted")."""
        resend = bool(item.state.get("inflight"))
        if resend:  # the interrupted attempt gets its own line: it may have delivered
            self._history(item, "interrupted", "interrupted", None, _(
                "the attempt ended without a result (the process died); the server may "
                "have the mail"), resend=False)
        item.state["attempts"] = int(item.state["attempts"]) + 1
        item.state["inflight"] = True
        self.write_state(item.id, item.state)
        return resend

    def _sent(self, item: Item, report: Report, resend: bool, result: Result) -> None:
        # the mail is sent: first thing, one rename out of msg/ (a crash after it
        # never sends it again; clean() writes a history line a crash left out)
        os.rename(os.path.join(self.msg, item.id), os.path.join(self.done, item.id))
        self._unlink_state(item.id)
        self._history(item, "sent", "ok", report, _reply_of(report, "data"), resend=resend)
        os.unlink(os.path.join(self.done, item.id))
        result.sent.append(item.id)
        if resend:
            result.resent.append(item.id)

    def _failed(self, item: Item, report: Report, resend: bool, result: Result) -> None:
        failure = report.failure
        now = self.clock()
        state = item.state
        state["inflight"] = False
        state["last_error"] = {
            "cls": failure.cls if failure else "protocol_error",
            "message": failure.message if failure else "",
            "advice": failure.advice if failure else "",
            "reply": _reply_of(report, ""),
            "at": now,
        }
        expired = now >= float(state["since"]) + self.lifetime
        if is_temporary(report) and not expired:
            state["next_attempt"] = now + backoff(int(state["attempts"]))
            outcome = "deferred"
            result.deferred.append(item.id)
        else:
            state["state"] = "failed"
            if expired and is_temporary(report):
                state["last_error"]["message"] = _(
                    "{message} (given up after {hours} hours of retrying)").format(
                        message=state["last_error"]["message"], hours=self.lifetime // 3600)
            outcome = "failed"
            if not item.meta.get("notice"):
                result.failed.append(item.id)
        self.write_state(item.id, state)
        self._history(item, outcome, state["last_error"]["cls"], report,
                      state["last_error"]["reply"], resend=resend)
        if resend:
            result.resent.append(item.id)
        result.last_report = report

    def _send_internal(self, settings: Settings, item: Item, result: Result) -> None:
        from mailer.api import send

        resend = self._begin(item)
        report = send(settings=settings, message=item.data, sender=item.meta["sender"],
                      recipients=item.meta["recipients"])
        if report.ok:
            self._sent(item, report, resend, result)
        else:
            self._failed(item, report, resend, result)

    def _session(self, runtime: Runtime, settings: Settings, items: _Due,
                       result: Result) -> None:
        from mailer.api import _check_settings, open_smtp
        from mailer.errors import MailerError
        from mailer.report import Report
        from mailer.session import Recorder, secret_forms
        from mailer.smtp import Envelope

        first = items.next()
        if first is None:
            return
        smtp = settings.mail.smtp
        report = Report(relay="external", server=smtp.server,
                        recipients=list(first.meta["recipients"]))
        rec = Recorder(report, on_step=None,
                       secrets=secret_forms(smtp.username, smtp.password)
                       + secret_forms("", smtp.oauth2.client_secret),
                       context={"server": smtp.server, "timeout": smtp.timeout,
                                "host": smtp.server, "path": ""})
        client: SmtpClient | None = None
        try:
            with runtime.timeout(smtp.timeout):
                rec.start("settings", _("Check the settings"))
                _check_settings(settings, lambda: first.data, first.meta["sender"],
                                list(first.meta["recipients"]), rec)
                rec.end("ok")
                client = open_smtp(runtime, settings, rec)
        except BaseException as exc:  # noqa: B036 -- becomes every due mail's failure
            _fail_report(rec, exc, runtime)
            item: Item | None = first
            while item is not None:
                resend = self._begin(item)
                self._failed(item, report, resend, result)
                self.release(item)
                item = items.next()
            return
        assert client is not None
        item = first
        transactions = 0
        while item is not None:
            report = Report(relay="external", server=smtp.server,
                            recipients=list(item.meta["recipients"]))
            rec.report, rec.current = report, None
            envelope = Envelope(item.meta["sender"], list(item.meta["recipients"]),
                                item.data, eight_bit=any(b > 127 for b in item.data))
            resend = self._begin(item)
            broken = False
            try:
                with runtime.timeout(smtp.timeout):
                    if transactions:
                        _rset(client, rec)
                    transactions += 1
                    client.mail_from(envelope)
                    client.rcpt_to(envelope)
                    report.queue_id = client.data(envelope)
                report.ok = True
            except BaseException as exc:  # noqa: B036 -- recorded as this mail's failure
                _fail_report(rec, exc, runtime)
                failure = report.failure
                broken = not isinstance(exc, MailerError) or failure is None or \
                    failure.cls in BROKEN_CLASSES or failure.step not in TRANSACTION_STEPS
            if report.ok:
                self._sent(item, report, resend, result)
            else:
                self._failed(item, report, resend, result)
            self.release(item)
            if broken:
                break
            item = items.next()
        else:
            report = Report(relay="external", server=smtp.server)
            rec.report, rec.current = report, None
            client.quit()
        client.wire.close()

    # -- notices -------------------------------------------------------------------
    def _after_pass(self, settings: Settings, result: Result) -> None:
        if result.failed and self.notify and not result.busy:
            try:
                fd = os.open(os.path.join(self.root, "notified"),
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o660)
            except FileExistsError:
                return  # this episode was notified already
            os.close(fd)
            ident = self._queue_notice(settings, result.failed)
            if ident:
                result.notice = ident
                self.deliver(settings, [ident], force=True)
        else:
            self._episode_check()

    def _episode_check(self) -> None:
        """The failure episode ends when no failed mail (but notices) is left."""
        path = os.path.join(self.root, "notified")
        if not os.path.exists(path):
            return
        for e in self.entries():
            if e["state"] == "failed" and not e["notice"]:
                return
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _queue_notice(self, settings: Settings, failed: list[str]) -> str:
        import socket

        from mailer.message import (
            AddressError,
            build_message,
            message_bytes,
            prepare_for_sending,
        )

        host = socket.gethostname()
        lines = []
        for ident in failed:
            e = self.entry(ident)
            if e is None:
                continue
            error = e["last_error"] or {}
            lines.append(f"  {ident}  {', '.join(e['recipients'])}\n"
                         f"    {error.get('cls', '')}: {error.get('message', '')}")
        text = _(
            "mailconsole on {host} could not deliver {n} mail(s); they are kept in the "
            "queue as failed:\n\n{lines}\n\nSee them with 'mailconsole queue list', send "
            "one again with 'mailconsole queue retry ID' or remove it with 'mailconsole "
            "queue drop ID'.  No further notice is sent until the failed mails are "
            "handled.\n").format(host=host, n=len(lines), lines="\n".join(lines))
        try:
            msg = build_message(settings=settings, recipients=[self.notify],
                                subject=_("mailconsole: mail could not be delivered "
                                          "({host})").format(host=host), text=text)
            data = message_bytes(prepare_for_sending(msg, settings))
        except (AddressError, ValueError):
            return ""
        try:
            return self.accept(settings.mail.sender, [self.notify], data, notice=True)
        except AcceptError:
            return ""

    # -- history ------------------------------------------------------------------
    def _history(self, item: Item, outcome: str, cls: str, report: Report | None,
                 reply: str, *, resend: bool) -> None:
        code = int(reply[:3]) if reply[:3].isdigit() and reply[3:4] in ("", " ", "-") \
            else None
        self.log({
            "id": item.id,
            "message_id": item.meta.get("message_id", ""),
            "sender": item.meta.get("sender", ""),
            "recipient_domains": sorted({r.rpartition("@")[2].lower()
                                         for r in item.meta.get("recipients", [])}),
            "size": len(item.data),
            "attempt": int(item.state.get("attempts", 0)),
            "result": outcome,
            "class": cls,
            "code": code,
            "reply": reply[:500],
            "resend": resend,
            "notice": bool(item.meta.get("notice")),
        })

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to the history (rotated by size; flock-ed)."""
        import json

        line = json.dumps({"time": iso(self.clock()), **record}, ensure_ascii=False) + "\n"
        path = os.path.join(self.root, HISTORY)
        for _try in range(3):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _OPEN_FLAGS, 0o660)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = os.stat(path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    continue  # rotated while we waited: open the new file
                if os.fstat(fd).st_size >= HISTORY_MAX:
                    for n in range(HISTORY_KEEP - 1, 0, -1):
                        try:
                            os.rename(f"{path}.{n}", f"{path}.{n + 1}")
                        except FileNotFoundError:
                            pass
                    os.rename(path, f"{path}.1")
                    continue
                _write_all(fd, line.encode("utf-8"))
                return
            finally:
                os.close(fd)

    def history(self, n: int | None = None) -> list[dict[str, Any]]:
        """The last ``n`` history records (all kept ones if None), oldest first."""
        import json

        path = os.path.join(self.root, HISTORY)
        lines: list[str] = []
        for name in [f"{path}.{k}" for k in range(HISTORY_KEEP, 0, -1)] + [path]:
            try:
                with open(name, encoding="utf-8", errors="replace") as f:
                    lines.extend(f.read().splitlines())
            except FileNotFoundError:
                continue
        if n is not None:
            lines = lines[-n:] if n > 0 else []
        out = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
        return out


class _Due:
    """Claims the due mails one at a time (never more than one file held open),
    each made ready for sending with ``settings`` (:func:`ready`)."""

    def __init__(self, queue: Queue, candidates: list[str], force: bool,
                 settings: Settings, result: Result) -> None:
        self.queue = queue
        self.todo: Iterator[str] = iter(candidates)
        self.force = force
        self.settings, self.result = settings, result
        self.now = queue.clock()
        self.held: list[Item] = []

    def next(self) -> Item | None:
        self.held = [i for i in self.held if i.fd >= 0]
        for ident in self.todo:
            item = self.queue.claim(ident)
            if item is None:
                continue
            state = item.state
            if state["state"] != "waiting" or (
                    not self.force and float(state["next_attempt"]) > self.now):
                self.queue.release(item)
                continue
            try:
                sender, item.data = ready(item.meta, item.data, self.settings)
            except ValueError as exc:  # AddressError too
                self.queue._unready(item, str(exc), self.result)
                self.queue.release(item)
                continue
            item.meta = {**item.meta, "sender": sender}
            self.held.append(item)
            return item
        return None

    def __iter__(self) -> Iterator[Item]:
        while True:
            item = self.next()
            if item is None:
                return
            yield item


def _rset(client: SmtpClient, rec: Any) -> None:
    reply = client.command("RSET")
    if reply.code != 250:
        rec.set_reply(reply.text)
        raise rec.error("protocol_error", detail=_("RSET answered {code}").format(
            code=reply.code))


def _fail_report(rec: Any, exc: BaseException, runtime: Runtime) -> None:
    """Record ``exc`` as the failure of ``rec.report`` (as mailer.api._run does)."""
    from mailer.errors import MailerError

    if isinstance(exc, MailerError):
        rec.finish_failure(exc)
    elif isinstance(exc, TimeoutError):
        cls = "connect_timeout" if rec.step_name in ("connect", "resolve") else "timeout"
        rec.note(_("deadline of {n} seconds reached").format(n=rec.context.get("timeout")))
        rec.finish_failure(rec.error(cls))
    elif isinstance(exc, (KeyboardInterrupt, SystemExit)) or \
            isinstance(exc, runtime.cancelled):
        raise exc
    elif isinstance(exc, Exception):
        detail = f"{type(exc).__name__}: {exc}"
        rec.log_warning("unexpected error while sending: %s", rec.scrub(detail))
        rec.finish_failure(rec.error("protocol_error", detail=detail))
    else:
        raise exc


def _reply_of(report: Report | None, step: str) -> str:
    """The server's reply at ``step`` (success), or at the step that failed."""
    if report is None:
        return ""
    for s in reversed(report.steps):
        if (s.name == step) if step else (s.status == "failed"):
            return s.reply.replace("\n", " ")
    return ""
