"""One webhook turn of a call: claim the step, run the engine and its effects, save, reply.

A gather action URL carries the step it answers (``?step=N``): a webhook Twilio
retries for a step already answered gets the same TwiML back, and its effects
(failed tries, SMS, callbacks, queue counts) are not run twice. A request for a
step the call has moved past, or one that lost the claim to a twin, hears again
where the call is and changes nothing.

The views hand over plain values (CallSid, step, what the caller did, the call's
numbers); each function here answers with the TwiML document to send back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from domain.masking import mask_phone
from ivr import context, degraded, effects, engine, records, replies, twiml, urls
from ivr.call_state import CallState
from ivr.facts import SqlFacts
from live import call_store, queueboard, store
from runtime import current_clock, current_flows
from runtime.exceptions import HotlineError
from storage import db

log = logging.getLogger(__name__)
Turn = Callable[[CallState, SqlFacts], tuple[CallState, replies.Reply]]


class UnknownCall(HotlineError):
    """An answer without its step, for a call the IVR holds no state of: nothing to go on."""


@dataclass(frozen=True, slots=True)
class Numbers:
    """A call's two numbers as its webhook gives them, for a call met without its state."""

    caller: str | None  # E.164, or None when withheld
    called: str | None  # the hotline number dialled


# -- the turns a webhook may take ----------------------------------------------------------


def start(sid: str, numbers: Numbers) -> str:
    """A call comes in (step 0): the call flow's first node."""
    flows = current_flows()

    def begin(state: CallState, facts: SqlFacts):
        return engine.start(flows, state, facts)

    return _take(sid, 0, begin, numbers, when_lost=begin)


def answer(sid: str, step: int | None, event: engine.Event, numbers: Numbers) -> str:
    """The caller's answer to step ``step``; without a step, to the question now asked."""
    flows = current_flows()
    if step is None:
        state = call_store.load(store.redis(), sid, CallState.from_json)
        if state is None:
            raise UnknownCall(sid)
        step = state.step  # a garbled URL: take it as an answer to the current question
    return _take(sid, step, lambda state, facts: engine.step(flows, state, event, facts), numbers)


def after_queue(
    sid: str | None,
    line_code: str | None,
    result: str,
    step: int | None,
    numbers: Numbers,
    queued: urls.Queued | None = None,
) -> str:
    """The caller left the queue (Twilio's QueueResult): hang up, or go on in the call flow.

    ``queued``: the queue and the time the action's URL carried (``urls.queue_done``).
    """
    flows = current_flows()
    line = context.line(line_code)
    if result == "leave":
        node = flows.call_flow.queue.on_leave
    elif result in ("queue-full", "error", "system-error"):
        node = flows.call_flow.queue.on_error
    else:
        node = None
    try:
        redis = store.redis()
        state = None
        if queued is not None and node is None:
            # Most exits (hung up, answered): all they note came in the URL, no state read.
            queue, entered = queued.queue, queued.since
        else:
            state = call_store.load(redis, sid, CallState.from_json) if sid else None
            queue = (state.queue if state and state.queue else None) or line.queue
            entered = state.enqueued_at if state else None
        if sid:
            queueboard.left(redis, queue, sid, result)
            records.left_queue(entered, sid, result, current_clock().now())
    except Exception as exc:
        if degraded.not_tried(exc):
            log.warning("call %s left the queue (%s): Redis unavailable", sid, result)
        else:
            log.exception("call %s left the queue (%s) but could not be recorded", sid, result)
        if node is None or sid is None:
            return twiml.hangup()
        return _without_state(sid, line.code, node, numbers)
    if node is None or sid is None:
        # bridged, hangup, redirected: the conversation is over, or the call is elsewhere.
        return twiml.hangup()

    def go(state: CallState, facts: SqlFacts):
        state.line = state.line or line.code
        return engine.jump(flows, state, node, facts)

    def lost(state: CallState, facts: SqlFacts):
        state.line = line.code
        return engine.jump(flows, state, node, facts)

    if step is None:
        step = state.step if state else 0
    return _take(sid, step, go, numbers, when_lost=lost)


