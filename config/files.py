"""Reading a file that may be hostile (the config, a file given to ``apply``, the
CA file): only a regular file is read, the open never blocks, the read is bounded."""

from __future__ import annotations

import os
import stat


class NotRegularFile(Exception):
    """``path`` is a directory, FIFO, device or socket (``mode``: its st_mode)."""

    def __init__(self, mode: int) -> None:
        super().__init__(mode)
        self.mode = mode


def read_bounded(path: str | os.PathLike[str], limit: int) -> tuple[bytes, os.stat_result]:
    """The bytes (at most ``limit`` + 1: more than ``limit`` means too big) and the
    stat of ``path``.  Opened O_NONBLOCK, so a FIFO or a device never blocks the
    open, and fstat'ed before the first read: anything but a regular file raises
    NotRegularFile.  OSError as open raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(st.st_mode)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)
