"""An uploaded file under a byte limit: refused before the body is read when Content-Length says it is too
large, and while streaming once the bytes counted pass the limit; saved to a temp file that is removed.

Nothing of the upload's name reaches the file system but its extension (when it is one
:data:`emoaugnet.inference.predictor.AUDIO_EXTENSIONS` lists, so the decoder sees the usual suffix); the name shown
in results is the upload's base name, and messages never show the temp path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO, Any, Awaitable, Callable, Iterator

from emoaugnet.inference.predictor import AUDIO_EXTENSIONS

TEMP_PREFIX = "emoaugnet-upload-"

Receive = Callable[[], Awaitable[dict[str, Any]]]


class TooLarge(Exception):
    """The request body is over the limit; ``str()`` says by how much and names the setting."""

    def __init__(self, limit: int, size: int | None = None):
        self.limit, self.size = limit, size
        got = f"{size} bytes" if size is not None else f"more than {limit} bytes"
        super().__init__(f"upload is {got}; this service accepts at most {limit} bytes "
                         f"({limit / 2 ** 20:g} MiB, serve --max-upload-mb)")


def check_content_length(headers: Any, limit: int) -> None:
    """Raise :class:`TooLarge` when the declared Content-Length is over ``limit`` (nothing read yet)."""
    declared = headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise TooLarge(limit, int(declared))


def limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that counts body bytes and raises :class:`TooLarge` as soon as they pass ``limit``
    (for a body sent without Content-Length, or one longer than it said)."""
    seen = 0

    async def counted() -> dict[str, Any]:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(limit)
        return message
    return counted


def display_name(filename: str | None) -> str:
    """The upload's base name (no client folders, no server path): what results call the file."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    return name or "upload"


@contextlib.contextmanager
def saved(source: IO[bytes], filename: str | None) -> Iterator[str]:
    """Copy ``source`` to a new temp file (suffix from ``filename`` when it is an audio extension) and
    yield its path; the file is removed afterwards, whatever happened."""
    suffix = PurePosixPath(display_name(filename)).suffix.lower()
    fd, path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix if suffix in AUDIO_EXTENSIONS else "")
    try:
        with os.fdopen(fd, "wb") as out:
            source.seek(0)
            shutil.copyfileobj(source, out)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
