"""Callbacks (SPEC §3): kept in SQL, scheduled for the line's next opening, dialled by a job.

The job's REST request is observed through the ``twilio`` library's pluggable
HTTP client; the customer's side of the call is the softphone.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from ivr_calls import FLOW, ZHANG, add_agent, as_zhang_wei, at, book_after_hours, load, message
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from adapters import background
from hotline.worker import Worker
from live import announcements, queueboard, store
from services import call_jobs, call_notes, callbacks
from storage import db
from storage.models import Callback, CallRecord

PUBLIC = "https://hotline.example.com"


@pytest.fixture
def family(import_feed):
    load(import_feed)


def the_callback(app) -> Callback:
    with app.app_context():
        (callback,) = db.session().scalars(select(Callback)).all()
        return callback


def scheduled(app) -> dict[str, datetime]:
    with app.app_context():
        registry = ScheduledJobRegistry(queue=background.queue(app))
        return {
            job_id: datetime.fromtimestamp(score, UTC)
            for job_id, score in store.redis().zrange(registry.key, 0, -1, withscores=True)
            for job_id in [job_id.decode()]
        }


def dial(app, clock) -> str:
    with app.app_context():
        callback = db.session().scalars(select(Callback)).one()
        return call_jobs.dial_callback(callback.id)


def status(exchange, callback: Callback, call_status: str) -> None:
    form = {
        "AccountSid": exchange.account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": callback.last_call_sid,
        "From": exchange.number,
        "To": callback.number,
        "CallStatus": call_status,
        "Direction": "outbound-api",
    }
    code, _ = exchange.post(exchange.url(f"/ivr/status?callback={callback.id}"), form)
    assert code == 200


# -- booking -------------------------------------------------------------------------------


def test_a_callback_is_kept_in_sql_and_scheduled_for_the_next_opening(app, exchange, clock, family):
    book_after_hours(exchange, clock)
    callback = the_callback(app)
    assert callback.status == "pending" and callback.attempts == 0
    assert (callback.number, callback.from_number) == (ZHANG[2], exchange.number)
    assert callback.verified and callback.policyholder_id == "P1"
    # 08:00 in Shanghai is midnight UTC.
    assert callbacks.utc(callback.due_at) == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert list(scheduled(app).values()) == [datetime(2026, 3, 11, 0, 0, tzinfo=UTC)]
    with app.app_context():
        (found,) = queueboard.snapshot(store.redis(), ["medical-callback"], 0)
    assert found.callbacks_pending == 1


def test_a_retried_booking_webhook_keeps_one_callback(app, exchange, clock, family):
    at(clock, 22, 30)
    phone = as_zhang_wei(exchange).press("2").press("1")
    url = exchange.url(phone.gather.get("action"), phone.document_url)
    first = phone.request(url, Digits="1")
    again = phone.request(url, Digits="1")
    assert first == again
    with app.app_context():
        assert len(db.session().scalars(select(Callback)).all()) == 1
    assert len(scheduled(app)) == 1


# -- dialling ------------------------------------------------------------------------------


def test_at_the_opening_the_job_dials_the_customer_through_twilio(
    app, exchange, twilio_rest, clock, family
):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    assert dial(app, clock) == "dialled"
    (request,) = twilio_rest.of("Calls")
    callback = the_callback(app)
    assert request.method == "POST"
    assert request.data["To"] == ZHANG[2]
    assert request.data["From"] == exchange.number
    assert request.data["Url"] == f"{PUBLIC}/ivr/callback/answer?id={callback.id}"
    assert request.data["StatusCallback"] == f"{PUBLIC}/ivr/status?callback={callback.id}"
    assert request.data["Timeout"] == str(FLOW.callbacks.ring_seconds)
    assert (callback.status, callback.attempts) == ("dialling", 1)
    assert callback.last_call_sid and callback.last_call_sid.startswith("CA")


def test_the_answered_callback_puts_the_customer_first_in_line_for_an_agent(
    app, exchange, twilio_rest, clock, family
):
    add_agent(app, "alice")
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    # Someone already waiting in the ordinary queue.
    as_zhang_wei(exchange, "+8613900000072").press("2").press("4")
    dial(app, clock)
    callback = the_callback(app)
    (request,) = twilio_rest.of("Calls")
    customer = exchange.answer_outbound(
        request.data["Url"], to=ZHANG[2], from_=exchange.number, call_sid=callback.last_call_sid
    )
    assert customer.heard == [message("callback_greeting", key="1")]
    customer.press("1")
    assert customer.queue == "medical-callback"
    assert the_callback(app).status == "connected"
    agent = exchange.agent("alice").dial()
    assert agent.queue == "medical-callback"
    assert agent.take() is customer
    with app.app_context():
        ((_, fields),) = store.redis().xrange(announcements.stream_key("alice"))
    pop = announcements.decode(fields)
    assert (pop.call_sid, pop.verified, pop.insured_id, pop.service) == (
        customer.call_sid,
        True,
        "P1",
        "outpatient_booking",
    )
    assert the_callback(app).status == "done"
    customer.hang_up()
    assert the_callback(app).status == "done"


def test_outside_the_line_hours_the_job_waits_for_the_opening_without_dialling(
    app, exchange, twilio_rest, clock, family
):
    book_after_hours(exchange, clock)
    at(clock, 23, 0)  # the job runs early (e.g. the scheduler's clock is ahead)
    with app.app_context():
        callback = db.session().scalars(select(Callback)).one()
        callback.due_at = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
        db.session().commit()
    assert dial(app, clock) == "waiting for the line to open"
    assert twilio_rest.of("Calls") == []
    assert callbacks.utc(the_callback(app).due_at) == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert the_callback(app).attempts == 0


def test_a_job_run_twice_dials_once(app, exchange, twilio_rest, clock, family):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    assert dial(app, clock) == "dialled"
    assert dial(app, clock) == "skipped"
    assert len(twilio_rest.of("Calls")) == 1


def test_no_answer_is_retried_with_back_off_then_marked_failed(
    app, exchange, twilio_rest, clock, family
):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    start = clock.now()
    delays = []
    for _ in range(FLOW.callbacks.max_attempts):
        assert dial(app, clock) == "dialled"
        status(exchange, the_callback(app), "no-answer")
        callback = the_callback(app)
        if callback.status == "pending":
            delays.append(callbacks.utc(callback.due_at) - start.astimezone(UTC))
            clock.set(callbacks.utc(callback.due_at))
            start = clock.now()
    assert [d.total_seconds() / 60 for d in delays] == list(FLOW.callbacks.retry_minutes)
    callback = the_callback(app)
    assert (callback.status, callback.attempts, callback.last_result) == ("failed", 3, "no-answer")
    assert len(twilio_rest.of("Calls")) == 3
    with app.app_context():
        (found,) = queueboard.snapshot(store.redis(), ["medical-callback"], 0)
    assert found.callbacks_pending == 0


def test_a_retry_due_after_closing_waits_for_the_next_opening(
    app, exchange, twilio_rest, clock, family
):
    book_after_hours(exchange, clock)
    at(clock, 21, 58, day=11)
    with app.app_context():
        callback = db.session().scalars(select(Callback)).one()
        callback.due_at = clock.now().astimezone(UTC)
        db.session().commit()
    dial(app, clock)
    status(exchange, the_callback(app), "busy")
    assert callbacks.utc(the_callback(app).due_at) == datetime(2026, 3, 12, 0, 0, tzinfo=UTC)


def test_an_answer_without_the_key_counts_as_not_reached(app, exchange, twilio_rest, clock, family):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    dial(app, clock)
    callback = the_callback(app)
    (request,) = twilio_rest.of("Calls")
    voicemail = exchange.answer_outbound(
        request.data["Url"], to=ZHANG[2], from_=exchange.number, call_sid=callback.last_call_sid
    )
    voicemail.silence().silence()
    assert voicemail.heard[-1] == message("goodbye") and voicemail.ended
    status(exchange, callback, "completed")
    callback = the_callback(app)
    assert (callback.status, callback.last_result) == ("pending", "not confirmed")


def test_twilio_refusing_the_call_is_retried(app, exchange, twilio_rest, clock, family):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    twilio_rest.fail_next(400)
    assert dial(app, clock) == "retry"
    callback = the_callback(app)
    assert (callback.status, callback.attempts) == ("pending", 1)
    assert callbacks.job_id(callback) in scheduled(app)


def test_an_unverified_caller_is_called_back_on_the_caller_id(app, exchange, clock, family):
    at(clock, 23, 0)
    phone = exchange.call("+8613900000081").dial().press("0")
    phone.press("1")
    callback = the_callback(app)
    assert (callback.number, callback.verified) == ("+8613900000081", False)


def test_a_withheld_unverified_caller_is_told_the_number_instead(app, exchange, clock, family):
    at(clock, 23, 0)
    phone = exchange.call("anonymous").dial().press("0").press("1")
    assert any(h.startswith("很抱歉，您的来电号码未显示") for h in phone.heard)
    with app.app_context():
        assert db.session().scalars(select(Callback)).all() == []


# -- SQL is the record ---------------------------------------------------------------------


def test_reconcile_schedules_again_what_a_redis_flush_lost(app, exchange, clock, family):
    book_after_hours(exchange, clock)
    with app.app_context():
        store.redis().flushdb()
    assert scheduled(app) == {}
    with app.app_context():
        counts = callbacks.reconcile(app, clock.now())
        (found,) = queueboard.snapshot(store.redis(), ["medical-callback"], 0)
    assert counts["scheduled"] == 1
    assert list(scheduled(app).values()) == [datetime(2026, 3, 11, 0, 0, tzinfo=UTC)]
    assert found.callbacks_pending == 1
    with app.app_context():
        assert callbacks.reconcile(app, clock.now())["scheduled"] == 0


def test_reconcile_retries_a_dialled_callback_whose_status_never_came(
    app, exchange, twilio_rest, clock, family
):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    dial(app, clock)
    clock.set(clock.now() + timedelta(minutes=30))
    with app.app_context():
        assert callbacks.reconcile(app, clock.now())["unanswered"] == 1
    callback = the_callback(app)
    assert (callback.status, callback.last_result) == ("pending", "no status")


def test_the_reconcile_job_runs_again_every_minute(app, clock, family):
    with app.app_context():
        call_jobs.reconcile()
    (job_id,) = scheduled(app)
    assert job_id.startswith("hotline-reconcile-")


class InProcessWorker(Worker, SimpleWorker):
    """The Procfile's worker class, running jobs in this process."""


