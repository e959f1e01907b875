"""The JSON-lines file ``emoaugnet predict --output FILE`` writes: one complete line per file, resumable.

Each result is appended as one ``write()`` of one whole line (``O_APPEND``), as soon as it is known, so
a run killed at any moment (SIGKILL included) leaves every result it wrote. :func:`open_results` reads an
existing file first: the paths it holds are done (a rerun skips them), and a last line without its
newline (torn by a crash, a full disk) is cut off, so the file it then appends to holds whole lines
only. A line that is not a predict result stops it before anything is written, naming the file and
line. The file is locked (``fcntl.flock``) while a run appends to it: a second run on the same file is
refused instead of writing the same files twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from emoaugnet.errors import EmoAugNetError


class ResultsFileError(EmoAugNetError, ValueError):
    """The output file cannot be resumed or written; the message names the file and the problem."""


class ResultsFile:
    """An open ``--output`` file: :attr:`done` (paths already in it), :attr:`errors` (how many of them are
    error results), :attr:`dropped` (bytes of a torn last line cut off); :meth:`write` appends a result."""

    def __init__(self, path: str | Path, fd: int, done: set[str], errors: int, dropped: int):
        self.path, self._fd, self.done, self.errors, self.dropped = Path(path), fd, done, errors, dropped

    def write(self, result: dict[str, Any]) -> None:
        data = (json.dumps(result) + "\n").encode()
        while data:                          # one call for a regular file; the loop covers a short write
            data = data[os.write(self._fd, data):]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)                   # releases the lock
            self._fd = -1

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_done(path: Path, data: bytes) -> tuple[set[str], int]:
    done: set[str] = set()
    errors = 0
    for number, line in enumerate(data.splitlines(), 1):
        try:
            result = json.loads(line)
            name, kind = result["path"], result["result"]
        except (ValueError, TypeError, KeyError):
            raise ResultsFileError(f"{path}: line {number} is not a predict result ({line[:80]!r}); "
                                   f"name another --output file, or remove this one") from None
        errors += kind == "error" and name not in done
        done.add(name)
    return done, errors


def open_results(path: str | Path) -> ResultsFile:
    """Open (or create) ``path`` for appending after reading which files it already holds; a torn last
    line is cut off first. :class:`ResultsFileError` when it is not a predict output, is locked by
    another run, or cannot be opened."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot open for writing ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResultsFileError(f"{path}: another predict run is writing to it; wait for it to finish "
                                   "(or name another --output file)") from None
        size = os.fstat(fd).st_size
        data = os.pread(fd, size, 0) if size else b""
        whole = data.rfind(b"\n") + 1          # everything after the last newline is a torn line
        done, errors = _read_done(path, data[:whole])
        if whole < len(data):
            os.ftruncate(fd, whole)
        return ResultsFile(path, fd, done, errors, len(data) - whole)
    except BaseException:
        os.close(fd)
        raise
