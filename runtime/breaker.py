"""A circuit breaker: once a backend has failed, the next callers do not wait on it again.

Closed, every use is let through. A failure opens it: for ``open_seconds`` no use
is let through at all (the caller fails at once and answers in degraded mode),
then one use is let through as a probe — its success closes the breaker, its
failure opens it again. Uses made while the probe is out are refused, unless the
probe has been out for longer than ``open_seconds`` (it died without a word).

One per backend and process (``storage.db`` and ``live.store`` keep theirs with
the app); thread- and greenlet-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, PROBING = "closed", "open", "probing"


class Breaker:
    def __init__(
        self,
        name: str,
        open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.open_seconds = open_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._since = 0.0
        self.failures = 0
        self.refused = 0

    @property
    def state(self) -> str:
        return self._state

    def allow(self) -> bool:
        """Whether a use may go ahead now (taking the probe's turn when one is due)."""
        if self._state == CLOSED:  # the usual case, read without the lock (every command)
            return True
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._clock() - self._since < self.open_seconds:
                self.refused += 1
                return False
            # Cooled down (or the last probe never came back): this use is the probe.
            self._state, self._since = PROBING, self._clock()
            return True

    def is_open(self) -> bool:
        """Open and still cooling down: not even a probe may go (a probe in flight may)."""
        with self._lock:
            return self._state == OPEN and self._clock() - self._since < self.open_seconds

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            self._state, self._since = OPEN, self._clock()

    def succeeded(self) -> None:
        if self._state == CLOSED:  # the usual case, read without the lock
            return
        with self._lock:
            self._state = CLOSED

    def as_dict(self) -> dict:
        return {"state": self.state, "failures": self.failures, "refused": self.refused}