def test_the_worker_reconciles_as_it_starts(app, exchange, clock, family):
    book_after_hours(exchange, clock)
    with app.app_context():
        redis = store.redis()
        redis.flushdb()
        worker = InProcessWorker([background.queue(app)], connection=redis)
        worker.work(burst=True, with_scheduler=True)
    jobs_now = scheduled(app)
    assert callbacks.job_id(the_callback(app)) in jobs_now
    assert any(j.startswith("hotline-reconcile-") for j in jobs_now)


# -- call records --------------------------------------------------------------------------


def call_record(app, sid) -> CallRecord:
    with app.app_context():
        call_notes.written()  # this process's notes of calls, as a reader does
        return db.session().get(CallRecord, sid)


def test_a_callback_that_reaches_an_agent_is_recorded_as_a_callback_call(
    app, exchange, twilio_rest, clock, family
):
    add_agent(app, "alice")
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    dial(app, clock)
    callback = the_callback(app)
    (request,) = twilio_rest.of("Calls")
    customer = exchange.answer_outbound(
        request.data["Url"], to=ZHANG[2], from_=exchange.number, call_sid=callback.last_call_sid
    )
    customer.press("1")
    exchange.agent("alice").dial().take()
    customer.hang_up()
    found = call_record(app, customer.call_sid)
    assert (found.kind, found.callback_id, found.caller) == ("callback", callback.id, ZHANG[2])
    assert (found.queue, found.queue_result, found.agent) == (
        "medical-callback",
        "answered",
        "alice",
    )


