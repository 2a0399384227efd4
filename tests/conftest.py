"""Fixtures in the flaskr style: ``app``, ``client``, ``runner``.

Every test that touches storage runs twice, on SQLite and on PostgreSQL:

- SQLite: a migrated template file, copied for each test.
- PostgreSQL: one database per test session, named ``hotline_test_<pid>_<random>``
  on the server of ``HOTLINE_TEST_POSTGRES_URL``, migrated once, emptied before
  each test and dropped at the end, so parallel runs never meet.
- Redis: ``HOTLINE_TEST_REDIS_URL``, else a free database index 1-15 on
  127.0.0.1:6379 claimed by a lock key in database 0; flushed before and after
  each test. Without a reachable Redis the app's in-process store is used.

With ``CI`` set, an unreachable PostgreSQL or Redis fails the run instead of
skipping or falling back: CI must test what production runs on.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from hotline import create_app
from runtime.clock import FrozenClock
from services import accounts, call_notes
from simulator.softphone import Exchange, FlaskTransport, RecordingTwilio
from storage import db, schema
from storage.db import make_engine
from storage.models import Base

CI = bool(os.environ.get("CI"))
POSTGRES_ADMIN_URL = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_HOST_URL = "redis://127.0.0.1:6379"
REDIS_LOCK = "hotline:test-lock:{index}"
REDIS_LOCK_SECONDS = 3 * 3600
TIMEZONE = "Asia/Shanghai"
# A Tuesday morning, inside both lines' hours.
NOW = datetime(2026, 3, 10, 10, 30)


def _unavailable(what: str, exc: Exception):
    message = f"{what} is unreachable: {exc}".strip()
    if CI:
        pytest.fail(f"{message} (CI is set: the real service is required)", pytrace=False)
    pytest.skip(message)


# -- SQL databases -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()  # the last connection closing folds the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url():
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"hotline_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        _unavailable("PostgreSQL", exc.orig or exc)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        schema.upgrade(engine)
        yield url
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A migrated, empty database: each test runs once per kind."""
    if request.param == "sqlite":
        path = tmp_path / "hotline.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


# -- Redis ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    """A Redis database for this run, or None for the in-process store."""
    configured = os.environ.get("HOTLINE_TEST_REDIS_URL")
    if configured:
        try:
            redis_lib.Redis.from_url(configured, socket_connect_timeout=1).ping()
        except redis_lib.RedisError as exc:
            if CI:
                _unavailable("Redis", exc)
            yield None
            return
        yield configured
        return

    admin = redis_lib.Redis.from_url(f"{REDIS_HOST_URL}/0", socket_connect_timeout=1)
    owner = f"{os.getpid()}-{secrets.token_hex(4)}"
    try:
        index = next(
            (
                i
                # From the top down: hand-assigned indexes tend to be the low ones.
                for i in range(15, 0, -1)
                if admin.set(REDIS_LOCK.format(index=i), owner, nx=True, ex=REDIS_LOCK_SECONDS)
            ),
            None,
        )
    except redis_lib.RedisError as exc:
        if CI:
            _unavailable("Redis", exc)
        yield None
        return
    if index is None:
        _unavailable("Redis", RuntimeError("every database index 1-15 is taken by other runs"))
    try:
        yield f"{REDIS_HOST_URL}/{index}"
    finally:
        lock = REDIS_LOCK.format(index=index)
        if admin.get(lock) == owner.encode():
            admin.delete(lock)
        admin.close()


def _flush(url: str | None) -> None:
    if url:
        client = redis_lib.Redis.from_url(url)
        client.flushdb()
        client.close()


# -- the application -----------------------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    """The app's clock, frozen at NOW (Asia/Shanghai); tests may ``clock.set(...)``."""
    return FrozenClock(TIMEZONE, NOW)


