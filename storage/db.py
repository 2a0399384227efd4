"""The SQL database: one engine per app, one session per request or CLI command.

Every connection works to a time budget (``Budget``): the web processes answer
Twilio within seconds whatever the database does, so their connections give up
quickly — connecting, waiting for a pooled connection, a statement, a lock, a
silent server (``storage.deadlines``), SQLite's busy lock — while the import and
the migrations (``BATCH``) may take their time. A PostgreSQL that failed is not
tried again by the next callers for a few seconds (``runtime.breaker``): they
fail at once and answer in degraded mode, then one request probes it.
"""

from __future__ import annotations

import functools
import io
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from select import POLLIN

from flask import Flask, current_app, g
from sqlalchemy import (
    URL,
    Connection,
    Engine,
    Table,
    column,
    create_engine,
    event,
    make_url,
    select,
    table,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from runtime.breaker import Breaker
from storage import prepared
from storage.deadlines import DeadlineExceeded

EXTENSION = "hotline.db"
# The driver's own commit mode of a connection switched to autocommit (``autocommitted``).
COMMIT_MODE = "hotline.db.commit_mode"
BREAKER = "hotline.db.breaker"
# Connections each process keeps open, and how many more it may open for a while.
POOL_SIZE = 20
POOL_OVERFLOW = 5


@dataclass(frozen=True, slots=True)
class Budget:
    """How long one use of the database may wait, in seconds (None: as long as it takes)."""

    connect: int  # PostgreSQL's connect_timeout (libpq counts whole seconds, at least 2)
    statement: float | None  # statement_timeout, enforced by the server
    lock: float | None  # lock_timeout: a row or table lock another session holds
    silence: float | None  # a server that says nothing (storage.deadlines, where installed)
    pool: float  # waiting for one of the process's pooled connections
    busy: float  # SQLite: waiting for another process's write lock (``hotline import``)


# Webhooks, pages and the API: Twilio waits 15 s, and a caller should hear an answer
# within 5 s (SPEC §8). One wait gives up after 3 s at most, and a webhook's waits
# together end within its own budget (``ivr.views``).
WEB = Budget(connect=2, statement=3, lock=2, silence=3, pool=2, busy=2)
# ``hotline import``, migrations and the rq worker's jobs: long statements are expected.
BATCH = Budget(connect=5, statement=None, lock=None, silence=60, pool=30, busy=30)
BUDGETS = {"web": WEB, "batch": BATCH}
# A PostgreSQL that failed is left alone this long before one request probes it.
BREAKER_SECONDS = 5.0


def database_url(url: str | URL) -> URL:
    """The SQLAlchemy URL to connect with.

    A plain ``postgresql://`` (or Heroku-style ``postgres://``) URL means the
    psycopg2 driver this project installs; SQLAlchemy 2.1 would otherwise pick psycopg 3.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url: str | URL, budget: Budget = BATCH, breaker: Breaker | None = None) -> Engine:
    """An engine whose connections keep to ``budget``; ``breaker`` guards a PostgreSQL."""
    url = database_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": budget.busy}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _commit_mode_back)
        return engine
    # hide_parameters: a failed query's message (logged) must not carry names or numbers.
    # The pool: at most 25 connections per process, 20 of them kept. An overflow
    # connection is closed when it comes back, so a gevent worker with more webhooks
    # using the database at once than the pool keeps connects anew for the rest: with
    # 5 kept, about 270 new PostgreSQL sessions per minute of the IVR benchmark (each
    # tens of ms under load); with 10 kept, 228 in two 15-s runs (p99 280-340 ms); with
    # 20, 49-82 (p99 165-225 ms). Two web workers and the rq worker stay well under
    # PostgreSQL's default of 100 connections. No pre-ping: ``_closed_by_server`` finds
    # the connections a restart closed without a round trip.
    engine = create_engine(
        url,
        poolclass=GuardedPool,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=budget.pool,
        connect_args=_postgres_arguments(url, budget),
        hide_parameters=True,
    )
    event.listen(engine, "checkin", _commit_mode_back)
    event.listen(engine.pool, "checkout", _closed_by_server)
    if breaker is not None:
        guard(engine, breaker)
    return engine


def _closed_by_server(dbapi_connection, _record, _proxy) -> None:
    """At checkout: a pooled connection the server has spoken on since is closed; use another.

    An idle connection hears nothing from PostgreSQL unless the server is ending it
    (a restart, ``pg_terminate_backend``, a proxy or failover cutting it: a FATAL
    notice, then the end of the stream), so a socket with something to read is one
    to replace. Looking costs one ``poll`` of the socket where SQLAlchemy's pre-ping
    costs a round trip per checkout, a wait that under gevent lets the worker's other
    requests run first. A server that went silent without closing is found by the
    first statement's deadline, as a pre-ping would have been. The pool replaces the
    connection on ``DisconnectionError`` and tries again.
    """
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        raise DisconnectionError("PostgreSQL closed this pooled connection")


def _readable(fd: int) -> bool:
    poller = _unpatched_poll()()
    poller.register(fd, POLLIN)  # POLLHUP and POLLERR are always reported
    return bool(poller.poll(0))


@functools.cache
def _unpatched_poll():
    # A look that must not wait: gevent's poll (once patched) would build watchers for it.
    from gevent import monkey

    return monkey.get_original("select", "poll")


def _postgres_arguments(url: URL, budget: Budget) -> dict:
    """libpq settings for ``budget``; those the URL gives itself stand."""
    arguments: dict = {"connect_timeout": budget.connect}
    limits = {"statement_timeout": budget.statement, "lock_timeout": budget.lock}
    options = [f"-c {name}={int(s * 1000)}" for name, s in limits.items() if s is not None]
    if options:
        arguments["options"] = " ".join(options)
    if budget.silence is not None:
        # A peer gone from the network (no acknowledgements): the kernel gives up on
        # it. A peer that acknowledges but never answers is storage.deadlines' job.
        arguments.update(
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
            tcp_user_timeout=int(budget.silence * 1000),
        )
    return {k: v for k, v in arguments.items() if k not in url.query}


# -- the breaker -----------------------------------------------------------------------------


class NotTried(Exception):
    """Raised as the driver's OperationalError: the breaker is open, nothing was sent."""


class GuardedPool(QueuePool):
    """A pool that hands out no connection while its breaker is open (``guard``)."""

    breaker: Breaker | None = None

    def connect(self):
        if self.breaker is not None and not self.breaker.allow():
            raise _not_tried(self._dialect)
        return super().connect()

    def recreate(self) -> QueuePool:
        fresh = super().recreate()
        fresh.breaker = self.breaker  # type: ignore[attr-defined]
        return fresh


def _not_tried(dialect) -> Exception:
    return _not_tried_class(dialect.loaded_dbapi.OperationalError)(
        "the database failed moments ago: not tried again yet"
    )


@functools.cache
def _not_tried_class(driver_error: type) -> type:
    # The driver's own class, so that SQLAlchemy wraps it like any failure to connect.
    return type("NotTried", (NotTried, driver_error), {})


def guard(engine: Engine, breaker: Breaker) -> None:
    """Open ``breaker`` when the server fails, close it when a connection is handed out."""
    engine.pool.breaker = breaker  # type: ignore[attr-defined]

    def failed(context) -> None:
        original = context.original_exception
        if isinstance(original, NotTried):
            return
        # Connecting failed, the server went silent, or it dropped a connection in use.
        # A pooled connection found closed at checkout is not a failure: it is
        # replaced at once, and a new connection failing counts then.
        connecting = context.connection is None
        lost = context.is_disconnect
        if connecting or lost or isinstance(original, DeadlineExceeded):
            breaker.failed()

    def new_connection(_dialect, _record, _args, _params):
        # A pooled connection was found closed while the breaker is open: no new
        # connection either (a probe, let through by the pool, may make one).
        if breaker.is_open():
            raise _not_tried(engine.dialect)

    event.listen(engine, "handle_error", failed)
    event.listen(engine, "do_connect", new_connection)
    event.listen(engine.pool, "checkout", lambda *_: breaker.succeeded())


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web workers read while the importer or the rq worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    # Creating an engine does not connect; the first query does.
    budget = BUDGETS[app.config.get("DATABASE_BUDGET") or "web"]
    breaker = Breaker("database", BREAKER_SECONDS)
    engine = make_engine(app.config["DATABASE_URL"], budget, breaker)
    app.extensions[EXTENSION] = sessionmaker(engine, expire_on_commit=False)
    app.extensions[BREAKER] = breaker
    app.teardown_appcontext(_close_session)


def breaker(app: Flask | None = None) -> Breaker:
    return (app or current_app).extensions[BREAKER]


def batch_engine(app: Flask | None = None) -> Engine:
    """An engine of its own for long work (import, migrations): ``BATCH``'s budget. Dispose it."""
    return make_engine(engine(app).url, BATCH)


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    return (app or current_app).extensions[EXTENSION]


def engine(app: Flask | None = None) -> Engine:
    return sessions(app).kw["bind"]


def session() -> Session:
    if "db_session" not in g:
        g.db_session = sessions()()
        if g.get("db_reads_only"):
            autocommitted(g.db_session)
    return g.db_session


def reads() -> Session:
    """This request's session for reads alone, in the driver's autocommit (``reads_only``).

    For the IVR's facts: a turn that reads the caller's household and then books a
    callback writes through ``session()``, a session of its own, so its writes keep their
    transaction while the reads make no BEGIN and ROLLBACK round trips around them (on
    PostgreSQL, two more waits for the webhook). Closed with the request's, by ``release``.
    """
    if "db_reads" not in g:
        g.db_reads = sessions()()
        autocommitted(g.db_reads)
    return g.db_reads


@contextmanager
def single_statement() -> Iterator[Session]:
    """A session of its own whose one write commits as it runs (the driver's autocommit).

    For a write that is one statement, atomic by itself (a call record's upsert): on
    PostgreSQL it makes no BEGIN and no COMMIT round trip of its own, which under gevent
    are two more waits for the webhook. Its connection goes back to the pool at the end.
    """
    with sessions()() as single:
        autocommitted(single)
        yield single


def reads_only(view):
    """For a view that only reads: its request's session runs in the driver's autocommit.

    Each query is its own transaction, as a PostgreSQL query in READ COMMITTED already
    sees its own snapshot: nothing changes in what is read, but no BEGIN and ROLLBACK
    round trips are made around the reads. Outermost, so that signing in reads so too.
    """

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        g.db_reads_only = True  # the session, when first asked for (``session``)
        return view(*args, **kwargs)

    return wrapped


def autocommitted(db_session: Session) -> None:
    """Switch the driver of ``db_session``'s connection to autocommit until it is checked in.

    The driver's own switch (SQLAlchemy's pre-ping used it so): SQLAlchemy's
    ``isolation_level="AUTOCOMMIT"`` would cost a round trip of its own when the
    connection comes back (psycopg2 resets ``default_transaction_isolation``).
    """
    connection = db_session.connection()
    proxied = connection.connection
    raw = proxied.dbapi_connection
    # psycopg2's switch; pysqlite's is no isolation level (no transaction begun for it).
    postgres = connection.dialect.name == "postgresql"
    name, on = ("autocommit", True) if postgres else ("isolation_level", None)
    proxied.info[COMMIT_MODE] = (name, getattr(raw, name))
    setattr(raw, name, on)


def _commit_mode_back(dbapi_connection, record) -> None:
    """At check-in: the connection's own commit mode again, for whoever takes it next."""
    found = record.info.pop(COMMIT_MODE, None)
    if found is not None:
        setattr(dbapi_connection, *found)


def release() -> None:
    """End this request's session now, giving its connection back to the pool.

    For a request that has read all it needs but still has slow work to do (Redis
    round trips, rendering): a connection held idle in transaction meanwhile is one
    the worker's other requests queue for. Using ``session()`` again opens a new one.
    """
    _close_session(None)


def _close_session(_exc: BaseException | None) -> None:
    for name in ("db_session", "db_reads"):
        db_session = g.pop(name, None)
        if db_session is not None:
            db_session.close()


def insert(connection: Connection, table: Table):
    """An INSERT of the connection's dialect, which knows ``ON CONFLICT``."""
    return prepared.insert(connection.dialect, table)


def upsert(
    connection: Connection,
    table: Table,
    rows: list[dict],
    keys: tuple[str, ...],
    columns: tuple[str, ...],
) -> None:
    """Insert ``rows``, or update ``columns`` of those whose ``keys`` are already there.

    Every row has the same keys. On PostgreSQL the rows are copied (``COPY``)
    into a temporary table of this transaction and upserted from there in one
    statement: the server parses no SQL per row and the client builds none.
    """
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy_upsert(connection, table, rows, keys, columns)
        return
    statement = insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in columns},
    )
    # RETURNING lets SQLAlchemy send the rows as multi-row VALUES pages
    # ("insertmanyvalues") rather than one statement per row.
    statement = statement.returning(*(table.c[key] for key in keys))
    connection.execute(statement, rows).close()


