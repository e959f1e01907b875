"""Slow clients: a request's head must arrive within ``read_timeout`` seconds, or the connection is closed.

uvicorn (0.55) has no timeout for the head of a request: ``timeout_keep_alive`` covers a connection
idle *between* requests and is cancelled by the first byte received, so a client that connects and sends
nothing, or dribbles a header a byte a second, would hold its connection for ever. :class:`HeadTimeout`
adds that timer to uvicorn's HTTP protocols: armed when the connection opens and again when the first
byte of a following request arrives, disarmed once the whole head has been parsed. When it fires, the
connection is closed (there is no request yet to answer).

``serve --http`` chooses the parser (:func:`protocol`): ``httptools`` (:class:`HeadTimeoutHttpToolsProtocol`,
uvicorn's protocol on llhttp, Node's parser in C; the serve extra installs it) or ``h11``
(:class:`HeadTimeoutH11Protocol`, pure Python); ``auto``, the default, is httptools where it is installed,
as uvicorn's own default. httptools costs the server less CPU per request (docs/serving.md).

The body is the application's: :mod:`emoaugnet.serve.app` reads it under ``anyio.fail_after`` of the
same ``read_timeout`` and answers 408 (closing the connection) when it is late. A client that never reads
its answer is left to the operating system's buffers (answers are a few KiB).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeadTimeout:
    """:attr:`read_timeout` on each request's head, for a uvicorn HTTP protocol class (both keep the request
    being answered in ``cycle``). Its classes are module classes, so a service process (``serve
    --processes``) names them to uvicorn by import path; the process sets :attr:`read_timeout` (on this
    class) before it takes connections."""

    read_timeout: float = 30.0
    head_timer: asyncio.TimerHandle | None = None

    cycle: Any
    transport: Any
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()              # the head is parsed: the application owns the body's time
        elif self.head_timer is None and not self.transport.is_closing():
            self._arm()                 # bytes of a following request's head

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self.head_timer = self.loop.call_later(self.read_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_too_slow(self) -> None:
        self.head_timer = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


class HeadTimeoutH11Protocol(HeadTimeout, H11Protocol):
    """uvicorn's h11 protocol (pure Python) with the head's timeout."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:          # httptools not installed: h11 only
    HttpToolsProtocol = None

if HttpToolsProtocol is not None:
    class HeadTimeoutHttpToolsProtocol(HeadTimeout, HttpToolsProtocol):
        """uvicorn's httptools protocol (a C parser) with the head's timeout."""

#: ``serve --http``'s choices.
PARSERS = ("auto", "httptools", "h11")


def protocol(parser: str = "auto") -> str:
    """What uvicorn is given as ``http`` for ``parser`` (:data:`PARSERS`): the import path of the protocol
    class; ValueError when httptools is asked for and not installed."""
    if parser not in PARSERS:
        raise ValueError(f"--http is {parser!r}; choose one of {', '.join(PARSERS)}")
    if parser == "httptools" and HttpToolsProtocol is None:
        raise ValueError("--http httptools: httptools is not installed (pip install 'emoaugnet[serve]')")
    use_h11 = parser == "h11" or HttpToolsProtocol is None
    return f"{__name__}:{(HeadTimeoutH11Protocol if use_h11 else HeadTimeoutHttpToolsProtocol).__name__}"


def parser_name(path: str) -> str:
    """``httptools`` or ``h11``: the parser of :func:`protocol`'s import path."""
    return "h11" if path.endswith(HeadTimeoutH11Protocol.__name__) else "httptools"
