"""What happened on each call, in SQL: the record behind contact history and reports.

The IVR notes facts as a call moves — it started, entered a queue, left it, an agent
took it, it ended — and each fact keeps the first value written: a webhook Twilio
retries, or a fact that arrives out of order (a status callback before the queue's
action), changes nothing already known. One statement per note, an upsert on the
CallSid: no read first, so two processes noting facts of one call at once cannot
lose either. The note marks the record ``pending``; what its facts make due in the
interval history is added later, off the webhook, by ``interval_history.fold``
(whoever reads the reports folds first): a webhook writes its own call's row and
no row that every other call writes too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, true
from sqlalchemy.orm import Session

from domain.service_level import ABANDONED, ANSWERED, FAILED, LEFT_FOR_CALLBACK
from storage.models import CallRecord
from storage.prepared import Prepared, insert

INBOUND, CALLBACK = "inbound", "callback"
# Twilio's QueueResult (the Enqueue action) as the record says it (``queue_result``, in
# domain.service_level's words); "bridged" is the answer, which the dequeue notes with
# its agent, and "redirected" is not an exit.
QUEUE_RESULTS = {
    "bridged": ANSWERED,
    "hangup": ABANDONED,
    "leave": LEFT_FOR_CALLBACK,
    "queue-full": FAILED,
    "error": FAILED,
    "system-error": FAILED,
}
FACTS = frozenset(
    column.name
    for column in CallRecord.__table__.columns
    if column.name not in ("call_sid", "kind", "started_at", "counted")
)


def note(session: Session, call_sid: str, at: datetime, kind: str = INBOUND, **facts) -> None:
    """Record ``facts`` of call ``call_sid`` (first value wins), creating its record if new.

    ``at`` dates the record's start when this is the first fact heard of the call.
    Facts given as None are not facts: they leave what is known alone.
    """
    unknown = set(facts) - FACTS
    if unknown:
        raise ValueError(f"not facts of a call: {', '.join(sorted(unknown))}")
    facts = {name: value for name, value in facts.items() if value is not None}
    row = {"call_sid": call_sid, "kind": kind, "started_at": _utc(at), "verified": False}
    row["counted"] = 0  # a new record: none of its contributions made yet
    row["pending"] = True
    row.update({k: _utc(v) if isinstance(v, datetime) else v for k, v in facts.items()})
    _upsert(frozenset(facts), bool(facts.get("verified"))).execute(session.connection(), row)


# One statement per set of facts noted (a handful: the IVR notes the same ones every
# call), compiled once: building it anew cost more than running it.
_UPSERTS: dict[tuple[frozenset[str], bool], Prepared] = {}


def _upsert(names: frozenset[str], verified: bool) -> Prepared:
    found = _UPSERTS.get((names, verified))
    if found is None:
        found = _UPSERTS[(names, verified)] = Prepared(
            lambda dialect: _upsert_statement(dialect, names, verified)
        )
    return found


def _upsert_statement(dialect, names: frozenset[str], verified: bool):
    table = CallRecord.__table__
    columns = [
        "call_sid",
        "kind",
        "started_at",
        "verified",
        "counted",
        "pending",
        *sorted(names - {"verified"}),
    ]
    statement = insert(dialect, table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in columns}
    )
    keep_first = {
        name: func.coalesce(table.c[name], statement.excluded[name])
        for name in sorted(names)
        if name != "verified"
    }
    if verified:
        # Verified once is verified: a later, unverified leg of the story does not undo it.
        keep_first["verified"] = true()
    if not keep_first:
        return statement.on_conflict_do_nothing(index_elements=["call_sid"])
    keep_first["pending"] = true()
    return statement.on_conflict_do_update(index_elements=["call_sid"], set_=keep_first)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def left_queue(session: Session, call_sid: str, at: datetime, result: str, wait: float | None):
    """The caller left the queue (Twilio's QueueResult); an unknown result notes nothing."""
    outcome = QUEUE_RESULTS.get(result)
    if outcome is not None:
        note(session, call_sid, at, left_queue_at=at, queue_result=outcome, wait_seconds=wait)


def answered(session: Session, call_sid: str, at: datetime, agent: str | None, wait: float):
    """An agent took the caller out of the queue."""
    note(
        session,
        call_sid,
        at,
        answered_at=at,
        agent=agent,
        left_queue_at=at,
        queue_result=ANSWERED,
        wait_seconds=wait,
    )


def ended(
    session: Session, call_sid: str, at: datetime, status: str, duration: int | None, **facts
) -> None:
    """Twilio reported the call over; ``duration`` (CallDuration) dates its start if unknown."""
    started = at - timedelta(seconds=duration) if duration else at
    note(session, call_sid, started, ended_at=at, end_status=status, **facts)
