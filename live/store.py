"""Redis: call state, counters, pub/sub and the rq queues.

With ``REDIS_URL`` unset the app uses an in-process fakeredis server, which is
enough for a one-process demo and nothing more (each process has its own).

A webhook must answer within seconds whatever Redis does: connecting, waiting
for a pooled connection and every reply each give up after a second, with no
retry. A Redis that failed is not tried again by the next callers for a few
seconds (``runtime.breaker``): they fail at once, then one request probes it.
"""

from __future__ import annotations

import select

import fakeredis
from flask import Flask, current_app
from gevent import monkey
from gevent.monkey import get_original
from redis import BlockingConnectionPool, Connection, Redis
from redis.connection import DefaultParser, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import HIREDIS_AVAILABLE, SENTINEL

from runtime import here
from runtime.breaker import Breaker

EXTENSION = "hotline.redis"
BREAKER = "hotline.redis.breaker"
# Connections one process keeps to Redis (redis-py's own default), and how long a
# request waits for one when all are in use before it counts as Redis being down.
POOL_CONNECTIONS = 100
POOL_WAIT_SECONDS = 1
# Redis answers in well under a millisecond: a second without a reply means trouble.
CONNECT_SECONDS = 1
REPLY_SECONDS = 1
# An event stream's blocking read waits up to SSE_BLOCK_MS for news, then some.
STREAM_REPLY_SECONDS = 5
# A Redis that failed is left alone this long before one request probes it.
BREAKER_SECONDS = 5.0
# How long a request waits for Redis's reply before its worker runs other requests
# (a Redis on this machine only: ``_Patient``).
PATIENCE_MS = 1
# What a dead, restarting or silent Redis raises (BusyLoadingError is a ConnectionError).
FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)


class NotTried(RedisConnectionError):
    """The breaker is open: nothing was sent."""


def connect(url: str | None, breaker: Breaker | None = None) -> Redis:
    if not url:
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    # redis-py connects lazily, on the first command. A gevent worker may run more
    # requests at once than the pool has connections: the extra ones wait for a
    # connection (briefly) rather than fail with "Too many connections", which would
    # send callers to the degraded answer under a burst of webhooks.
    pool = GuardedPool.from_url(
        url,
        max_connections=POOL_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        connection_class=_guarded(_connection_class(url), breaker),
        socket_connect_timeout=CONNECT_SECONDS,
        socket_timeout=REPLY_SECONDS,
        parser_class=_parser(url),
    )
    pool.breaker = breaker
    # The connections are made without a retry (redis-py's default for a pool of
    # its own): a second try at a silent Redis doubles the caller's wait for nothing.
    return Redis(connection_pool=pool)


def init_app(app: Flask) -> None:
    breaker = Breaker("redis", BREAKER_SECONDS)
    app.extensions[BREAKER] = breaker
    app.extensions[EXTENSION] = connect(app.config.get("REDIS_URL"), breaker)


def redis(app: Flask | None = None) -> Redis:
    return (app or current_app).extensions[EXTENSION]


def breaker(app: Flask | None = None) -> Breaker:
    return (app or current_app).extensions[BREAKER]


def dedicated(app: Flask | None = None) -> Redis:
    """A client with a connection of its own, for a long blocking read (an event stream).

    Hundreds of open streams would otherwise drain the shared pool. The in-process
    store has no connections to run out of: it is shared. Close it when done.
    Raises a ``RedisError`` at once while Redis is down.
    """
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return redis(app)
    guard = breaker(app)
    pool = GuardedPool.from_url(
        url,
        connection_class=_guarded(_connection_class(url), guard),
        socket_connect_timeout=CONNECT_SECONDS,
        socket_timeout=STREAM_REPLY_SECONDS,
    )
    pool.breaker = guard
    client = Redis(connection_pool=pool, single_connection_client=True)
    client.auto_close_connection_pool = True  # closing the client closes its connection
    return client


# -- the breaker -----------------------------------------------------------------------------


