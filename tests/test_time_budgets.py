"""Time budgets: no use of PostgreSQL, SQLite or Redis waits long on a backend that fails.

A frozen server (it accepts, and never answers) is a stalling proxy in front of
the real PostgreSQL (``faults.StallingProxy``) or a stopped redis-server. The
first use gives up within its budget; while the breaker is open, the next ones
are refused at once; once the backend answers again, so do they.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest
from faults import FREEZE, PASS, REFUSE, RedisServer, StallingProxy
from redis.exceptions import RedisError
from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from live import store
from runtime.breaker import Breaker
from storage import db, deadlines


@pytest.fixture
def waits_with_deadlines():
    """The wait callback of the server processes, in this process for one test."""
    deadlines.install(db.WEB.silence)
    yield
    deadlines.uninstall()


@pytest.fixture
def proxy(postgres_url):
    upstream = make_url(postgres_url)
    stalling = StallingProxy(upstream.host, upstream.port)
    yield stalling
    stalling.close()


@pytest.fixture
def proxied_url(proxy, postgres_url) -> str:
    url = make_url(postgres_url).set(port=proxy.port)
    return url.render_as_string(hide_password=False)


def timed(use) -> tuple[float, Exception | None]:
    started = time.monotonic()
    try:
        use()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def select_one(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar()


def test_web_connections_to_postgresql_carry_statement_and_lock_time_outs(postgres_url):
    engine = db.make_engine(postgres_url, db.WEB)
    try:
        with engine.connect() as connection:
            statement = connection.execute(text("SHOW statement_timeout")).scalar()
            lock = connection.execute(text("SHOW lock_timeout")).scalar()
    finally:
        engine.dispose()
    assert (statement, lock) == ("3s", "2s")


def test_batch_connections_have_no_statement_time_out(postgres_url):
    engine = db.make_engine(postgres_url, db.BATCH)
    try:
        assert select_one(engine) == 1
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"
    finally:
        engine.dispose()


def test_a_frozen_postgresql_costs_the_first_caller_its_budget_and_the_next_nothing(
    waits_with_deadlines, proxy, proxied_url
):
    guard = Breaker("database", open_seconds=60)
    engine = db.make_engine(proxied_url, db.WEB, guard)
    try:
        assert select_one(engine) == 1
        proxy.set(FREEZE)
        first, error = timed(lambda: select_one(engine))
        assert isinstance(error, OperationalError)
        assert first < db.WEB.silence + 1
        second, error = timed(lambda: select_one(engine))
        assert isinstance(error, OperationalError) and isinstance(error.orig, db.NotTried)
        assert second < 0.1
    finally:
        engine.dispose()


def test_a_webhook_deadline_ends_a_wait_sooner_than_the_limit(
    waits_with_deadlines, proxy, proxied_url
):
    engine = db.make_engine(proxied_url, db.WEB, Breaker("database"))
    try:
        proxy.set(FREEZE)
        with deadlines.within(0.5):
            seconds, error = timed(lambda: select_one(engine))
    finally:
        engine.dispose()
    assert isinstance(error, OperationalError)
    assert seconds < 1.0


def test_postgresql_is_probed_again_after_the_pause_and_used_once_it_answers(
    waits_with_deadlines, proxy, proxied_url
):
    guard = Breaker("database", open_seconds=0.3)
    engine = db.make_engine(proxied_url, db.WEB, guard)
    try:
        proxy.set(REFUSE)
        _, error = timed(lambda: select_one(engine))
        assert isinstance(error, OperationalError)
        proxy.set(PASS)
        _, error = timed(lambda: select_one(engine))
        assert isinstance(error.orig, db.NotTried)
        time.sleep(0.35)
        assert select_one(engine) == 1
        assert guard.state == "closed"
    finally:
        engine.dispose()


def test_a_stale_pooled_connection_is_replaced_without_opening_the_breaker(
    waits_with_deadlines, proxy, proxied_url
):
    guard = Breaker("database", open_seconds=60)
    engine = db.make_engine(proxied_url, db.WEB, guard)
    try:
        assert select_one(engine) == 1
        proxy.set(PASS)  # cuts the pooled connection, as a server restart would
        assert select_one(engine) == 1
        assert guard.failures == 0
    finally:
        engine.dispose()


def test_a_pooled_connection_is_handed_out_again_without_a_round_trip(proxy, proxied_url):
    engine = db.make_engine(proxied_url, db.WEB)
    try:
        assert select_one(engine) == 1
        sent = proxy.sent_upstream
        for _ in range(5):
            with engine.connect() as connection:
                assert connection.connection.dbapi_connection is not None  # checked out
        assert proxy.sent_upstream == sent
        assert select_one(engine) == 1
        assert proxy.sent_upstream > sent  # the proxy does count what a query sends
    finally:
        engine.dispose()


def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(postgres_url):
    guard = Breaker("database", open_seconds=60)
    engine = db.make_engine(postgres_url, db.WEB, guard)
    admin = db.make_engine(postgres_url, db.WEB)
    backend = text("SELECT pg_backend_pid()")
    try:
        with engine.connect() as connection:
            ended = connection.execute(backend).scalar()
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended})
        time.sleep(0.2)  # the server's notice and the end of the stream reach the socket
        with engine.connect() as connection:
            assert connection.execute(backend).scalar() != ended
        assert guard.failures == 0
    finally:
        engine.dispose()
        admin.dispose()


def test_sqlite_gives_up_on_another_process_write_lock_within_the_web_budget(tmp_path):
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")  # as the hotline leaves every database
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # what `hotline import` holds while it writes
    engine = db.make_engine(f"sqlite:///{path}", db.WEB)

    def write():
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))

    try:
        seconds, error = timed(write)
    finally:
        engine.dispose()
        holder.execute("ROLLBACK")
        holder.close()
    assert isinstance(error, OperationalError) and "locked" in str(error)
    assert db.WEB.busy - 0.5 < seconds < db.WEB.busy + 1.5


@pytest.fixture
def redis_server(tmp_path):
    try:
        server = RedisServer(tmp_path / "redis.log").start()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


def test_a_frozen_redis_costs_the_first_caller_a_second_and_the_next_nothing(redis_server):
    client = store.connect(redis_server.url, Breaker("redis", open_seconds=60))
    assert client.ping()
    redis_server.freeze()
    first, error = timed(lambda: client.get("x"))
    assert isinstance(error, RedisError)
    assert first < store.REPLY_SECONDS + 0.5
    second, error = timed(lambda: client.get("x"))
    assert isinstance(error, store.NotTried)
    assert second < 0.1


def test_redis_is_probed_again_after_the_pause_and_used_once_it_answers(redis_server):
    guard = Breaker("redis", open_seconds=0.3)
    client = store.connect(redis_server.url, guard)
    redis_server.stop()
    _, error = timed(lambda: client.get("x"))
    assert isinstance(error, RedisError)
    redis_server.start()
    assert isinstance(timed(lambda: client.get("x"))[1], store.NotTried)
    time.sleep(0.35)
    assert client.ping()
    assert guard.state == "closed"


def test_an_event_stream_client_is_refused_at_once_while_redis_is_down(app, redis_server):
    app.config["REDIS_URL"] = redis_server.url
    store.breaker(app).failed()
    seconds, error = timed(lambda: store.dedicated(app))
    assert isinstance(error, store.NotTried) and seconds < 0.1


def _counting_green_waits(limit_seconds: float) -> str:
    """The start of a program run under gevent: the wait callback installed as gunicorn does
    (in post_fork, before the worker patches the standard library), each wait on gevent's
    loop counted in ``green``."""
    return f"""
