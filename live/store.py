"""Redis: call state, counters, pub/sub and the rq queues.

With ``REDIS_URL`` unset the app uses an in-process fakeredis server, which is
enough for a one-process demo and nothing more (each process has its own).
"""

from __future__ import annotations

import fakeredis
from flask import Flask, current_app
from redis import BlockingConnectionPool, Redis

EXTENSION = "hotline.redis"
# Connections one process keeps to Redis (redis-py's own default), and how long a
# request waits for one when all are in use before it counts as Redis being down.
POOL_CONNECTIONS = 100
POOL_WAIT_SECONDS = 2


def connect(url: str | None) -> Redis:
    if not url:
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    # redis-py connects lazily, on the first command. A gevent worker may run more
    # requests at once than the pool has connections: the extra ones wait for a
    # connection (briefly) rather than fail with "Too many connections", which would
    # send callers to the degraded answer under a burst of webhooks.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_connect_timeout=1,
        socket_timeout=2,
    )
    return Redis(connection_pool=pool)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = connect(app.config.get("REDIS_URL"))


def redis(app: Flask | None = None) -> Redis:
    return (app or current_app).extensions[EXTENSION]


def dedicated(app: Flask | None = None) -> Redis:
    """A client with a connection of its own, for a long blocking read (an event stream).

    Hundreds of open streams would otherwise drain the shared pool. The in-process
    store has no connections to run out of: it is shared. Close it when done.
    """
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return redis(app)
    return Redis.from_url(
        url, socket_connect_timeout=1, socket_timeout=5, single_connection_client=True
    )
