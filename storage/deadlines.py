"""PostgreSQL waits with a deadline: no connect or statement waits on a silent server for ever.

libpq has no read time-out. A server that is down refuses at once, and
``statement_timeout`` ends a slow statement, but a server that accepts and then
says nothing (frozen, a half-open connection, a stalled proxy) leaves a
blocking psycopg2 call waiting for ever: keepalives and ``tcp_user_timeout`` do
not help while the peer's kernel still acknowledges. So the server processes
wait through psycopg2's wait callback instead, as the green libraries do: the
socket is polled (cooperatively under gevent, whose ``select`` it is then), and
a wait longer than the process's limit — or, inside ``within``, past its
deadline instead (a webhook's few seconds, a migration's minutes) — raises
``DeadlineExceeded``; psycopg2 then closes the connection and SQLAlchemy counts
it as lost.

Installed for a whole process (psycopg2 allows one callback), by the web and
job processes only (``hotline.gunicorn_conf``, ``hotline.worker``): with a wait
callback psycopg2 refuses ``COPY``, which ``hotline import`` uses.

Under gevent a webhook's statement (``start``: inside a request's budget) is first
waited for in the operating system's own poll, up to ``PATIENCE_MS``, holding the
worker, when PostgreSQL is on this machine: its answer to an indexed lookup comes
sooner than the worker's other requests would give the worker back. Yielding at once
sent the request to the back of the worker's queue at each round trip (gevent's loop
serves the ready connections in turn, each to its next wait): measured at 520
webhooks/s, the server's p99 on PostgreSQL 70–117 ms against 21–50 ms with the
patience (benchmarks/README.md). Work outside a request — a batch of the calls' notes,
a job — yields at once: its statements must not hold the worker.
"""

from __future__ import annotations

import select
import time
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg2
from gevent import monkey
from gevent.monkey import get_original
from psycopg2 import extensions

from runtime import here

_limit_seconds: float | None = None
_until: ContextVar[float | None] = ContextVar("hotline_db_deadline", default=None)
_patient: ContextVar[bool] = ContextVar("hotline_db_patient", default=False)
# How long a request's statement is waited for before the worker runs its other requests
# (a PostgreSQL on this machine, under gevent only).
PATIENCE_MS = 1
# The operating system's poll even where gevent has patched ``select``.
_os_poll = get_original("select", "poll")


class DeadlineExceeded(psycopg2.OperationalError):
    """PostgreSQL did not answer in time; the connection is closed."""


TIMED_OUT = "PostgreSQL did not answer in time"


def install(limit_seconds: float) -> None:
    """Wait through ``wait`` in this process: no single wait longer than ``limit_seconds``.

    Under gevent (``select`` patched: a gevent worker) the wait is a single watcher on
    gevent's loop, as the green libraries wait; elsewhere a ``poll``. Which one is
    decided at each wait, not here: gunicorn's gevent worker patches ``select`` after
    ``post_fork`` has installed the callback (until then every wait of a web worker
    went through gevent's emulation of ``poll``, watchers built and torn down each time).
    """
    global _limit_seconds
    _limit_seconds = limit_seconds
    extensions.set_wait_callback(wait)


def uninstall() -> None:
    global _limit_seconds
    _limit_seconds = None
    extensions.set_wait_callback(None)


def installed() -> bool:
    return extensions.get_wait_callback() is wait


@contextmanager
def within(seconds: float):
    """Every wait inside ends ``seconds`` from now at the latest, in place of the limit."""
    token = _until.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _until.reset(token)


def start(seconds: float) -> None:
    """``within`` for a request, from its first hook to its teardown (``clear``); its
    statements are waited for patiently."""
    _until.set(time.monotonic() + seconds)
    _patient.set(True)


def clear() -> None:
    _until.set(None)
    _patient.set(False)


def _deadline() -> float | None:
    until = _until.get()
    if until is not None or _limit_seconds is None:
        return until
    return time.monotonic() + _limit_seconds


def wait(connection) -> None:
    """psycopg2's wait callback: poll the connection until it is done or the deadline passes."""
    deadline = _deadline()
    fd = connection.fileno()
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            events = select.POLLIN
        elif state == extensions.POLL_WRITE:
            events = select.POLLOUT
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        if deadline is None:
            timeout_ms = None
        else:
            timeout_ms = int((deadline - time.monotonic()) * 1000)
            if timeout_ms <= 0:
                raise DeadlineExceeded(TIMED_OUT)
        if not monkey.is_module_patched("select"):
            _poll(fd, events, timeout_ms)
        elif not (_patient.get() and _ready_soon(connection, fd, events, timeout_ms)):
            _green_wait(fd, events, timeout_ms)


def _ready_soon(connection, fd: int, events: int, timeout_ms: int | None) -> bool:
    """Whether the socket is ready within the patience (PostgreSQL on this machine only)."""
    if not here.on_this_machine(connection.info.host):
        return False
    poller = _os_poll()
    poller.register(fd, events | select.POLLERR | select.POLLHUP)
    patience = PATIENCE_MS if timeout_ms is None else min(PATIENCE_MS, timeout_ms)
    return bool(poller.poll(patience))


def _poll(fd: int, events: int, timeout_ms: int | None) -> None:
    poller = select.poll()
    poller.register(fd, events | select.POLLERR | select.POLLHUP)
    if not poller.poll(timeout_ms):
        raise DeadlineExceeded(TIMED_OUT)


def _green_wait(fd: int, events: int, timeout_ms: int | None) -> None:
    """The same wait as one watcher on gevent's loop (a patched ``poll`` builds several)."""
    from gevent.socket import wait_read, wait_write

    waiting = wait_read if events == select.POLLIN else wait_write
    waiting(fd, None if timeout_ms is None else timeout_ms / 1000, DeadlineExceeded(TIMED_OUT))
