"""Statements compiled once per dialect, then run with plain parameters: for the hot paths.

Building a SQLAlchemy statement and finding its compiled form (the cache key walks the
whole statement) costs more CPU than a small statement's whole round trip. A webhook
that writes a few rows on every call pays that each time; a ``Prepared`` statement pays
it once per process and dialect, then hands the DBAPI cursor of the session's own
connection (so, its transaction) the SQL text and the parameters, converted by the
columns' own types exactly as SQLAlchemy would: SQLite stores times as text in
SQLAlchemy's format, and a row written here must compare equal to one written through
the ORM.

Every column a statement writes must be given: column defaults are SQLAlchemy's to fill
in at execution, which this skips. Errors are SQLAlchemy's, as from any statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement


def insert(dialect: Dialect, table: Table):
    """An INSERT of ``dialect`` that knows ``ON CONFLICT`` (PostgreSQL or SQLite)."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect.name} dialect")


@dataclass
class _Compiled:
    sql: str
    names: list[str]
    binders: list[Callable | None]
    positional: bool

    @classmethod
    def of(cls, statement: ClauseElement, dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        names = list(compiled.positiontup or compiled.binds)
        return cls(
            sql=str(compiled),
            names=names,
            binders=[
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            ],
            positional=bool(compiled.positiontup),
        )

    def run(self, connection: Connection, params: Mapping[str, Any]):
        dialect = connection.dialect
        values = []
        for name, convert in zip(self.names, self.binders, strict=True):
            value = params[name]
            values.append(convert(value) if convert and value is not None else value)
        arguments = tuple(values) if self.positional else dict(zip(self.names, values, strict=True))
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, arguments)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(self.sql, None, exc, dialect.loaded_dbapi.Error) from exc
        return cursor


class Prepared:
    """A statement built by ``build(dialect)``; its bind parameters are named."""

    def __init__(self, build: Callable[[Dialect], ClauseElement]):
        self._build = build
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _Compiled.of(self._build(dialect), dialect)
        return found

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run it in ``connection``'s transaction; the rows it changed."""
        cursor = self._compiled(connection.dialect).run(connection, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()


# The names a connection has prepared (``Planned``), in its pool record's ``info``: that
# lives as long as the server session does, and is cleared when the connection is replaced.
PLANNED = "hotline.planned"
# PostgreSQL's answers to EXECUTE when the plan no longer holds: the schema changed under
# it ("cached plan must not change result type", after a migration), or the session has
# no such statement.
_STALE_PLAN = frozenset({"0A000", "26000"})


class Planned:
    """A read that PostgreSQL parses and plans once per connection, then runs by name.

    Planning is most of what PostgreSQL spends on a small read: 0.31 of 0.37 ms for an
    insured person with their policies and uses (three joins and a UNION), on the two
    cores it shares with the web workers. A connection's first run sends
    ``PREPARE name AS ...``, which the server session keeps (a rollback does not undo
    it); every run is ``EXECUTE name(...)`` through SQLAlchemy, so errors, the breaker
    and a lost connection are dealt with as for any statement. The rows carry the
    statement's labels; on PostgreSQL the driver's own types are what SQLAlchemy would
    give for text, numbers and dates. Parameters are the driver's to quote. Anywhere
    else (SQLite) the statement runs as it is.

    Named statements belong to one server session, as do the connections' time-outs
    (``storage.db``): a pooler between must keep each connection on one session. A plan
    that no longer holds (a migration changed a column it returns) fails its request
    and retires its connection, so that the next request plans afresh.
    """

    def __init__(self, name: str, statement: ClauseElement):
        self.name = name
        self.statement = statement
        self._sql: tuple[str, str] | None = None

    def execute(self, connection: Connection, params: Mapping[str, Any]):
        if connection.dialect.name != "postgresql":
            return connection.execute(self.statement, params)
        prepare, run = self._sql or self._compile(connection.dialect)
        prepared = connection.info.setdefault(PLANNED, set())
        if self.name not in prepared:
            connection.exec_driver_sql(prepare)
            prepared.add(self.name)
        try:
            return connection.exec_driver_sql(run, dict(params))
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) in _STALE_PLAN:
                # This request fails; the connection is replaced, and the next one
                # prepares its statements anew.
                connection.invalidate()
            raise

    def _compile(self, dialect: Dialect) -> tuple[str, str]:
        compiled = self.statement.compile(dialect=dialect)
        names = list(dict.fromkeys(compiled.positiontup or compiled.binds))
        body = str(compiled)
        for number, name in enumerate(names, start=1):
            body = body.replace(f"%({name})s", f"${number}")
        # Sent with no parameters, so the driver's %% for a literal % is not undone.
        prepare = f"PREPARE {self.name} AS {body.replace('%%', '%')}"
        arguments = ", ".join(f"%({name})s" for name in names)
        run = f"EXECUTE {self.name}({arguments})" if names else f"EXECUTE {self.name}"
        self._sql = (prepare, run)
        return self._sql
