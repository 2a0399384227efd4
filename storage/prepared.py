"""Statements compiled once per dialect, then run with plain parameters: for the hot paths.

Building a SQLAlchemy statement and finding its compiled form (the cache key walks the
whole statement) costs more CPU than a small statement's whole round trip. A webhook
that writes a few rows on every call pays that each time; a ``Prepared`` statement pays
it once per process and dialect, then hands the DBAPI cursor of the session's own
connection (so, its transaction) the SQL text and the parameters, converted by the
columns' own types exactly as SQLAlchemy would: SQLite stores times as text in
SQLAlchemy's format, and a row written here must compare equal to one written through
the ORM. A ``Batch`` runs several writes in one round trip on PostgreSQL (each a
data-modifying ``WITH`` part of one statement), one after another elsewhere.

Every column a statement writes must be given: column defaults are SQLAlchemy's to fill
in at execution, which this skips. Errors are SQLAlchemy's, as from any statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    columns: list = field(default_factory=list)
    # Converters of the values it returns, found from the DBAPI's type codes on first use.
    results: list = field(default_factory=list)

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
            columns=list(getattr(statement, "exported_columns", ())),
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

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """The rows it returns (SELECT, or RETURNING), each value converted by its type."""
        dialect = connection.dialect
        compiled = self._compiled(dialect)
        cursor = compiled.run(connection, params)
        try:
            if cursor.description is None:  # it returned nothing
                return []
            results = compiled.results
            if not results:
                results.extend(
                    column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                    for column, described in zip(compiled.columns, cursor.description, strict=True)
                )
            return [
                tuple(
                    convert(value) if convert else value
                    for value, convert in zip(row, results, strict=True)
                )
                for row in cursor.fetchall()
            ]
        finally:
            cursor.close()


class Batch:
    """Writes built by ``build(dialect)`` (bind names unique across them), run together.

    On PostgreSQL they are one statement, ``WITH w0 AS (…), w1 AS (…) SELECT 1``: every
    part runs once, in one round trip. Elsewhere they run one after another.
    """

    def __init__(self, build: Callable[[Dialect], Sequence[ClauseElement]]):
        self._build = build
        self._by_dialect: dict[str, list[_Compiled]] = {}

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> None:
        dialect = connection.dialect
        parts = self._by_dialect.get(dialect.name)
        if parts is None:
            parts = [_Compiled.of(part, dialect) for part in self._build(dialect)]
            if dialect.name == "postgresql" and len(parts) > 1:
                parts = [
                    _Compiled(
                        sql="WITH "
                        + ", ".join(f"w{i} AS ({part.sql})" for i, part in enumerate(parts))
                        + " SELECT 1",
                        names=[name for part in parts for name in part.names],
                        binders=[binder for part in parts for binder in part.binders],
                        positional=False,
                    )
                ]
            self._by_dialect[dialect.name] = parts
        for part in parts:
            part.run(connection, params).close()
