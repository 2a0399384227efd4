"""The repository reads one insured person (or a household) back as domain objects in one
statement, which PostgreSQL plans once per connection."""

from __future__ import annotations

import time
from datetime import date

import pytest
from feeds import policy
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

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


def _statements(engine, read) -> list[str]:
    seen = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_loading_an_insured_person_takes_one_statement(app, loaded):
    with app.app_context():
        engine = db.engine()

        def read():
            on = date(2026, 3, 10)
            repository.eligibility(db.session(), current_flows().programme, "I1", on)

        first = _statements(engine, read)
        again = _statements(engine, read)  # the same session, so the same connection
    assert len(again) == 1
    if engine.dialect.name == "postgresql":
        assert first[0].startswith("PREPARE") and again[0].startswith("EXECUTE")
    else:
        assert len(first) == 1


def test_the_planned_read_gives_what_the_plain_statement_gives(app, loaded):
    with app.app_context():
        connection = db.session().connection()
        for person in ("I1", "H1", "nobody"):
            plain = connection.execute(repository._PERSON.statement, {"insured_id": person})
            planned = repository._PERSON.execute(connection, {"insured_id": person})
            assert repository._insureds(planned) == repository._insureds(plain)
        plain = connection.execute(repository._HOUSEHOLD_PEOPLE.statement, {"holder_id": "H1"})
        planned = repository._HOUSEHOLD_PEOPLE.execute(connection, {"holder_id": "H1"})
        household = repository._insureds(planned)
        assert household == repository._insureds(plain)
        assert [person.id for person in household] == ["H1", "I1"]


SHARED_SUFFIX = {
    "people": [
        # Two numbers ending in the same six digits: the first filed is the one kept.
        {"id": "H1", "name": "张伟", "phones": ["+8613900000001", "+8613700000001"]},
        {"id": "H2", "name": "章伟", "phones": ["+8613800000001"]},
        {"id": "N1", "name": "张伟", "phones": ["+8613600000001"]},  # holds no policy
        {"id": "H3", "name": "王芳", "phones": ["+8613500000002"]},
        {"id": "I1", "name": "张小伟", "phones": []},
        {"id": "I2", "name": "李娜", "phones": []},
    ],
    "policies": [
        policy("A1", "H1"),
        policy("A2", "I1", "H1", status="lapsed"),
        policy("A3", "I1", "H2", sum_insured=500000),  # I1 is insured under both
        policy("A4", "I2", "H2"),
        policy("A5", "I2", "H3"),
        policy("A6", "N1", "H3"),  # N1 is insured, not a policyholder
    ],
    "usage": [{"insured_id": "I1", "service": "escort", "date": "2026-01-02", "count": 1}],
}


NUMBER = "a-number-digest"


def _candidates(suffix: str | None, since: float = 0.0) -> repository.Candidates:
    return repository.candidates(db.session(), suffix, NUMBER, since)


def test_the_policyholders_a_suffix_matches_come_with_their_households(app, import_feed):
    assert import_feed(SHARED_SUFFIX).exit_code == 0
    with app.app_context():
        engine = db.engine()
        found = []
        sent = _statements(engine, lambda: found.extend(_candidates("000001").holders))
        assert len([s for s in sent if not s.startswith("PREPARE")]) == 1, sent
        assert [(h.id, h.name, h.phone) for h in found] == [
            ("H1", "张伟", "+8613900000001"),
            ("H2", "章伟", "+8613800000001"),
        ]
        for holder in found:
            # Each person as ``household`` reads them: every policy on their life,
            # whoever holds it, and every use.
            assert holder.household == repository.household(db.session(), holder.id)
        assert [p.id for p in found[0].household] == ["H1", "I1"]
        assert [p.id for p in found[1].household] == ["I1", "I2"]
        assert [p.policy_no for p in found[1].household[0].policies] == ["A2", "A3"]
        assert _candidates("999999") == repository.Candidates(holders=[], number_failures=0)


def _failed(kind: int, subject: str, attempt: str, at: float) -> dict:
    return {"kind": kind, "subject": subject, "attempt": attempt, "at": at}