class GuardedPool(BlockingConnectionPool):
    """A pool that hands out no connection while its breaker is open."""

    breaker: Breaker | None = None

    def get_connection(self, *args, **kwargs):
        if self.breaker is not None and not self.breaker.allow():
            raise NotTried("Redis failed moments ago: not tried again yet")
        return super().get_connection(*args, **kwargs)

    def ensure_connection(self, connection) -> None:
        """Hand out ``connection`` as redis-py would: connected, with nothing unasked to read.

        redis-py asks each connection it hands out whether anything waits on its socket
        (a reply left unread, or Redis having closed it) with ``select.poll``. In a gevent
        worker that poll is gevent's: io watchers, a timer and a turn of the event loop,
        which lets the worker's other requests run first — measured, 45 µs of CPU on
        every round trip, one that costs 90 µs without it. The operating system's own
        poll, with no timeout, answers the same question without blocking anything. Only
        a socket with something to read (or TLS bytes already decrypted above it) goes
        through redis-py's check, which reconnects a closed one or reads a maintenance
        notice that Redis pushed.
        """
        sock = connection._sock
        if sock is not None and not _pending(sock):
            poller = _os_poll()
            poller.register(sock, select.POLLIN)
            if not poller.poll(0):
                return
        super().ensure_connection(connection)


# The operating system's poll even where gevent has patched ``select``: with no timeout
# it never blocks, so the event loop need not be involved.
_os_poll = get_original("select", "poll")


def _parser(url: str) -> type:
    """redis-py's parser (over hiredis) for the shared pool, waiting a moment for a reply
    before it yields when that pays (``_Patient``)."""
    if HIREDIS_AVAILABLE and monkey.is_module_patched("socket") and _on_this_machine(url):
        return _Patient
    return DefaultParser


class _Patient(DefaultParser):
    """Waits a moment for a reply before it yields the worker.

    In a gevent worker a read that finds no reply yet hands the worker to gevent's loop,
    which runs the worker's other requests and comes back when the reply is there. On
    loopback Redis answers in tens of microseconds, less than that trip through the
    loop costs. So the read first waits in the operating system's own poll, up to
    ``PATIENCE_MS``, holding the worker: most replies are read with no turn of the
    loop, and one Redis is slow with is waited for as before, after that moment.
    Measured under gunicorn at 540 webhooks/s: 3.5 % less CPU per webhook, and the
    server's p99 from 4.4 to 2.8 ms on SQLite (on PostgreSQL unchanged).

    Only under gevent: elsewhere (the rq worker, a threaded server, the CLI) a read
    blocks its thread anyway, and the poll would be one system call more. Only for the
    shared pool's short commands: an event stream's blocking read (``dedicated``) waits
    for news, not for a reply, and must not hold its worker. Only for a Redis on this
    machine (``_on_this_machine``): across a network a reply takes about as long as the
    patience, which would then hold the worker for nothing.
    """

    def read_from_socket(self, timeout=SENTINEL, raise_on_timeout=True):
        sock = self._sock
        # A read with a time-out of its own is a look (``can_read``): left alone.
        if timeout is SENTINEL and sock is not None and not _pending(sock):
            poller = _os_poll()
            poller.register(sock, select.POLLIN)
            poller.poll(PATIENCE_MS)
        return super().read_from_socket(timeout, raise_on_timeout)


def _on_this_machine(url: str) -> bool:
    """The URL's Redis is reached over loopback or a Unix socket."""
    found = parse_url(url)
    return "path" in found or here.on_this_machine(found.get("host"))


def _pending(sock) -> bool:
    """TLS bytes already decrypted above the socket: a reply the socket's poll cannot see."""
    # Asked of the class (TLS sockets define ``pending`` there): a gevent socket hands an
    # attribute it lacks to the socket it wraps, which raises, twice a round trip.
    return hasattr(type(sock), "pending") and bool(sock.pending())


def _connection_class(url: str) -> type:
    """redis-py's class for the URL's scheme (TLS for rediss://, a Unix socket for unix://)."""
    return parse_url(url).get("connection_class", Connection)


def _guarded(base: type, guard: Breaker | None) -> type:
    """``base`` (redis-py's connection class for the URL) telling ``guard`` how Redis fares."""
    if guard is None:
        return base

    def noted(call, *args, **kwargs):
        try:
            result = call(*args, **kwargs)
        except FAILURES:
            guard.failed()
            raise
        return result

    class Guarded(base):
        def connect(self, *args, **kwargs):
            return noted(super().connect, *args, **kwargs)

        def send_packed_command(self, *args, **kwargs):
            return noted(super().send_packed_command, *args, **kwargs)

        def read_response(self, *args, **kwargs):
            response = noted(super().read_response, *args, **kwargs)
            guard.succeeded()
            return response

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded
