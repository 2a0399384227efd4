"""Bulk writes (``db.upsert``, ``db.insert_rows``) store exactly what they are given.

On PostgreSQL both go through COPY's text format, which has its own escaping;
these tests hold them to the same results as plain INSERTs on SQLite.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage import db
from storage.models import Person, Policy, PolicyEvent

people = Person.__table__
policies = Policy.__table__
events = PolicyEvent.__table__
AWARE = datetime(2026, 3, 10, 2, 30, 15, 123456, tzinfo=UTC)
AWKWARD = [
    "tab\there",
    "line\nbreak",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "\\.",
    "",
    "张伟·阿依古丽",
    "trailing\\",
]


def person_rows(names):
    return [{"id": f"X{i}", "name": name, "updated_at": AWARE} for i, name in enumerate(names)]


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_given(app):
    engine = db.engine(app)
    with engine.begin() as connection:
        db.upsert(connection, people, person_rows(AWKWARD), ("id",), ("name", "updated_at"))
    with engine.connect() as connection:
        stored = dict(connection.execute(select(people.c.id, people.c.name)).all())
    assert stored == {f"X{i}": name for i, name in enumerate(AWKWARD)}


def test_an_upsert_updates_the_named_columns_of_rows_already_there(app):
    engine = db.engine(app)
    with engine.begin() as connection:
        db.upsert(connection, people, person_rows(["甲", "乙"]), ("id",), ("name", "updated_at"))
    with engine.begin() as connection:
        # Two batches in one transaction, as the importer writes them.
        db.upsert(connection, people, person_rows(["丙"]), ("id",), ("name",))
        db.upsert(
            connection,
            people,
            [{"id": "X2", "name": "丁", "updated_at": AWARE}],
            ("id",),
            ("name",),
        )
    with engine.connect() as connection:
        stored = dict(connection.execute(select(people.c.id, people.c.name)).all())
    assert stored == {"X0": "丙", "X1": "乙", "X2": "丁"}


def test_nulls_booleans_dates_and_times_keep_their_values(app):
    engine = db.engine(app)
    with engine.begin() as connection:
        db.upsert(connection, people, person_rows(["甲"]), ("id",), ("name",))
        db.upsert(
            connection,
            policies,
            [
                {
                    "policy_no": "N1",
                    "product": "其他产品",
                    "applicable": False,
                    "holder_id": "X0",
                    "insured_id": "X0",
                    "sum_insured": 2**40,
                    "cooling_off_end": date(2024, 2, 29),
                    "status": "in_force",
                }
            ],
            ("policy_no",),
            ("product",),
        )
        db.insert_rows(
            connection,
            events,
            [
                {"policy_no": "N1", "seq": 0, "on_date": date(2025, 1, 1), "sum_insured": None,
                 "status": "lapsed"},
                {"policy_no": "N1", "seq": 1, "on_date": date(2025, 2, 1), "sum_insured": 5,
                 "status": None},
            ],
        )  # fmt: skip
    with engine.connect() as connection:
        policy = connection.execute(select(policies)).one()
        stored_events = connection.execute(
            select(events.c.seq, events.c.on_date, events.c.sum_insured, events.c.status).order_by(
                events.c.seq
            )
        ).all()
        updated_at = connection.scalar(select(people.c.updated_at))
    assert policy.applicable is False
    assert policy.sum_insured == 2**40
    assert policy.cooling_off_end == date(2024, 2, 29)
    assert stored_events == [
        (0, date(2025, 1, 1), None, "lapsed"),
        (1, date(2025, 2, 1), 5, None),
    ]
    if engine.dialect.name == "postgresql":
        assert updated_at == AWARE
    else:  # SQLite keeps the digits without the zone
        assert updated_at == AWARE.replace(tzinfo=None)


def test_a_failed_bulk_write_leaves_nothing_behind(app):
    engine = db.engine(app)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        db.upsert(connection, people, person_rows(["甲"]), ("id",), ("name",))
        # An event of a policy that does not exist breaks the foreign key.
        db.insert_rows(
            connection,
            events,
            [{"policy_no": "nope", "seq": 0, "on_date": date(2025, 1, 1), "sum_insured": 1,
              "status": None}],
        )  # fmt: skip
    with engine.connect() as connection:
        assert connection.execute(select(people.c.id)).all() == []


def test_values_copy_cannot_write_exactly_are_refused():
    with pytest.raises(TypeError, match="float"):
        db._copy_value(1.5)
