"""`hotline import` writes a good feed as an idempotent upsert, all at once or not at all."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from feeds import person, policy, use
from sqlalchemy import inspect, select, text

from services import importer
from storage import db
from storage.models import Person, Phone, Policy, PolicyEvent, ServiceUse

FEED = {
    "people": [
        person("P1", "张伟", "139-0000-0001", "+86 139 0000 0001", "021 6000 0001"),
        person("P2", "张小伟"),
    ],
    "policies": [
        policy(
            "A001",
            "P1",
            events=[
                {"date": "2025-06-01", "sum_insured": 400000},
                {"date": "2026-02-01", "status": "surrendered"},
            ],
        ),
        policy("A002", "P2", holder="P1", sum_insured=150000),
    ],
    "usage": [
        use("P1", "outpatient_booking", "2026-03-01"),
        use("P1", "nursing_carer", "2026-01-15", 2),
    ],
}


def dump(app) -> dict[str, list[tuple]]:
    """Every row of every feed table, ids and timestamps included."""
    with app.app_context():
        session = db.session()
        return {
            model.__tablename__: [
                tuple(row)
                for row in session.execute(
                    select(model.__table__).order_by(*model.__table__.primary_key.columns)
                )
            ]
            for model in (Person, Phone, Policy, PolicyEvent, ServiceUse)
        }


def rows(app, statement):
    """Rows of a query: SQL text, or a select of model columns (typed, so dates are dates)."""
    with app.app_context():
        query = text(statement) if isinstance(statement, str) else statement
        return [tuple(row) for row in db.session().execute(query)]


E = PolicyEvent
U = ServiceUse


def test_a_feed_is_written_with_phones_normalised_and_a_summary(app, import_feed):
    result = import_feed(FEED)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "  people:   2 in feed: 2 new, 0 updated, 0 unchanged (2 phone numbers written)",
        "  policies: 2 in feed: 2 new, 0 updated, 0 unchanged",
        "  events:   2 in feed: 2 written",
        "  usage:    2 records as 2 uses (insured, service, date): 2 new, 0 updated, 0 unchanged",
    ]
    # Two spellings of one mobile are one number; the landline keeps its own.
    assert rows(app, "SELECT person_id, e164, suffix FROM phones ORDER BY id") == [
        ("P1", "+8613900000001", "000001"),
        ("P1", "+862160000001", "000001"),
    ]
    assert rows(app, select(E.policy_no, E.seq, E.on, E.sum_insured, E.status).order_by(E.seq)) == [
        ("A001", 0, date(2025, 6, 1), 400000, None),
        ("A001", 1, date(2026, 2, 1), None, "surrendered"),
    ]
    assert rows(app, select(U.insured_id, U.service, U.on, U.count, U.source, U.ref)) == [
        (
            "P1",
            "outpatient_booking",
            date(2026, 3, 1),
            1,
            "feed",
            "P1|outpatient_booking|2026-03-01",
        ),
        ("P1", "nursing_carer", date(2026, 1, 15), 2, "feed", "P1|nursing_carer|2026-01-15"),
    ]


def test_the_phone_suffix_callers_key_in_is_indexed(app):
    with app.app_context():
        indexes = inspect(db.engine()).get_indexes("phones")
    assert any(index["column_names"] == ["suffix"] for index in indexes)


def test_importing_the_same_feed_twice_changes_no_row(app, import_feed):
    assert import_feed(FEED).exit_code == 0
    before = dump(app)
    result = import_feed(FEED)
    assert result.exit_code == 0, result.output
    assert dump(app) == before
    assert "2 in feed: 0 new, 0 updated, 2 unchanged" in result.stdout
    assert "events:   2 in feed: 0 written" in result.stdout


def test_an_updated_feed_updates_people_policies_events_and_usage(app, import_feed, clock):
    assert import_feed(FEED).exit_code == 0
    clock.set(clock.now().replace(day=20))
    updated = {
        "people": [person("P1", "张 伟", "139 0000 0009")],
        "policies": [
            policy(
                "A001",
                "P1",
                sum_insured=350000,
                events=[
                    {"date": "2025-09-01", "status": "suspended"},
                    {"date": "2025-09-01", "status": "in_force"},
                ],
            )
        ],
        "usage": [use("P1", "nursing_carer", "2026-01-15", 3)],
    }
    result = import_feed(updated)
    assert result.exit_code == 0, result.output
    assert "people:   1 in feed: 0 new, 1 updated, 0 unchanged" in result.stdout

    assert rows(app, "SELECT id, name FROM people ORDER BY id") == [
        ("P1", "张 伟"),
        ("P2", "张小伟"),
    ]
    # Phones are replaced as a whole; P2, absent from this feed, is left alone.
    assert rows(app, "SELECT person_id, e164 FROM phones") == [("P1", "+8613900000009")]
    assert rows(app, "SELECT policy_no, sum_insured FROM policies ORDER BY policy_no") == [
        ("A001", 350000),
        ("A002", 150000),
    ]
    # Events are replaced in feed order: same-day events keep it through seq.
    assert rows(app, select(E.seq, E.on, E.status).order_by(E.seq)) == [
        (0, date(2025, 9, 1), "suspended"),
        (1, date(2025, 9, 1), "in_force"),
    ]
    assert rows(app, "SELECT service, count FROM service_uses ORDER BY service") == [
        ("nursing_carer", 3),
        ("outpatient_booking", 1),
    ]


def test_usage_rows_with_the_same_person_service_and_date_are_summed(app, import_feed):
    doc = {
        **FEED,
        "usage": [
            use("P1", "rehab_followup", "2026-02-01", 1),
            use("P2", "rehab_followup", "2026-02-01", 1),
            use("P1", "rehab_followup", "2026-02-01", 2),
        ],
    }
    result = import_feed(doc)
    assert result.exit_code == 0, result.output
    assert "3 records as 2 uses" in result.stdout
    assert rows(app, "SELECT insured_id, count FROM service_uses ORDER BY insured_id") == [
        ("P1", 3),
        ("P2", 1),
    ]


def test_a_policy_of_an_unknown_product_is_kept_flagged_and_counted_in_the_summary(
    app, import_feed
):
    doc = {
        "people": FEED["people"],
        "policies": [
            policy("A001", "P1"),
            policy("B001", "P1", product="国宝人寿安康医疗保险"),
            policy("B002", "P2", holder="P1", product="国宝人寿安康医疗保险"),
        ],
    }
    result = import_feed(doc)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "2 policies of products not in the programme (kept, never counted): "
        "国宝人寿安康医疗保险 (2)"
    )
    assert rows(app, "SELECT policy_no, applicable FROM policies ORDER BY policy_no") == [
        ("A001", True),
        ("B001", False),
        ("B002", False),
    ]


def test_product_names_are_stored_nfkc_normalised(app, import_feed):
    doc = {
        "people": FEED["people"],
        "policies": [
            policy("A001", "P1", product="国宝人寿巴适一生终身重大疾病保险(智选版)"),
            policy(
                "A002", "P2", holder="P1", product="《国宝人寿巴适一生终身重大疾病保险》（智选版）"
            ),
        ],
    }
    assert import_feed(doc).exit_code == 0
    assert rows(app, "SELECT DISTINCT product, applicable FROM policies") == [
        ("国宝人寿巴适一生终身重大疾病保险(智选版)", True)
    ]


def test_a_bad_record_at_the_end_of_a_big_feed_leaves_the_database_as_it_was(app, import_feed):
    app.config["IMPORT_BATCH_SIZE"] = 100  # so the good records span many batches
    assert import_feed(FEED).exit_code == 0
    before = dump(app)
    big = {
        "people": [person(f"Q{i}", "李娜", f"+86 139 1000 {i:04}") for i in range(1200)],
        "policies": [policy(f"B{i}", f"Q{i}") for i in range(1200)],
        "usage": [use(f"Q{i}", "escort", "2026-02-01") for i in range(1200)]
        + [use("Q1", "escort", "2026-02-31")],
    }
    result = import_feed(big)
    assert result.exit_code == 1
    assert "usage[1200].date: must be an ISO date (YYYY-MM-DD)" in result.stderr
    assert dump(app) == before


def test_a_failure_while_writing_rolls_back_everything_written_before_it(
    app, import_feed, monkeypatch
):
    assert import_feed(FEED).exit_code == 0
    before = dump(app)

    def broken(self, batch):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer._Writer, "usage", broken)
    changed = {
        "people": [person("P3", "王安心", "+86 139 0000 0003")],
        "policies": [policy("A003", "P3")],
        "usage": [use("P3", "escort", "2026-02-01")],
    }
    result = import_feed(changed)
    assert result.exit_code != 0
    assert dump(app) == before


def test_importing_logs_counts_but_no_personal_data(app, import_feed, caplog):
    caplog.set_level(logging.DEBUG)
    assert import_feed(FEED).exit_code == 0
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "feed imported" in logged
    for secret in ("张伟", "张小伟", "13900000001", "0000 0001"):
        assert secret not in logged


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_size_does_not_change_what_is_written(app, import_feed, batch_size):
    app.config["IMPORT_BATCH_SIZE"] = batch_size
    result = import_feed(FEED)
    assert result.exit_code == 0, result.output
    assert len(dump(app)["policy_events"]) == 2
    assert rows(app, "SELECT count(*) FROM phones") == [(2,)]
