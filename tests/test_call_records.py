"""Call records keep the first value of each fact, whatever the order and however often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services import call_notes, call_records
from storage import db
from storage.models import CallRecord

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def record(app, sid="CA1") -> CallRecord:
    """The call's record as a reader finds it: this process's notes written first."""
    with app.app_context():
        call_notes.written()
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


def test_a_hang_up_in_the_queue_is_noted_from_what_the_enqueue_action_carries(
    app, exchange, clock, family
):
    from live import keys, store

    phone = in_medical_queue(exchange, "+8613900000043")
    clock.set(clock.now() + timedelta(seconds=12))
    # The action's URL says which queue and since when: the exit reads no call state.
    with app.app_context():
        store.redis().delete(keys.CALL_STATE.format(sid=phone.call_sid))
    phone.hang_up()
    found = record(app, phone.call_sid)
    assert (found.queue_result, found.wait_seconds) == ("abandoned", pytest.approx(12, abs=1))


def test_an_enqueue_action_whose_time_is_garbled_is_noted_from_the_call_state(
    app, exchange, clock, family
):
    phone = in_medical_queue(exchange, "+8613900000044")
    clock.set(clock.now() + timedelta(seconds=12))
    garbled = phone.queue_action.replace("since=", "since=x")
    assert garbled != phone.queue_action
    phone.request(garbled, QueueResult="hangup", QueueTime=30)
    found = record(app, phone.call_sid)
    assert (found.queue_result, found.wait_seconds) == ("abandoned", pytest.approx(12, abs=1))


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


# -- a webhook writes no note itself: the notes of a moment are written together -----------


@pytest.fixture
def held(app):
    """This process's notes, held until written by hand (no timer fires meanwhile)."""
    notes = call_notes.of(app)
    notes.seconds = 3600
    return notes


def rows(app) -> int:
    """Records in SQL as they are, nothing written first."""
    from sqlalchemy import func, select

    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(CallRecord))


def test_a_calls_notes_wait_in_its_process_and_are_written_in_one_go(app, exchange, held, family):
    phone = in_medical_queue(exchange, "+8613900000044").hang_up()
    assert (rows(app), held.waiting()) == (0, 3)  # entered, left (abandoned), ended
    assert held.write() == 3
    assert (rows(app), held.waiting(), held.batches) == (1, 0, 1)
    found = record(app, phone.call_sid)
    assert (found.queue, found.queue_result, found.end_status) == (
        "medical",
        "abandoned",
        "completed",
    )


def test_the_notes_of_a_moment_are_written_by_the_processs_timer(app, exchange, family):
    import time

    call_notes.of(app).seconds = 0.05
    in_medical_queue(exchange, "+8613900000045").hang_up()
    deadline = time.monotonic() + 5
    while rows(app) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rows(app) == 1 and call_notes.of(app).waiting() == 0


def test_a_reader_finds_the_calls_noted_moments_before(app, exchange, held, family):
    from ivr_calls import ZHANG

    from runtime import current_clock, current_flows
    from services import contact_history

    phone = in_medical_queue(exchange, ZHANG[2]).hang_up()
    assert rows(app) == 0
    with app.app_context():
        history = contact_history.of_person(
            db.session(), current_flows(), current_clock().local(), ZHANG[0]
        )
    assert [call["call_sid"] for call in history["calls"]] == [phone.call_sid]


def test_a_later_fact_never_overtakes_an_earlier_one(app, held):
    held.add("left", lambda s: call_records.left_queue(s, "CA1", T0, "hangup", 12.0))
    held.add(
        "taken", lambda s: call_records.answered(s, "CA1", T0 + timedelta(seconds=5), "al", 17.0)
    )
    held.write()
    found = record(app)
    assert (found.queue_result, found.wait_seconds, found.agent) == ("abandoned", 12.0, "al")


def test_a_note_that_is_not_one_is_dropped_without_holding_up_the_rest(app, held, caplog):
    held.add("colour", lambda s: call_records.note(s, "CA9", T0, colour="red"))
    held.add("queue", lambda s: call_records.note(s, "CA1", T0, queue="medical"))
    assert held.write() == 2
    assert record(app).queue == "medical" and record(app, "CA9") is None
    assert "call note dropped: colour" in caplog.text


def test_a_batch_the_database_refuses_is_written_note_by_note(app, held, caplog):
    from sqlalchemy import text

    def broken(session):
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    held.add("first", lambda s: call_records.note(s, "CA1", T0, queue="medical"))
    held.add("broken", broken)
    held.add("last", lambda s: call_records.note(s, "CA2", T0, queue="medical"))
    held.write()
    assert (record(app).queue, record(app, "CA2").queue) == ("medical", "medical")
    assert "a batch of 3 call notes failed" in caplog.text
    assert "could not record broken" in caplog.text


def test_a_redis_that_restarts_empty_loses_no_note(app, exchange, held, family):
    from live import store

    phone = in_medical_queue(exchange, "+8613900000046").hang_up()
    with app.app_context():
        store.redis().flushdb()
    assert record(app, phone.call_sid).end_status == "completed"


def test_the_notes_left_are_written_as_the_process_ends_and_later_ones_at_once(app, held):
    held.add("queue", lambda s: call_records.note(s, "CA1", T0, queue="medical"))
    assert held.close() == 1
    held.add("agent", lambda s: call_records.note(s, "CA1", T0, agent="al"))
    assert held.waiting() == 0
    assert (record(app).queue, record(app).agent) == ("medical", "al")


def test_with_no_wait_each_note_is_written_as_it_is_made(app, exchange, family):
    call_notes.of(app).seconds = 0
    in_medical_queue(exchange, "+8613900000047")
    assert rows(app) == 1 and call_notes.of(app).waiting() == 0
