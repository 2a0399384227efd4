"""Callbacks: kept in SQL first, dialled by rq jobs at the line's next opening.

SQL is the record; rq only dispatches. Every job re-reads its callback and does
nothing unless it is still due, so a job run twice, or scheduled again by
``reconcile`` after Redis lost its queues, dials once. A callback is dialled
only while its line is open; an attempt nobody answers (or that voicemail
takes: the customer must press a key) is retried with back-off up to
``[callbacks] max_attempts``, then marked failed.

Statuses: pending → dialling → connected (in the line's callback queue) → done;
or failed. ``due_at`` is when the next attempt may be made (UTC).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException

from adapters import background, twilio_rest
from domain.callbacks import CallbackRequest
from domain.masking import mask_phone
from flows import CALLBACKS, Flows
from live import queueboard, store
from services import interval_history
from storage import db
from storage.models import Callback

log = logging.getLogger(__name__)

PENDING, DIALLING, CONNECTED, DONE, FAILED = "pending", "dialling", "connected", "done", "failed"
OPEN = (PENDING, DIALLING, CONNECTED)
# Outbound call outcomes (Twilio CallStatus) that mean nobody was reached.
UNREACHED = frozenset({"busy", "no-answer", "failed", "canceled"})
# A dialled callback without any status after this long is taken as unanswered.
DIAL_GRACE = timedelta(minutes=10)


def utc(value: datetime) -> datetime:
    """Times are stored in UTC; SQLite hands them back naive, so naive means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def open_from(flows: Flows, callback: Callback, at: datetime, tz: ZoneInfo) -> datetime | None:
    """``at`` if the callback's line is open then, else its next opening (UTC); None: never."""
    line = flows.line(callback.line)
    local = at.astimezone(tz).replace(tzinfo=None)  # the line's hours are wall-clock times
    if line.is_open(local):
        return at
    opening = line.next_opening(local)
    return None if opening is None else local_to_utc(opening, tz)


def job_id(callback: Callback) -> str:
    # One job per attempt and due time: a retry or a new due time is a new job,
    # the same attempt scheduled again (reconcile) is the same one.
    due = int(utc(callback.due_at).timestamp())
    return f"hotline-callback-{callback.id}-{callback.attempts}-{due}"


def queue_of(flows: Flows, callback: Callback) -> str:
    return flows.callback_queue(callback.line)


def find(session: Session, callback_id: int) -> Callback | None:
    return session.get(Callback, callback_id)


# -- booking -------------------------------------------------------------------------------


def book(
    session: Session,
    redis: Redis,
    flows: Flows,
    tz: ZoneInfo,
    request: CallbackRequest,
    call_sid: str,
    from_number: str | None,
) -> Callback:
    """Keep the callback in SQL, then schedule its first attempt (once per call).

    Kept, it is counted as requested in the interval history, in the same transaction.
    """
    from runtime import current_clock

    callback = session.scalar(select(Callback).where(Callback.call_sid == call_sid))
    if callback is None:
        requested_at = current_clock().now()
        callback = Callback(
            line=request.line,
            number=request.number,
            from_number=from_number,
            verified=request.verified,
            policyholder_id=request.policyholder_id,
            insured_id=request.insured_id,
            service=request.service,
            call_sid=call_sid,
            status=PENDING,
            attempts=0,
            due_at=local_to_utc(request.due, tz),
            created_at=requested_at,
        )
        session.add(callback)
        interval_history.callback_requested(session, callback.line, requested_at)
        session.commit()
        log.info(
            "callback %s booked on %s for %s at %s",
            callback.id,
            callback.line,
            mask_phone(callback.number),
            callback.due_at.isoformat(),
        )
    try:
        schedule(callback)
        queueboard.callback_pending(redis, queue_of(flows, callback), callback.id)
    except Exception:
        # Kept in SQL: reconcile schedules it once Redis answers again.
        log.exception("callback %s kept but not scheduled", callback.id)
    return callback


def schedule(callback: Callback) -> bool:
    """Schedule the callback's next attempt unless a live job for it already exists."""
    if callback.status != PENDING:
        return False
    # A job that ran (or failed) without settling the callback is replaced: dispatched again.
    job = background.enqueue_at(
        current_app._get_current_object(),
        utc(callback.due_at),
        "services.call_jobs.dial_callback",
        callback.id,
        job_id=job_id(callback),
        retry=(),
        again_if_ended=True,
    )
    return job is not None


# -- dialling ------------------------------------------------------------------------------


