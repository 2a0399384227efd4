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