@pytest.fixture
def app(database_url, redis_url, clock):
    _flush(redis_url)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CLOCK": clock,
        }
    )
    yield app
    call_notes.of(app).close()  # the calls' notes still waiting, written while it can be
    # Close pooled connections so PostgreSQL can empty and drop the database.
    db.engine(app).dispose()
    _flush(redis_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- feeds and agents ----------------------------------------------------------------------


@pytest.fixture
def write_feed(tmp_path):
    """Write a feed document (a dict, or raw text/bytes) to a file; returns its path."""
    count = 0

    def write(doc, name: str | None = None) -> Path:
        nonlocal count
        count += 1
        path = tmp_path / (name or f"feed-{count}.json")
        if isinstance(doc, bytes):
            path.write_bytes(doc)
        elif isinstance(doc, str):
            path.write_text(doc, encoding="utf-8")
        else:
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def import_feed(runner, write_feed):
    """Run ``hotline import`` on a feed document; returns the click result."""

    def run(doc):
        return runner.invoke(args=["import", str(write_feed(doc))])

    return run


@pytest.fixture
def token(app, clock) -> str:
    """An API token of a freshly added agent."""
    with app.app_context():
        session = db.session()
        agent = accounts.add_agent(session, "tester", "agent", ["medical"], ["medical", "policy"])
        issued = accounts.issue_token(session, agent, clock.now())
        session.commit()
    return issued


@pytest.fixture
def auth_headers(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- the agent side: people, agents, signed-in desks ------------------------------------


@pytest.fixture
def people(import_feed):
    """desk_fixtures.FEED: insured people of every tier, one in the waiting period."""
    from desk_fixtures import FEED

    result = import_feed(FEED)
    assert result.exit_code == 0, result.output


@pytest.fixture
def agent_tokens() -> dict:
    return {}


@pytest.fixture
def make_agent(app, clock, agent_tokens):
    """Add an agent with desk_fixtures.PASSWORD; returns a fresh API token of theirs."""
    from desk_fixtures import PASSWORD

    def make(username, role="agent", queues=("medical",), password=PASSWORD) -> str:
        """An agent already made gets another token."""
        with app.app_context():
            session = db.session()
            if username in agent_tokens:
                agent = accounts.find_agent(session, username)
            else:
                agent = accounts.add_agent(
                    session, username, role, list(queues), ["medical", "policy"], password=password
                )
            issued = accounts.issue_token(session, agent, clock.now())
            session.commit()
        agent_tokens[username] = issued
        return issued

    return make


@pytest.fixture
def auth_for(agent_tokens):
    """Bearer headers of an agent made with ``make_agent``."""
    return lambda username: {"Authorization": f"Bearer {agent_tokens[username]}"}


@pytest.fixture
def client_for(app, make_agent):
    """A new test client signed in to the desk as ``username`` (who must exist)."""
    from desk_fixtures import sign_in

    def signed_in(username):
        client = app.test_client()
        response = sign_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return signed_in


@pytest.fixture
def desk(app, client, make_agent):
    """``client``, signed in to the desk as agent "ann" (queue medical); quick SSE timings."""
    from desk_fixtures import sign_in

    app.config.update(SSE_HEARTBEAT_SECONDS=0.3, SSE_BLOCK_MS=50, SSE_MAX_SECONDS=20)
    make_agent("ann")
    response = sign_in(client, "ann")
    assert response.status_code == 302
    return client


# -- the telephone side --------------------------------------------------------------------

TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-auth-token"
PUBLIC_BASE_URL = "https://hotline.example.com"


@pytest.fixture
def twilio_rest(app) -> RecordingTwilio:
    """Twilio's REST API as the app sees it: every SMS and call it asks for is recorded."""
    recorder = RecordingTwilio()
    app.config.update(
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        TWILIO_HTTP_CLIENT=recorder,
    )
    return recorder


@pytest.fixture
def exchange(app, client, twilio_rest) -> Exchange:
    """Twilio's side of calls to the app: signed webhooks, queues, agents' phones.

    Its queues answer the REST requests the app makes of Twilio's queue resources.
    """
    found = Exchange(FlaskTransport(client), TWILIO_AUTH_TOKEN, base_url=PUBLIC_BASE_URL)
    twilio_rest.exchange = found
    return found


@pytest.fixture
def simulated(app):
    """The app with HOTLINE_SIMULATOR on (as ``hotline serve --demo`` starts it)."""
    from simulator import views

    app.config["HOTLINE_SIMULATOR"] = True
    views.init_app(app)
    return app
