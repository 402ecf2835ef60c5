"""``TranscriptScreen`` (the test mail's transcript), ``AskPathDialog`` (where
to save it) and :func:`write_transcript` (how: atomically, never over the
configuration, never through a symbolic link, replacing only when asked).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from config.i18n import _
from config.text import visible_lines
from tui.dialogs.base import Dialog, Words, words
from tui.widgets import FieldInput


class TranscriptScreen(Dialog[None]):
    """The redacted SMTP conversation."""

    BINDINGS = [Binding("escape,q,enter", "dismiss(None)", "Close")]

    def __init__(self, transcript: str) -> None:
        super().__init__()
        self.transcript = transcript

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(_("Transcript (C: client, S: server, *: note)"), classes="dialog-title")
            with VerticalScroll(classes="diff", id="transcript-scroll"):
                yield Static(Text(visible_lines(self.transcript.rstrip())))
            with Horizontal(classes="buttons"):
                yield self.button(_("Close (Esc)"), "close")

    def on_mount(self) -> None:
        self.query_one("#transcript-scroll").focus()

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)


class AskPathDialog(Dialog[str | None]):
    """Ask for a file name."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: Words, default: str) -> None:
        super().__init__()
        self.question, self.default = question, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="box wide"):
            yield Label(words(self.question), classes="dialog-title")
            yield FieldInput(self.default, id="path")
            with Horizontal(classes="buttons"):
                yield self.button(_("Save (Enter)"), "ok")
                yield self.button(_("Cancel (Esc)"), "cancel")

    async def relabel(self) -> None:
        self.default = self.query_one("#path", Input).value  # what was typed stays
        await super().relabel()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#path", Input).value.strip() or None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class TranscriptSaveError(Exception):
    """The transcript is not written there; ``str()`` says why (translated)."""


def protected_paths(config_path: str | os.PathLike[str]) -> list[str]:
    """The configuration file and its companions (backup, lock), resolved."""
    real = os.path.realpath(config_path)
    return [real, real + ".bak", real + ".lock"]


def transcript_target(path: str | os.PathLike[str], protected: Sequence[str]) -> bool:
    """Check where a transcript would go: True if a regular file is there (the
    caller asks before replacing it), False if nothing is.  TranscriptSaveError
    for a symbolic link (never followed), anything but a regular file, and the
    configuration file or its companions (by name, and by inode: a hard link)."""
    path = Path(path)
    target = os.path.join(os.path.realpath(path.parent), path.name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise TranscriptSaveError(_("{path} is a symbolic link; it is not followed. Choose "
                                    "another name.").format(path=path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise TranscriptSaveError(_("{path} is not a regular file; choose another name."
                                    ).format(path=path))
    for other in protected:
        same = target == other
        if not same and st is not None:
            try:
                other_st = os.stat(other)
            except OSError:
                other_st = None
            same = other_st is not None and (other_st.st_dev, other_st.st_ino) == (
                st.st_dev, st.st_ino)
        if same:
            raise TranscriptSaveError(_("{path} is the configuration (or its backup or "
                                        "lock); the transcript is never written over it."
                                        ).format(path=path))
    return st is not None


def write_transcript(path: str | os.PathLike[str], text: str, protected: Sequence[str], *,
                     replace: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (a temp file beside it, fsync,
    then a rename).  Checked with :func:`transcript_target` first; an existing
    file is replaced only with ``replace=True`` (else FileExistsError, also when
    one appears meanwhile: the new name is made with link(), which never
    replaces).  Neither the temp file nor the target is reached through a
    symbolic link (O_NOFOLLOW; a rename replaces a link, never its target)."""
    path = Path(path)
    exists = transcript_target(path, protected)
    if exists and not replace:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            view = memoryview(text.encode("utf-8"))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            transcript_target(path, protected)  # again, just before
            os.replace(tmp, path)
        else:
            os.link(tmp, path, follow_symlinks=False)  # EEXIST if anything is there now
            os.unlink(tmp)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