def test_the_failed_tries_come_with_the_policyholders_within_their_window(app, import_feed):
    assert import_feed(SHARED_SUFFIX).exit_code == 0
    number, holder = repository.FAILED_NUMBER, repository.FAILED_HOLDER
    with app.app_context():
        repository.record_failures(
            db.session(),
            [
                _failed(number, NUMBER, "CA1:2", 100.0),
                _failed(holder, "H1", "CA1:2", 100.0),
                _failed(number, NUMBER, "CA2:2", 200.0),
                _failed(holder, "H1", "CA2:2", 200.0),
                _failed(holder, "H2", "CA2:2", 200.0),
                _failed(number, "another-number", "CA3:2", 200.0),
                _failed(holder, "H3", "CA3:2", 200.0),
            ],
        )
        # The same try written again (a retried webhook's note) counts once.
        repository.record_failures(db.session(), [_failed(holder, "H1", "CA2:2", 200.0)])
        db.session().commit()
        found = _candidates("000001", since=100.0)
        assert found.number_failures == 2
        assert [(h.id, h.failures) for h in found.holders] == [("H1", 2), ("H2", 1)]
        later = _candidates("000001", since=150.0)
        assert later.number_failures == 1
        assert [(h.id, h.failures) for h in later.holders] == [("H1", 1), ("H2", 1)]
        # Digits matching no one: the number's tries are still counted.
        assert _candidates("999999", since=0).number_failures == 2
        assert _candidates(None, since=0).number_failures == 2

        assert repository.prune_failures(db.session(), before=150.0) == 2
        db.session().commit()
        assert [(h.id, h.failures) for h in _candidates("000001").holders] == [
            ("H1", 1),
            ("H2", 1),
        ]


def test_the_planned_holders_read_gives_what_the_plain_statement_gives(app, import_feed):
    assert import_feed(SHARED_SUFFIX).exit_code == 0
    with app.app_context():
        repository.record_failures(
            db.session(),
            [
                _failed(repository.FAILED_NUMBER, NUMBER, "CA1:2", 100.0),
                _failed(repository.FAILED_HOLDER, "H2", "CA1:2", 100.0),
            ],
        )
        connection = db.session().connection()
        read = repository._CANDIDATES
        for suffix in ("000001", "000002", "999999", None):
            params = {"suffix": suffix, "number": NUMBER, "since": 50.0}
            plain = connection.execute(read.statement, params).all()
            planned = read.execute(connection, params).all()
            assert [tuple(row) for row in planned] == [tuple(row) for row in plain]


@pytest.fixture
def own_engine(app, loaded):
    """An engine of the app's PostgreSQL with a pool of its own (its connections known)."""
    with app.app_context():
        url = db.engine().url
    if url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL plans a named statement per server session")
    engine = db.make_engine(url, db.WEB)
    yield engine
    engine.dispose()


def test_a_read_prepared_in_a_transaction_rolled_back_is_still_there(own_engine):
    with Session(own_engine) as session:  # a webhook's session: a transaction, rolled back
        assert repository.insured(session, "I1").id == "I1"
        session.rollback()

    def read_again():
        with Session(own_engine) as session:  # the pool's one connection again
            repository.insured(session, "I1")

    seen = _statements(own_engine, read_again)
    assert [statement.split()[0] for statement in seen] == ["EXECUTE"]


def test_a_plan_that_no_longer_holds_retires_its_connection(own_engine):
    with own_engine.connect() as connection:
        assert repository.insured(Session(bind=connection), "I1").id == "I1"
        # Gone behind the pool's back, as a plan a migration made stale is.
        connection.exec_driver_sql("DEALLOCATE hotline_person")
        with pytest.raises(DBAPIError):
            repository.insured(Session(bind=connection), "I1")
        assert connection.invalidated
    with own_engine.connect() as connection:  # a new server session: prepared anew
        assert repository.insured(Session(bind=connection), "I1").id == "I1"


def test_a_connection_the_server_replaced_prepares_its_reads_again(own_engine):
    admin = db.make_engine(own_engine.url, db.WEB)
    backend = "SELECT pg_backend_pid()"
    try:
        with own_engine.connect() as connection:  # the pool's one connection, prepared
            ended = connection.exec_driver_sql(backend).scalar()
            assert repository.insured(Session(bind=connection), "I1").id == "I1"
        with admin.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(ended)})")
        time.sleep(0.2)  # the end of the stream reaches the pooled connection's socket
        with own_engine.connect() as connection:
            assert connection.exec_driver_sql(backend).scalar() != ended
            assert repository.insured(Session(bind=connection), "I1").id == "I1"
    finally:
        admin.dispose()


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
