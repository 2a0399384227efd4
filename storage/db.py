"""The SQL database: one engine per app, one session per request or CLI command."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable
from datetime import date, datetime

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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "hotline.db"
# Seconds to wait for PostgreSQL to accept a connection.
CONNECT_TIMEOUT = 3
# Connections each process keeps open, and how many more it may open for a while.
POOL_SIZE = 10
POOL_OVERFLOW = 5


def database_url(url: str | URL) -> URL:
    """The SQLAlchemy URL to connect with.

    A plain ``postgresql://`` (or Heroku-style ``postgres://``) URL means the
    psycopg2 driver this project installs; SQLAlchemy 2.1 would otherwise pick psycopg 3.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(url: str | URL) -> Engine:
    url = database_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database that does not answer must fail a webhook fast (Twilio waits 15 s at
    # most), so its degraded answer still reaches the caller; a URL may say otherwise.
    args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT}
    # hide_parameters: a failed query's message (logged) must not carry names or numbers.
    # The pool: at most 15 connections per process, as SQLAlchemy's default (5 + 10
    # overflow), but 10 of them kept. An overflow connection is closed when it comes
    # back, so a gevent worker with more than 5 webhooks using the database at once
    # connected anew for most of them (about 270 new PostgreSQL sessions per minute of
    # the IVR benchmark; each tens of ms under load); with 10 kept, about 55.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        connect_args=args,
        hide_parameters=True,
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web workers read while the importer or the rq worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    # Creating an engine does not connect; the first query does.
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[EXTENSION] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    return (app or current_app).extensions[EXTENSION]


def engine(app: Flask | None = None) -> Engine:
    return sessions(app).kw["bind"]


def session() -> Session:
    if "db_session" not in g:
        g.db_session = sessions()()
    return g.db_session


def release() -> None:
    """End this request's session now, giving its connection back to the pool.

    For a request that has read all it needs but still has slow work to do (Redis
    round trips, rendering): a connection held idle in transaction meanwhile is one
    the worker's other requests queue for. Using ``session()`` again opens a new one.
    """
    _close_session(None)


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def insert(connection: Connection, table: Table):
    """An INSERT of the connection's dialect, which knows ``ON CONFLICT``."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {name} dialect")


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
