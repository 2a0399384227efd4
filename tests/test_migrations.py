"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hotline import create_app
from storage import db, schema
from storage.db import make_engine
from storage.models import Base

# The newest revision file: the chain of down_revisions must end at it (no second head).
NEWEST = max(p.name[:4] for p in (schema.MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def differences(url: str, metadata: sa.MetaData) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url):
    assert differences(database_url, Base.metadata) == []


def test_the_comparison_notices_a_column_the_migrations_lack(database_url):
    metadata = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["people"].append_column(sa.Column("nickname", sa.String(20)))
    diff = differences(database_url, metadata)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "nickname")]


def test_the_database_is_at_the_head_revision(database_url):
    engine = make_engine(database_url)
    assert schema.current(engine) == schema.head() == NEWEST
    engine.dispose()


def test_downgrading_and_upgrading_again_round_trips(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        schema.upgrade(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert differences(database_url, Base.metadata) == []


def test_db_upgrade_creates_the_tables_once_and_then_has_nothing_to_do(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "CLOCK": clock})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"upgraded from an empty database to revision {NEWEST}" in first.output
    second = runner.invoke(args=["db", "upgrade"])
    assert f"already at revision {NEWEST}" in second.output
    with app.app_context():
        assert set(Base.metadata.tables) <= set(inspect(db.engine()).get_table_names())
        db.engine().dispose()


def test_the_migrations_ship_inside_the_package():
    assert schema.MIGRATIONS.parent.name == "storage"
    assert (schema.MIGRATIONS / "env.py").is_file()
    assert list((schema.MIGRATIONS / "versions").glob("0001_*.py"))
