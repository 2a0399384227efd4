"""A customer's contact history for the desk: their calls, callbacks and cases, newest first.

Read from SQL only — the IVR's record of each call (``call_records``, written as the
call moves: ``services.call_records``), the callbacks kept for dialling and the
cases agents opened — so it survives any loss of Redis. A person's calls are the
ones they were identified in (as policyholder or insured) and the ones from a
number on file for them, verified or not.

``call_outcome`` is the one place a call's record becomes what happened on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain import contributions
from flows import Flows
from services import call_notes, call_records, callbacks, cases, defaults
from storage.exceptions import UnknownPerson
from storage.models import Callback, CallRecord, Case, Person, Phone

# What happened on a call, as ``call_outcome`` tells it.
IN_IVR = "in_ivr"  # still talking to the IVR
WAITING = "waiting"  # still waiting in a queue
ON_CALL = "on_call"  # with an agent now
ANSWERED = "answered"  # an agent took it
ABANDONED = "abandoned"  # hung up while waiting
LEFT_FOR_CALLBACK = "left_for_callback"  # left the queue to be called back
QUEUE_FAILED = "queue_failed"  # the queue could not take the caller
CALLBACK_BOOKED = "callback_booked"  # the line was closed: a callback was booked
AFTER_HOURS = "after_hours"  # the line was closed, no callback booked
SELF_SERVICE = "self_service"  # served by the IVR alone (SMS link, entitlements, …)
UNREACHED = "unreached"  # a callback call nobody answered
CALL_OUTCOMES = (
    IN_IVR,
    WAITING,
    ON_CALL,
    ANSWERED,
    ABANDONED,
    LEFT_FOR_CALLBACK,
    QUEUE_FAILED,
    CALLBACK_BOOKED,
    AFTER_HOURS,
    SELF_SERVICE,
    UNREACHED,
)
_QUEUE_OUTCOMES = {
    call_records.ABANDONED: ABANDONED,
    call_records.LEFT_FOR_CALLBACK: LEFT_FOR_CALLBACK,
    call_records.FAILED: QUEUE_FAILED,
}


def _utc(moment: datetime | None) -> datetime | None:
    """Stored in UTC; SQLite hands times back naive, so naive means UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def call_outcome(record: CallRecord, callback_booked: bool, flows: Flows, tz: ZoneInfo) -> str:
    """What happened on the call ``record`` tells of (one of ``CALL_OUTCOMES``).

    ``callback_booked``: a callback was booked during this call outside a queue,
    which the call flow offers when the line is closed.
    """
    if record.answered_at is not None or record.queue_result == call_records.ANSWERED:
        return ON_CALL if record.ended_at is None else ANSWERED
    if record.kind == call_records.CALLBACK and record.end_status in callbacks.UNREACHED:
        return UNREACHED
    if record.queue_result in _QUEUE_OUTCOMES:
        return _QUEUE_OUTCOMES[record.queue_result]
    if record.enqueued_at is not None:
        # Ended while listed in a queue, without an exit noted: they hung up waiting.
        return WAITING if record.ended_at is None else ABANDONED
    if callback_booked:
        return CALLBACK_BOOKED
    if record.line and _closed(flows, record.line, record.started_at, tz):
        return AFTER_HOURS
    return IN_IVR if record.ended_at is None else SELF_SERVICE


def _closed(flows: Flows, line_code: str, at: datetime, tz: ZoneInfo) -> bool:
    line = flows.lines.get(line_code)
    if line is None:
        return False
    return not line.is_open(_utc(at).astimezone(tz).replace(tzinfo=None))


def of_person(
    db_session: Session,
    flows: Flows,
    now: datetime,
    person_id: str,
    limit: int = defaults.HISTORY_LIMIT,
) -> dict:
    """The person's calls, callbacks and cases (``limit`` of each), newest first.

    ``now`` is aware, in the hotline's zone; times come back as ISO strings in it.
    Raises ``UnknownPerson``.
    """
    tz = now.tzinfo
    call_notes.written()  # this process's notes of calls, not yet written
    if db_session.get(Person, person_id) is None:
        raise UnknownPerson(person_id)
    numbers = select(Phone.e164).where(Phone.person_id == person_id).scalar_subquery()

    calls = db_session.scalars(
        select(CallRecord)
        .where(
            or_(
                CallRecord.policyholder_id == person_id,
                CallRecord.insured_id == person_id,
                CallRecord.caller.in_(numbers),
            )
        )
        .order_by(CallRecord.started_at.desc())
        .limit(limit)
    ).all()
    booked = set(
        db_session.scalars(
            select(Callback.call_sid).where(Callback.call_sid.in_([c.call_sid for c in calls]))
        )
    )
    found_callbacks = db_session.scalars(
        select(Callback)
        .where(
            or_(
                Callback.policyholder_id == person_id,
                Callback.insured_id == person_id,
                Callback.number.in_(numbers),
            )
        )
        .order_by(Callback.created_at.desc(), Callback.id.desc())
        .limit(limit)
    ).all()
    found_cases = cases.find(db_session, now, insured_id=person_id, limit=limit)

    def local(moment: datetime | None) -> str | None:
        moment = _utc(moment)
        return moment.astimezone(tz).isoformat() if moment else None

    def names(line: str | None, service: str | None) -> dict:
        return {
            "line": line,
            "line_name": flows.lines[line].name if line in flows.lines else None,
            "service": service,
            "service_name": services.get(service),
        }

    services = {s.code: s.name for s in flows.programme.services}

    return {
        "person_id": person_id,
        "calls": [
            {
                "call_sid": c.call_sid,
                "kind": c.kind,
                "started_at": local(c.started_at),
                **names(c.line, c.service),
                "verified": c.verified,
                "policyholder_id": c.policyholder_id,
                "insured_id": c.insured_id,
                "agent": c.agent,
                "wait_seconds": round(c.wait_seconds) if c.wait_seconds is not None else None,
                "talk_seconds": contributions.talk_of(c),
                "outcome": call_outcome(c, c.call_sid in booked, flows, tz),
            }
            for c in calls
        ],
        "callbacks": [
            {
                "id": cb.id,
                "created_at": local(cb.created_at),
                **names(cb.line, cb.service),
                "verified": cb.verified,
                "status": cb.status,
                "attempts": cb.attempts,
                "due_at": local(cb.due_at),
                "call_sid": cb.call_sid,
            }
            for cb in found_callbacks
        ],
        "cases": [_case(case, flows, now) for case in found_cases],
    }


def _case(case: Case, flows: Flows, now: datetime) -> dict:
    data = cases.as_dict(case, flows, now)
    keep = ("id", "service", "service_name", "status", "opened_at", "sla", "call_sid")
    return {key: data[key] for key in keep}
