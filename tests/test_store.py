"""The shared Redis client: more requests at once than pooled connections wait, not fail."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from live import store

ROOT = Path(__file__).resolve().parent.parent


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


def test_a_connection_redis_closed_is_replaced_before_it_is_handed_out(redis_url):
    if redis_url is None:
        pytest.skip("needs a Redis server (HOTLINE_TEST_REDIS_URL)")
    client, other = store.connect(redis_url), store.connect(redis_url)
    try:
        first = client.client_id()
        # Redis restarted, or dropped an idle client: the pooled socket is closed.
        other.client_kill_filter(_id=first)
        assert client.ping()  # no error: the closed connection was not handed out
        assert client.client_id() != first
    finally:
        client.connection_pool.disconnect()
        other.connection_pool.disconnect()


# Run in a process of its own: gevent's patching is for the whole process.
_SWITCHES_ON_CHECKOUT = """
from gevent import monkey
monkey.patch_all()
import sys
import greenlet
from live import store

client = store.connect(sys.argv[1])
client.ping()
pool = client.connection_pool
switches = []
greenlet.settrace(lambda event, args: switches.append(event))
for _ in range(10):
    pool.release(pool.get_connection())
greenlet.settrace(None)
print(len(switches))
"""


def under_gevent(program: str, redis_url: str | None) -> list[str]:
    """What ``program`` prints, run with ``redis_url`` in a process gevent has patched."""
    if redis_url is None:
        pytest.skip("needs a Redis server (HOTLINE_TEST_REDIS_URL)")
    done = subprocess.run(
        [sys.executable, "-c", program, redis_url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_under_gevent_handing_out_a_pooled_connection_does_not_turn_the_event_loop(redis_url):
    # Each switch would let the worker's other requests run before this one's command.
    assert under_gevent(_SWITCHES_ON_CHECKOUT, redis_url) == ["0"]


_SWITCHES_ON_REPLIES = """
from gevent import monkey
monkey.patch_all()
import sys
import gevent
import greenlet
from live import store

client = store.connect(sys.argv[1])
client.ping()
switches = []
greenlet.settrace(lambda event, args: switches.append(event))
for _ in range(200):
    client.get("hotline:test:nothing")
greenlet.settrace(None)
print(len(switches))
# A reply Redis is slow with (a script busy for tens of ms): the others run meanwhile.
ran = []
gevent.spawn(ran.append, "other request")
client.eval("local i = 0 while i < 5000000 do i = i + 1 end return i", 0)
print(len(ran))
"""


def test_under_gevent_a_prompt_reply_is_read_without_running_other_requests_first(redis_url):
    switches, others_ran_while_slow = under_gevent(_SWITCHES_ON_REPLIES, redis_url)
    # A trip through gevent's loop per command costs more than loopback Redis takes. A
    # reply a busy machine delays past the patience yields (two switches, out and back):
    # a few of 200 may, where without the patience every one of them does (400 switches).
    assert int(switches) <= 2 * 10
    # Past the moment's patience the worker's other requests run, as before.
    assert others_ran_while_slow == "1"


def test_outside_gevent_replies_are_read_by_redis_pys_own_parser(redis_url):
    from redis.connection import DefaultParser

    client = store.connect(redis_url or "redis://127.0.0.1:1/0")  # connects lazily
    assert client.connection_pool.connection_kwargs["parser_class"] is DefaultParser


@pytest.mark.parametrize(
    ("url", "here"),
    [
        ("redis://127.0.0.1:6379/0", True),
        ("redis://localhost/0", True),
        ("redis://[::1]:6379/0", True),
        ("unix:///run/redis/redis.sock", True),
        ("redis://10.0.0.7:6379/0", False),
        ("rediss://cache.example.com:6380/0", False),
    ],
)
def test_only_a_redis_on_this_machine_is_waited_for_before_yielding(url, here):
    # Across a network a reply takes about as long as the patience: it would hold the worker.
    assert store._on_this_machine(url) is here


def test_only_a_tls_socket_with_decrypted_bytes_waiting_has_a_reply_its_poll_cannot_see():
    import socket

    class Tls(socket.socket):  # as ssl.SSLSocket and gevent's: ``pending`` on the class
        waiting = 0

        def pending(self):
            return self.waiting

    with socket.socket() as plain, Tls() as tls:
        assert not store._pending(plain)
        assert not store._pending(tls)
        tls.waiting = 37
        assert store._pending(tls)
