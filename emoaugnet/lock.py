"""One stage at a time per project: :func:`project_lock` holds ``.emoaugnet.lock`` in the project root.

Every stage script takes it (after its params are validated, before any work). A second stage started
while one runs, by hand or by a second ``dvc repro``, is refused at once with the running one's pid
(DVC itself also refuses a second ``dvc repro`` through its ``.dvc/tmp/rwlock``). The lock is an
``fcntl.flock`` on an open file, so the kernel releases it when its holder exits, SIGKILL included:
a stale file never blocks a later run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from emoaugnet.errors import EmoAugNetError

LOCK_FILE = ".emoaugnet.lock"


class LockError(EmoAugNetError, RuntimeError):
    """Another stage holds the project lock."""


@contextlib.contextmanager
def project_lock(root: str | Path = ".") -> Iterator[Path]:
    """Hold the project's stage lock for the ``with`` block; :class:`LockError` if another process has it."""
    path = Path(root) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LockError(f"another EmoAugNet stage (pid {holder}) is running in this project "
                            f"({path.resolve()} is locked); wait for it to finish, then rerun") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)      # releases the lock (the file stays: removing it would race with a waiting opener)