def _without_state(sid: str, line_code: str, node: str, numbers: Numbers) -> str:
    """Redis is down: go on at ``node`` with what Twilio's request says, writing SQL only.

    A caller leaving the queue for a callback still gets one: it is kept in SQL
    (its record) and dispatched once Redis is back (``services.callbacks``). If that
    cannot be done either, the caller hears the line's number instead.
    """
    flows = current_flows()
    state = CallState(call_sid=sid, caller=numbers.caller, called=numbers.called, line=line_code)
    try:
        facts = SqlFacts(db.reads, flows, current_clock())
        state, reply = engine.jump(flows, state, node, facts)
        effects.run_in_sql(state, reply)
    except Exception:
        log.exception("call %s: could not go on at %s without its state", sid, node)
        now = current_clock().local()
        texts = [engine.phrase(flows, "queue_failed", now, line_code)]
        return twiml.say_then(context.voice(), texts)
    finally:
        db.release()
    _log(state, reply)
    return _render(state, reply)


# -- one turn, once ------------------------------------------------------------------------


def _take(sid: str, step: int, turn: Turn, numbers: Numbers, when_lost: Turn | None = None) -> str:
    """Answer step ``step`` of call ``sid`` once; a retry gets the first answer again."""
    redis = store.redis()
    begun = call_store.begin(redis, sid, step, CallState.from_json)
    if begun.reply is not None:
        return begun.reply
    if not begun.claimed:
        reply = call_store.wait_for_reply(redis, sid, step)
        if reply is not None:
            return reply
    flows = current_flows()
    facts = SqlFacts(db.reads, flows, current_clock())
    state = begun.state
    if state is None:
        fresh = CallState(
            call_sid=sid,
            caller=numbers.caller,
            called=numbers.called,
            started_at=current_clock().now().timestamp(),
        )
        state, reply = (when_lost or _lost)(fresh, facts)
    elif step != state.step or not begun.claimed:
        # Stale or duplicate: say again where the call is, and change nothing.
        state, reply = engine.jump(flows, state, state.node or flows.call_flow.call.lost, facts)
        reply.effects.clear()
        return _render(state, reply)
    else:
        facts.carry_in(state.insured_facts)
        state, reply = turn(state, facts)
    # The insured person chosen, else those the caller is choosing from: what the next
    # turns weigh, carried so that they make no query.
    chosen = [state.insured_id] if state.insured_id else [c[0] for c in state.choices]
    state.insured_facts = facts.carry_out(chosen)
    state.step = step + 1
    pipe = redis.pipeline(transaction=False)
    effects.run(state, reply, step, pipe, facts)
    # The database is done with: its connection must not wait idle in transaction
    # through the Redis writes below, while other calls of this worker queue for it.
    db.release()
    body = _render(state, reply)
    # Written with the effects' commands, in one round trip; most turns have none.
    ttl = flows.call_flow.call.state_ttl_seconds
    if len(pipe):
        call_store.finish(redis, state, step, body, ttl, pipe)
        pipe.execute()
    else:
        call_store.finish(redis, state, step, body, ttl)
    _log(state, reply)
    return body


def _lost(state: CallState, facts: SqlFacts):
    state.unverified_reason = "lost"
    return engine.jump(current_flows(), state, current_flows().call_flow.call.lost, facts)


def _render(state: CallState, reply: replies.Reply) -> str:
    # Only the URLs the reply's TwiML holds are built (a Gather needs its action, an
    # Enqueue its waitUrl and action).
    if isinstance(reply.wait, replies.Gather):
        return twiml.render(reply, context.voice(), action=urls.same("ivr.gather", step=state.step))
    if isinstance(reply.wait, replies.Enqueue):
        line = state.line or current_flows().call_flow.call.line
        return twiml.render(
            reply,
            context.voice(),
            action="",
            wait_url=urls.same("ivr.queue_wait", line=line),
            done_url=urls.queue_done(line, state.step, _queued(state, reply.wait.queue)),
        )
    return twiml.render(reply, context.voice(), action="")


def _queued(state: CallState, queue: str) -> urls.Queued | None:
    return urls.Queued(queue, state.enqueued_at) if state.enqueued_at else None


def _log(state: CallState, reply: replies.Reply) -> None:
    if not log.isEnabledFor(logging.INFO):
        return  # its arguments (the masked number) cost more than the line itself
    log.info(
        "call %s from %s step %s at %s verified=%s%s",
        state.call_sid,
        mask_phone(state.caller) or "withheld",
        state.step,
        state.node,
        state.verified,
        f" queue={reply.wait.queue}" if isinstance(reply.wait, replies.Enqueue) else "",
    )