def dial(app: Flask, callback_id: int, now: datetime) -> str:
    """Place the call for a due callback; what happened, for the job's result."""
    from runtime import current_clock, current_flows

    flows, clock = current_flows(), current_clock()
    session = db.session()
    redis = store.redis()
    callback = session.get(Callback, callback_id)
    if callback is None or callback.status != PENDING:
        return "skipped"
    if utc(callback.due_at) > now + timedelta(seconds=5):
        schedule(callback)
        return "not yet due"
    opens = open_from(flows, callback, now, clock.tz)
    if opens is None:
        return _give_up(session, redis, flows, callback, "line never opens")
    if opens is not now:
        callback.due_at = opens
        session.commit()
        schedule(callback)
        return "waiting for the line to open"

    callback.status = DIALLING
    callback.attempts += 1
    callback.dialled_at = utc(now)
    session.commit()
    settings = flows.call_flow.callbacks
    try:
        call = twilio_rest.client(app).calls.create(
            to=callback.number,
            from_=twilio_rest.sender(app, callback.from_number),
            url=twilio_rest.public_url(app, f"/ivr/callback/answer?id={callback.id}"),
            method="POST",
            # Twilio reports the end of the call (``completed``) by default: StatusCallbackEvent
            # is left out, as a one-event list is a form field mocks of Twilio's API misread.
            status_callback=twilio_rest.public_url(app, f"/ivr/status?callback={callback.id}"),
            status_callback_method="POST",
            timeout=settings.ring_seconds,
        )
    except twilio_rest.NotConfigured:
        # Not the customer's fault: keep the attempt for when the hotline is configured.
        callback.status = PENDING
        callback.attempts -= 1
        session.commit()
        raise
    except TwilioException as exc:
        refused = twilio_rest.refusal(exc, callback.number)
        log.warning("callback %s: Twilio refused the call (%s)", callback.id, refused)
        return unreached(session, redis, flows, clock.tz, callback, "failed", now)
    callback.last_call_sid = call.sid
    session.commit()
    return "dialled"


def unreached(
    session: Session,
    redis: Redis,
    flows: Flows,
    tz: ZoneInfo,
    callback: Callback,
    result: str,
    now: datetime,
) -> str:
    """An attempt reached nobody: try again after the back-off, or give up."""
    settings = flows.call_flow.callbacks
    callback.last_result = result
    if callback.attempts >= settings.max_attempts:
        return _give_up(session, redis, flows, callback, result)
    later = utc(now) + timedelta(minutes=settings.retry_delay_minutes(callback.attempts))
    later = open_from(flows, callback, later, tz)
    if later is None:
        return _give_up(session, redis, flows, callback, result)
    callback.status = PENDING
    callback.due_at = later
    session.commit()
    schedule(callback)
    return "retry"


def _give_up(session, redis, flows, callback: Callback, result: str) -> str:
    callback.status = FAILED
    callback.last_result = result
    session.commit()
    log.info("callback %s failed after %s attempts (%s)", callback.id, callback.attempts, result)
    queueboard.callback_settled(redis, queue_of(flows, callback), callback.id)
    return "failed"


def connected(session: Session, callback: Callback) -> None:
    if callback.status == DIALLING:
        callback.status = CONNECTED
        session.commit()


def answered(session: Session, redis: Redis, flows: Flows, callback: Callback) -> None:
    """An agent took the customer: the callback is honoured."""
    if callback.status in (DIALLING, CONNECTED):
        callback.status = DONE
        callback.last_result = "answered"
        session.commit()
    queueboard.callback_settled(redis, queue_of(flows, callback), callback.id)


def call_ended(
    session: Session,
    redis: Redis,
    flows: Flows,
    tz: ZoneInfo,
    callback: Callback,
    call_status: str,
    call_sid: str | None,
    now: datetime,
) -> str:
    """Twilio's status callback for the outbound call."""
    if call_sid and callback.last_call_sid and call_sid != callback.last_call_sid:
        return "not the latest attempt"
    if callback.status == DIALLING:
        # Busy, no answer, failed — or answered without pressing the key (voicemail).
        result = call_status if call_status in UNREACHED else "not confirmed"
        return unreached(session, redis, flows, tz, callback, result, now)
    if callback.status == CONNECTED:
        # Reached, then hung up before an agent answered: the customer was called back.
        callback.status = DONE
        callback.last_result = "abandoned"
        session.commit()
        queueboard.callback_settled(redis, queue_of(flows, callback), callback.id)
        return "abandoned"
    return "settled"


# -- reconciling SQL and Redis -------------------------------------------------------------


def reconcile(app: Flask, now: datetime) -> dict[str, int]:
    """Make Redis agree with SQL: every open callback scheduled, the pending counts right."""
    from runtime import current_clock, current_flows

    flows, clock = current_flows(), current_clock()
    session = db.session()
    redis = store.redis()
    counts = {"scheduled": 0, "unanswered": 0}
    stale = now - DIAL_GRACE - timedelta(seconds=flows.call_flow.callbacks.ring_seconds)
    for callback in session.scalars(select(Callback).where(Callback.status == DIALLING)):
        if callback.dialled_at is None or utc(callback.dialled_at) < stale:
            unreached(session, redis, flows, clock.tz, callback, "no status", now)
            counts["unanswered"] += 1
    pending: dict[str, list[int]] = defaultdict(list)
    for queue in flows.queues():
        if queue.kind == CALLBACKS:
            pending[queue.name] = []
    for callback in session.scalars(
        select(Callback).where(Callback.status.in_(OPEN)).order_by(Callback.id)
    ):
        pending[queue_of(flows, callback)].append(callback.id)
        if schedule(callback):
            counts["scheduled"] += 1
    queueboard.set_callbacks(redis, pending)
    return counts
