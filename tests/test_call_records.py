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


# -- the IVR notes each call as Twilio drives it --------------------------------------------


@pytest.fixture
def family(import_feed):
    from ivr_calls import load

    load(import_feed)


def in_medical_queue(exchange, caller):
    from ivr_calls import ZHANG, verified

    phone = verified(exchange, ZHANG, caller).press("1").press("2").press("1")
    assert phone.in_queue, phone.heard
    return phone


def test_an_answered_call_is_recorded_with_its_caller_queue_agent_and_end(
    app, exchange, clock, family
):
    from ivr_calls import ZHANG, add_agent

    add_agent(app, "alice")
    phone = in_medical_queue(exchange, ZHANG[2])
    clock.set(clock.now() + timedelta(seconds=25))
    exchange.agent("alice").dial().take()
    phone.hang_up()
    found = record(app, phone.call_sid)
    assert (found.kind, found.caller, found.line, found.queue) == (
        "inbound",
        ZHANG[2],
        "medical",
        "medical",
    )
    assert (found.verified, found.policyholder_id, found.insured_id) == (True, "P1", "P1")
    assert (found.service, found.queue_result, found.agent) == (
        "outpatient_booking",
        "answered",
        "alice",
    )
    assert found.wait_seconds == pytest.approx(25, abs=1)
    assert found.end_status == "completed"
    assert found.ended_at is not None and found.answered_at is not None


def test_a_caller_who_hangs_up_while_waiting_is_recorded_as_abandoned(app, exchange, clock, family):
    phone = in_medical_queue(exchange, "+8613900000041")
    clock.set(clock.now() + timedelta(seconds=12))
    phone.hang_up()
    found = record(app, phone.call_sid)
    assert (found.queue_result, found.agent, found.answered_at) == ("abandoned", None, None)
    assert found.wait_seconds == pytest.approx(12, abs=1)


def test_a_call_that_never_reached_a_queue_is_recorded_when_it_ends(app, exchange, family):
    phone = exchange.call("+8613900000042").dial().hang_up()
    found = record(app, phone.call_sid)
    assert (found.caller, found.queue, found.enqueued_at) == ("+8613900000042", None, None)
    assert found.end_status == "completed"
    # Twilio's CallDuration (60 s in the softphone) dates the call's start.
    assert (found.ended_at - found.started_at) == timedelta(seconds=60)


def test_the_record_survives_a_database_that_refuses_it(app, exchange, family, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("database said no")

    monkeypatch.setattr(call_records, "note", refuse)
    phone = in_medical_queue(exchange, "+8613900000043")
    assert phone.in_queue
