"""An agent takes a caller out of the queue: the answer counted, the agent on the call.

Two ways in: the ``<Queue url>`` document (``answer``), played on the caller's leg
when an agent's phone dialled the queue itself (``/ivr/agent``); and an offered call
the agent picked up (``ivr.offers``). Either is the moment to count the answer on
the queue board, note it on the call's record with the agent, settle the callback it
honours and set the agent ``on_call``; a pulled call also announces ``CallTaken`` on
the agent's stream (the screen-pop; an offer announced its own). None of it may keep
the caller from the agent: a failure is logged, and the caller is put through all the same.
"""

from __future__ import annotations

import logging

from domain.hours import Line
from ivr import context, engine, records, twiml
from ivr.call_state import CallState
from live import announcements, call_store, queueboard, store
from runtime import current_clock, current_flows
from services import agent_shift, callbacks
from storage import db

log = logging.getLogger(__name__)


def answer(
    sid: str | None,
    line_code: str | None,
    agent_sid: str,
    queue_time: float,
    caller: str | None,
) -> str:
    """Record the answer, then the document (only Say, Play, Pause and Redirect are allowed).

    ``queue_time`` and ``caller`` are Twilio's own figures, used when the board
    or the call's state lacks them; ``agent_sid`` is the agent's leg (DequeingCallSid).
    """
    line = context.line(line_code)
    if sid is not None:
        try:
            agent = call_store.agent_of(store.redis(), agent_sid) if agent_sid else None
            if agent:
                agent_shift.quietly(agent_shift.answered, agent, sid, agent_sid)
            taken(sid, line, agent, queue_time, caller, announce=True)
        except Exception:
            log.exception("call %s: could not record the answer", sid)
    return document(line.code)


def document(line_code: str | None) -> str:
    """What the caller hears as the agent takes them (Twilio then bridges the two)."""
    now = current_clock().local()
    say = [engine.phrase(current_flows(), "queue_connecting", now, context.line(line_code).code)]
    return twiml.say_then(context.voice(), say, hangup=False)


def taken(
    sid: str,
    line: Line,
    agent: str | None,
    queue_time: float,
    caller: str | None,
    announce: bool,
) -> bool:
    """Count and note the answer of caller ``sid`` by ``agent`` once; True the first time."""
    flows, clock = current_flows(), current_clock()
    redis = store.redis()
    now = clock.now()
    state = call_store.load(redis, sid, CallState.from_json)
    queue = (state.queue if state and state.queue else None) or line.queue
    entered = queueboard.entered_at(redis, queue, sid)
    if entered is None and state is not None and state.enqueued_at:
        entered = state.enqueued_at  # out of the board's list while offered
    waited = now.timestamp() - entered if entered is not None else queue_time
    settings = flows.call_flow
    first = queueboard.answered(redis, queue, sid, now.timestamp(), settings.queue.history_size)
    if state is not None:
        state.agent = agent
        call_store.save(redis, state, settings.call.state_ttl_seconds)
        if state.callback_id is not None:
            callback = callbacks.find(db.session(), state.callback_id)
            if callback is not None:
                callbacks.answered(db.session(), redis, flows, callback)
    if first:
        records.answered(sid, agent, waited, now)
    if first and agent and announce:
        announcements.announce(
            redis,
            announcements.CallTaken(
                call_sid=sid,
                agent=agent,
                verified=bool(state and state.verified),
                policyholder_id=state.policyholder_id if state else None,
                insured_id=state.insured_id if state else None,
                service=state.service if state else None,
                line=(state.line if state and state.line else None) or line.code,
                queue=queue,
                queue_seconds=max(0, round(waited)),
                caller=state.caller if state else caller,
                taken_at=now.isoformat(),
            ),
        )
    if first:
        log.info("call %s taken by agent %s after %ss in %s", sid, agent, round(waited), queue)
    return first
