"""Slow clients: a request's head must arrive within ``read_timeout`` seconds, or the connection is closed.

uvicorn (0.55, h11) has no timeout for the head of a request: ``timeout_keep_alive`` covers a connection
idle *between* requests and is cancelled by the first byte received, so a client that connects and sends
nothing, or dribbles a header a byte a second, would hold its connection for ever. :class:`HeadTimeoutH11Protocol`
is uvicorn's h11 protocol with that timer added: armed when the connection opens and again when the
first byte of a following request arrives, disarmed once the whole head has been parsed. When it fires,
the connection is closed (there is no request yet to answer).

The body is the application's: :mod:`emoaugnet.serve.app` reads it under ``anyio.fail_after`` of the
same ``read_timeout`` and answers 408 (closing the connection) when it is late. A client that never reads
its answer is left to the operating system's buffers (answers are a few KiB).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeadTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with :attr:`read_timeout` on each request's head. A class of this module, so a
    service process (``serve --processes``) names it to uvicorn by its import path; the process sets
    :attr:`read_timeout` before it takes connections."""

    read_timeout: float = 30.0
    head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()              # the head is parsed: the application owns the body's time
        elif self.head_timer is None and not self.transport.is_closing():
            self._arm()                 # bytes of a following request's head

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

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

#: What uvicorn is given as ``http``: the class's import path.
PROTOCOL = f"{__name__}:{HeadTimeoutH11Protocol.__name__}"
