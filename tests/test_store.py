"""The shared Redis client: more requests at once than pooled connections wait, not fail."""

from __future__ import annotations

import threading

import pytest

from live import store


def test_a_command_waits_for_a_pooled_connection_when_all_are_in_use(redis_url):
    if redis_url is None:
        pytest.skip("needs a Redis server (HOTLINE_TEST_REDIS_URL)")
    client = store.connect(redis_url)
    pool = client.connection_pool
    held = [pool.get_connection() for _ in range(pool.max_connections)]
    try:
        # Another request finishes with its connection a moment later.
        threading.Timer(0.2, pool.release, [held.pop()]).start()
        assert client.ping()
    finally:
        for connection in held:
            pool.release(connection)
        pool.disconnect()
