"""The SQL database: one engine per app, one session per request or CLI command."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import URL, Connection, Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "hotline.db"
# Seconds to wait for PostgreSQL to accept a connection.
CONNECT_TIMEOUT = 3


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
    return create_engine(url, pool_pre_ping=True, connect_args=args, hide_parameters=True)


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
    """Insert ``rows``, or update ``columns`` of those whose ``keys`` are already there."""
    if not rows:
        return
    statement = insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: statement.excluded[column] for column in columns},
    )
    # RETURNING lets SQLAlchemy send the rows as multi-row VALUES pages
    # ("insertmanyvalues"); without it an ON CONFLICT executemany goes to
    # PostgreSQL one row per round trip, four times slower.
    statement = statement.returning(*(table.c[key] for key in keys))
    connection.execute(statement, rows).close()
