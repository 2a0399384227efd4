"""Running what the engine asked for: one handler per effect type, then the queue's bookkeeping.

The engine returns writes as effects (``ivr.replies``); a turn runs them here
once, after the engine and before its reply is saved. Each is keyed by the call
and step that asked for it, so a retried webhook cannot run it twice: a failed
try counts once, an SMS is one job, a callback one row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from redis import Redis

from flows import Flows
from ivr import records, replies
from ivr.call_state import CallState
from ivr.facts import SqlFacts
from live import queueboard, store
from runtime import current_clock, current_flows
from runtime.clock import Clock
from services import call_jobs, callbacks, lockout
from storage import db, repository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Origin:
    """The call and step that asked for the effects, and what their handlers write with."""

    state: CallState
    step: int
    pipe: Any  # the turn's Redis pipeline, executed with its reply
    redis: Redis
    flows: Flows
    clock: Clock
    now: datetime


def _record_auth_failure(effect: replies.RecordAuthFailure, origin: Origin) -> None:
    lockout.record(
        current_app._get_current_object(),
        effect.caller_key,
        effect.policyholder_ids,
        f"{origin.state.call_sid}:{origin.step}",
        origin.now.timestamp(),
    )


def _send_sms_link(effect: replies.SendSmsLink, origin: Origin) -> None:
    call_jobs.enqueue_sms(
        current_app._get_current_object(),
        effect.to,
        effect.body,
        origin.state.called,
        ref=f"{origin.state.call_sid}-{origin.step}",
    )


def _book_callback(effect: replies.CallbackRequest, origin: Origin) -> None:
    callbacks.book(
        db.session(),
        origin.redis,
        origin.flows,
        origin.clock.tz,
        effect,
        origin.state.call_sid,
        origin.state.called,
    )


# One handler per effect type of ``ivr.replies.Effect``: a new effect without one fails
# the turn (into the degraded answer) rather than being dropped unseen.
HANDLERS: dict[type, Callable[[Any, Origin], None]] = {
    replies.RecordAuthFailure: _record_auth_failure,
    replies.SendSmsLink: _send_sms_link,
    replies.CallbackRequest: _book_callback,
}


# The effects kept in SQL alone: the ones a turn may still run while Redis is down.
SQL_ONLY = frozenset({replies.CallbackRequest, replies.RecordAuthFailure})


class NeedsRedis(RuntimeError):
    """An effect that writes to Redis was asked for while Redis is down."""


def run_in_sql(state: CallState, reply: replies.Reply) -> None:
    """Run the reply's effects with Redis down: all of them in SQL, or none at all."""
    needing = sorted({type(e).__name__ for e in reply.effects if type(e) not in SQL_ONLY})
    if needing:
        raise NeedsRedis(", ".join(needing))
    clock = current_clock()
    origin = Origin(state, 0, None, store.redis(), current_flows(), clock, clock.now())
    for effect in reply.effects:
        HANDLERS[type(effect)](effect, origin)


def run(
    state: CallState, reply: replies.Reply, step: int, pipe, facts: SqlFacts | None = None
) -> None:
    """Run the reply's effects for step ``step``; an Enqueue puts the caller on the board.

    ``facts`` are the turn's: the board shows the caller's tier as the engine read it.
    """
    clock = current_clock()
    origin = Origin(state, step, pipe, store.redis(), current_flows(), clock, clock.now())
    for effect in reply.effects:
        HANDLERS[type(effect)](effect, origin)
    if isinstance(reply.wait, replies.Enqueue):
        state.enqueued_at = origin.now.timestamp()
        queueboard.enqueued(
            origin.redis, reply.wait.queue, state.call_sid, state.enqueued_at, origin.pipe
        )
        describe_waiting(origin.redis, state, facts, origin.pipe)
        records.entered_queue(state, reply.wait.queue, origin.now)


def describe_waiting(
    redis: Redis, state: CallState, facts: SqlFacts | None = None, pipe=None
) -> None:
    """What the agents' queue panel shows of a queued caller, and their offer's screen-pop.

    The name is masked already. The tier comes from the turn's facts when it has them
    (the engine read them: no query); a caller queued again without them (a missed
    offer) is looked up only when the distribution ranks callers by tier. ``pipe``: the
    turn's pipeline, written with its reply (no round trip of its own).
    """
    queueboard.describe(
        redis,
        state.call_sid,
        queueboard.Caller(
            name=state.insured_name,
            service=state.service,
            tier=_tier(state, facts),
            verified=state.verified,
            policyholder_id=state.policyholder_id,
            insured_id=state.insured_id,
            line=state.line,
            caller=state.caller,
        ),
        pipe,
    )


def _tier(state: CallState, facts: SqlFacts | None) -> str | None:
    if not state.insured_id:
        return None
    if facts is not None:
        tier = facts.eligibility(state.insured_id).tier
        return tier.code if tier is not None else None
    flows = current_flows()
    if not flows.call_flow.queue.tier_priority:
        return None
    try:
        found = repository.eligibility(
            db.session(), flows.programme, state.insured_id, current_clock().today()
        )
    except Exception:
        log.exception("call %s: tier unknown; queued without priority", state.call_sid)
        return None
    return found.tier.code if found.tier else None
