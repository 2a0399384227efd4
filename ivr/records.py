"""The IVR's notes on each call's record in SQL (``services.call_records``).

A note is history, not the call: if the database cannot take it, the failure is
logged and the caller goes on as if nothing happened. A webhook writes no note
itself: it hands it to this process's notes (``services.call_notes``), which write
the notes of a moment together, off the webhooks, in the order they were made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from ivr.call_state import CallState
from services import call_notes, call_records

log = logging.getLogger(__name__)


def _safely(sid: str, what: str, write: Callable[..., None], *args, **kwargs) -> None:
    try:
        call_notes.of().add(
            f"call {sid}: {what}", lambda session: write(session, sid, *args, **kwargs)
        )
    except Exception:
        log.exception("call %s: could not record %s", sid, what)


def _moment(timestamp: float | None, default: datetime) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else default


def entered_queue(state: CallState, queue: str, now: datetime) -> None:
    _safely(
        state.call_sid,
        "its queue",
        call_records.note,
        _moment(state.started_at, now),
        kind=call_records.CALLBACK if state.callback_id else call_records.INBOUND,
        caller=state.caller,
        line=state.line,
        queue=queue,
        service=state.service,
        verified=state.verified,
        policyholder_id=state.policyholder_id,
        insured_id=state.insured_id,
        callback_id=state.callback_id,
        enqueued_at=now,
    )


def left_queue(enqueued: float | None, sid: str, result: str, now: datetime) -> None:
    """Call ``sid`` left its queue (Twilio's QueueResult ``result``); ``enqueued``: when it
    entered it (Unix time), if known."""
    wait = now.timestamp() - enqueued if enqueued else None
    _safely(sid, "how it left the queue", call_records.left_queue, now, result, wait)


def answered(sid: str, agent: str | None, wait: float, now: datetime) -> None:
    _safely(sid, "its answer", call_records.answered, now, agent, max(0.0, wait))


def identity(state: CallState | None) -> dict:
    """Who the call was about and what for, as the IVR learnt it: noted when the call ends,
    so a call that never reached a queue (served by the IVR, or after hours) is in the
    customer's history too."""
    if state is None:
        return {}
    return {
        "verified": state.verified,
        "policyholder_id": state.policyholder_id,
        "insured_id": state.insured_id,
        "service": state.service,
        "line": state.line,
    }


def talked(sid: str, seconds: int, now: datetime) -> None:
    """The caller and the agent talked ``seconds`` (Twilio's DialCallDuration)."""
    _safely(sid, "its talk time", call_records.note, now, talk_seconds=max(0, seconds))


def ended(sid: str, status: str, duration: int | None, now: datetime, **facts) -> None:
    _safely(sid, "its end", call_records.ended, now, status, duration, **facts)
