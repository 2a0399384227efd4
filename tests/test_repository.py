"""The repository reads one insured person back as domain objects in two queries."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from domain.policies import PolicyEvent, PolicyStatus, Use
from runtime import current_flows
from storage import db, repository
from storage.exceptions import UnknownPerson

FEED = {
    "people": [
        {"id": "H1", "name": "张伟", "phones": ["+8613900000001"]},
        {"id": "I1", "name": "张小伟", "phones": []},
    ],
    "policies": [
        {
            "policy_no": "B002",
            "product": "国宝人寿巴适一生终身重大疾病保险（智选版）",
            "holder_id": "H1",
            "insured_id": "I1",
            "sum_insured": 200000,
            "cooling_off_end": "2025-01-10",
            "status": "in_force",
            "events": [
                {"date": "2025-09-01", "status": "suspended"},
                {"date": "2025-09-01", "sum_insured": 250000, "status": "in_force"},
                {"date": "2025-03-01", "sum_insured": 300000},
            ],
        },
        {
            "policy_no": "B001",
            "product": "国宝人寿真爱你重大疾病保险",
            "holder_id": "H1",
            "insured_id": "I1",
            "sum_insured": 400000,
            "cooling_off_end": "2025-02-01",
            "status": "lapsed",
        },
        {
            "policy_no": "C001",
            "product": "国宝人寿真爱你重大疾病保险",
            "holder_id": "H1",
            "insured_id": "H1",
            "sum_insured": 100000,
            "cooling_off_end": "2025-02-01",
            "status": "in_force",
        },
    ],
    "usage": [
        {"insured_id": "I1", "service": "escort", "date": "2026-01-02", "count": 1},
        {"insured_id": "I1", "service": "nursing_carer", "date": "2026-02-02", "count": 3},
        {"insured_id": "H1", "service": "escort", "date": "2026-01-02", "count": 1},
    ],
}


@pytest.fixture
def loaded(import_feed):
    result = import_feed(FEED)
    assert result.exit_code == 0, result.output


def test_an_insured_person_comes_back_with_policies_events_and_uses(app, loaded):
    with app.app_context():
        insured = repository.insured(db.session(), "I1")
    assert (insured.id, insured.name) == ("I1", "张小伟")
    assert [p.policy_no for p in insured.policies] == ["B001", "B002"]
    lapsed, endorsed = insured.policies
    assert lapsed.status is PolicyStatus.LAPSED
    assert lapsed.events == ()
    assert endorsed.product == "国宝人寿巴适一生终身重大疾病保险(智选版)"
    # Feed order, not date order: same-day events must apply as the insurer listed them.
    assert endorsed.events == (
        PolicyEvent(date(2025, 9, 1), None, PolicyStatus.SUSPENDED),
        PolicyEvent(date(2025, 9, 1), 250000, PolicyStatus.IN_FORCE),
        PolicyEvent(date(2025, 3, 1), 300000, None),
    )
    assert endorsed.as_of(date(2025, 9, 1)) == (250000, PolicyStatus.IN_FORCE)
    assert sorted(insured.uses, key=lambda u: u.service) == [
        Use("escort", date(2026, 1, 2), 1),
        Use("nursing_carer", date(2026, 2, 2), 3),
    ]


def test_loading_an_insured_person_takes_two_queries(app, loaded):
    statements = []
    with app.app_context():
        engine = db.engine()

        def count(*_args):
            statements.append(_args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            repository.eligibility(db.session(), current_flows().programme, "I1", date(2026, 3, 10))
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2


def test_eligibility_is_computed_from_what_is_stored(app, loaded):
    with app.app_context():
        result = repository.eligibility(
            db.session(), current_flows().programme, "I1", date(2026, 3, 10)
        )
    assert result.counted_sum_insured == 250000
    assert result.tier.code == "anxin"
    assert result.service("escort").used == 1


def test_a_policyholder_is_not_the_insured_of_the_policies_they_hold(app, loaded):
    with app.app_context():
        holder = repository.insured(db.session(), "H1")
    assert [p.policy_no for p in holder.policies] == ["C001"]


def test_an_unknown_person_raises(app, loaded):
    with app.app_context(), pytest.raises(UnknownPerson):
        repository.insured(db.session(), "nobody")
