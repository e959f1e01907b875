"""The bounded queue in front of the classifying threads: at most ``workers`` recordings classified and
``queue`` waiting; a request past that is refused at once with 503 and ``Retry-After`` instead of waiting
behind a line that grows without bound.

A request is counted from the moment its body has been read (a client still sending takes no place, so a
slow one cannot fill the queue; :mod:`emoaugnet.serve.deadlines` bounds how long it may send) until its
answer is ready. Everything here runs on the event loop, so a plain counter is enough.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Iterator


class Busy(Exception):
    """Every place is taken; ``retry_after`` is a whole number of seconds to wait before trying again."""

    def __init__(self, capacity: int, retry_after: int):
        self.capacity, self.retry_after = capacity, retry_after
        super().__init__(f"the service is at capacity ({capacity} recordings classified or waiting); "
                         f"retry after {retry_after} s (serve --workers, --queue)")


class Admission:
    """``workers`` classifying plus ``queue`` waiting; :meth:`admitted` raises :class:`Busy` past that."""

    def __init__(self, workers: int, queue: int):
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.workers, self.capacity = workers, workers + queue
        self.inside = 0
        self.seconds = 0.1          # running mean of an admitted request's time, waiting included

    def retry_after(self) -> int:
        """Seconds until the places now taken are likely free again: about the time the last one admitted
        will take, waiting and classifying, whole and at least 1."""
        return max(1, math.ceil(self.seconds))

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        if self.inside >= self.capacity:
            raise Busy(self.capacity, self.retry_after())
        self.inside += 1
        start = time.monotonic()
        try:
            yield
        finally:
            self.inside -= 1
            self.seconds = 0.8 * self.seconds + 0.2 * (time.monotonic() - start)
