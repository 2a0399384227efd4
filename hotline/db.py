"""The SQL database: one engine per app, one session per request or CLI command."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "hotline.db"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


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