def insert_rows(connection: Connection, table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` (all with the same keys): ``COPY`` on PostgreSQL, else executemany."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table.name, list(rows[0]), rows)
        return
    connection.execute(table.insert(), rows)


# -- PostgreSQL COPY -----------------------------------------------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """One field in COPY's text format; refuses what it cannot write exactly."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot COPY a {type(value).__name__} value")


def _copy_text(names: list[str], rows: Iterable[dict]) -> io.StringIO:
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        write("\t".join([_copy_value(row[name]) for name in names]))
        write("\n")
    buffer.seek(0)
    return buffer


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _copy(connection: Connection, table_name: str, names: list[str], rows: list[dict]) -> None:
    statement = f'COPY "{table_name}" ({_quoted(names)}) FROM STDIN'
    data = _copy_text(names, rows)
    # The DBAPI cursor of this very connection: the COPY is part of its transaction.
    cursor = connection.connection.cursor()
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        cursor.copy_expert(statement, data)
    except dbapi_error as exc:
        # The same exceptions as any other statement (IntegrityError, OperationalError, …),
        # so callers' handlers for a broken constraint or a lost database still apply.
        raise DBAPIError.instance(statement, None, exc, dbapi_error) from exc
    finally:
        cursor.close()


def _copy_upsert(
    connection: Connection,
    target: Table,
    rows: list[dict],
    keys: tuple[str, ...],
    columns: tuple[str, ...],
) -> None:
    names = list(rows[0])
    # Named after the columns too: another caller may write other columns of the table.
    staging = f"hotline_staging_{target.name}_{zlib.crc32(','.join(names).encode()):08x}"
    # Only the columns written, with their types and no constraints or defaults;
    # dropped when the transaction ends, emptied between batches.
    connection.exec_driver_sql(
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" ON COMMIT DROP AS '
        f'SELECT {_quoted(names)} FROM "{target.name}" WITH NO DATA'
    )
    connection.exec_driver_sql(f'TRUNCATE "{staging}"')
    _copy(connection, staging, names, rows)
    source = table(staging, *(column(name) for name in names))
    statement = postgresql.insert(target).from_select(names, select(source))
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in columns},
    )
    connection.execute(statement)
