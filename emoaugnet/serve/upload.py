"""An uploaded file under a byte limit: refused before the body is read when Content-Length says it is too
large, and while streaming once the bytes counted pass the limit. The service decodes it from memory
(:class:`emoaugnet.data.audio.Buffer`); the name shown in results and errors is the upload's base name.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Awaitable, Callable

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