from storage import deadlines
deadlines.install({limit_seconds})
from gevent import monkey
monkey.patch_all()
import gevent, psycopg2

green = []
green_wait = deadlines._green_wait
deadlines._green_wait = lambda *args: green.append(args) or green_wait(*args)
"""


def test_under_gevent_the_wait_is_green_and_still_ends_at_its_deadline():
    # A gevent worker's psycopg2 waits: one watcher on gevent's loop, other greenlets run
    # meanwhile, and a server that accepts but never answers costs the limit, no more.
    program = (
        _counting_green_waits(0.5)
        + """
import socket, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.05)) for _ in range(100)])
began = time.monotonic()
try:
    psycopg2.connect(host="127.0.0.1", port=server.getsockname()[1], user="x", dbname="x")
except deadlines.DeadlineExceeded:
    print(round(time.monotonic() - began, 1), len(ticks) >= 5, len(green) > 0)
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert done.stdout.split() == ["0.5", "True", "True"], done.stdout + done.stderr


_PATIENT_WAITS = (
    _counting_green_waits(5)
    + """
import sys
connection = psycopg2.connect(sys.argv[1])
cursor = connection.cursor()


def yields(statements):
    del green[:]
    for _ in range(statements):
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return len(green)


outside = yields(100)
deadlines.start(5)
inside = yields(100)
ran = []
gevent.spawn(ran.append, "other request")
cursor.execute("SELECT pg_sleep(0.05)")
deadlines.clear()
print(outside, inside, len(ran))
"""
)


def test_under_gevent_a_requests_statement_is_waited_for_before_the_worker_yields(postgres_url):
    # Yielding at once sends the caller's request to the back of the worker's queue at every
    # round trip; a local PostgreSQL answers sooner. Outside a request (a batch of notes, a
    # job) every wait still yields, and a statement slower than the patience yields too.
    done = subprocess.run(
        [sys.executable, "-c", _PATIENT_WAITS, postgres_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    outside, inside, others_ran = (int(n) for n in done.stdout.split())
    assert outside >= 100, done.stdout + done.stderr
    assert inside <= 10  # a busy machine may delay a few replies past the patience
    assert others_ran == 1


@pytest.mark.parametrize(
    ("host", "local"),
    [
        (None, True),  # libpq's default: the local socket
        ("/var/run/postgresql", True),
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.7", False),
        ("db.example.com", False),
    ],
)
def test_only_a_server_on_this_machine_is_waited_for_before_yielding(host, local):
    from runtime import here

    assert here.on_this_machine(host) is local
