"""Call records keep the first value of each fact, whatever the order and however often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services import call_records
from storage import db
from storage.models import CallRecord

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def record(app, sid="CA1") -> CallRecord:
    with app.app_context():
        found = db.session().get(CallRecord, sid)
        db.session().expunge_all()
        return found


def noted(app, sid, at, **facts):
    with app.app_context():
        call_records.note(db.session(), sid, at, **facts)
        db.session().commit()


def test_a_call_is_recorded_from_its_first_fact(app):
    noted(app, "CA1", T0, caller="+8613900000001")
    found = record(app)
    assert (found.kind, found.caller, found.verified) == ("inbound", "+8613900000001", False)
    assert found.started_at.replace(tzinfo=UTC) == T0


def test_a_retried_fact_keeps_its_first_value(app):
    noted(app, "CA1", T0, queue="medical", wait_seconds=12.0)
    noted(app, "CA1", T0 + timedelta(seconds=5), queue="policy", wait_seconds=99.0)
    found = record(app)
    assert (found.queue, found.wait_seconds) == ("medical", 12.0)
    assert found.started_at.replace(tzinfo=UTC) == T0


def test_facts_arriving_out_of_order_all_stay(app):
    noted(app, "CA1", T0 + timedelta(minutes=3), ended_at=T0 + timedelta(minutes=3))
    noted(app, "CA1", T0, enqueued_at=T0, queue="medical")
    found = record(app)
    assert found.queue == "medical"
    assert found.ended_at.replace(tzinfo=UTC) == T0 + timedelta(minutes=3)
    assert found.enqueued_at.replace(tzinfo=UTC) == T0


def test_a_caller_verified_once_stays_verified(app):
    noted(app, "CA1", T0, verified=True, policyholder_id="P1")
    noted(app, "CA1", T0, verified=False)
    assert record(app).verified is True


def test_an_unknown_fact_is_refused_before_anything_is_written(app):
    with pytest.raises(ValueError, match="colour"):
        noted(app, "CA1", T0, colour="red")
    assert record(app) is None