def test_a_callback_attempt_nobody_answers_is_recorded_with_the_number_called(
    app, exchange, clock, family
):
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    dial(app, clock)
    callback = the_callback(app)
    status(exchange, callback, "no-answer")
    found = call_record(app, callback.last_call_sid)
    assert (found.kind, found.callback_id, found.caller) == ("callback", callback.id, ZHANG[2])
    assert (found.end_status, found.queue) == ("no-answer", None)


# -- Redis down ------------------------------------------------------------------------------


def test_a_callback_asked_for_while_redis_is_down_is_kept_and_dispatched_once_it_is_back(
    app, exchange, clock, family
):
    if not app.config.get("REDIS_URL"):
        pytest.skip("needs a real Redis (the in-process store cannot fail)")
    phone = as_zhang_wei(exchange).press("2").press("1")
    assert phone.in_queue
    phone.wait()
    store.breaker(app).failed()  # Redis fails now: for a few seconds nobody tries it
    phone.press_in_queue("1")
    assert phone.ended
    assert message(
        "callback_booked", when=FLOW.messages["callback_soon"], phone_tail="幺幺幺幺"
    ) in (phone.heard)
    callback = the_callback(app)
    assert (callback.status, callback.number, callback.verified) == (
        "pending",
        "+8613900001111",
        False,
    )
    store.breaker(app).succeeded()  # Redis is back
    assert callbacks.job_id(callback) not in scheduled(app)
    with app.app_context():
        call_jobs.reconcile()
    assert callbacks.job_id(callback) in scheduled(app)


def test_a_callback_press_while_an_import_holds_sqlites_write_lock_answers_within_seconds(
    app, exchange, clock, family, database_url
):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not lock the callbacks table")
    at(clock, 22, 30)
    phone = as_zhang_wei(exchange).press("2").press("1")
    assert phone.heard[-2] == message("callback_offer", next_opening="明天8点", key="1")
    importing = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    importing.execute("BEGIN IMMEDIATE")  # `hotline import` writing its batches
    started = time.monotonic()
    try:
        phone.press("1")
    finally:
        importing.execute("ROLLBACK")
        importing.close()
    # Before: 30 s (SQLite's busy time-out), past Twilio's 15 s.
    assert time.monotonic() - started < 5
    assert phone.ended and phone.heard[-1]
