"""The call placed for a callback: the customer presses a key, then waits for an agent.

The key tells a person from voicemail: asked once more after silence or a wrong
key, then the call ends and the status callback counts the attempt as not
reached. Confirmed, the customer waits in the line's callback queue, which
agents serve first, with what the IVR knew of them when they asked.
"""

from __future__ import annotations

from flask import url_for

from ivr import context, effects, engine, records, twiml, urls
from ivr.call_state import CallState
from live import call_store, queueboard, store
from runtime import current_clock, current_flows
from runtime.exceptions import HotlineError
from services import callbacks
from storage import db
from storage.models import Callback


class NoCallback(HotlineError):
    """No callback with that id (or, when the customer picks up, none being dialled)."""


class NotConfirmed(HotlineError):
    """Asked twice, the customer did not press the key: voicemail, or nobody listening."""


def answer(sid: str | None, callback_id: int | None) -> str:
    """The customer picked up: remember the call as the callback's, ask for the key."""
    flows = current_flows()
    callback = _find(callback_id)
    if sid is None or callback is None or callback.status != callbacks.DIALLING:
        raise NoCallback(callback_id)
    state = CallState(
        call_sid=sid,
        caller=callback.number,
        called=callback.from_number,
        verified=callback.verified,
        policyholder_id=callback.policyholder_id,
        policyholder_phone=callback.number if callback.verified else None,
        insured_id=callback.insured_id,
        service=callback.service,
        line=callback.line,
        callback_id=callback.id,
        node="callback",
        started_at=current_clock().now().timestamp(),
    )
    call_store.save(store.redis(), state, flows.call_flow.call.state_ttl_seconds)
    return _prompt(callback, again=False)


def connect(
    sid: str | None, callback_id: int | None, pressed: str, silent: bool, first_try: bool
) -> str:
    """The key pressed (or ``silent``): put the customer in the line's callback queue."""
    flows = current_flows()
    callback = _find(callback_id)
    now = current_clock().local()
    if sid is None or callback is None:
        raise NoCallback(callback_id)
    if silent or pressed != flows.call_flow.callbacks.answer_key:
        if first_try:
            return _prompt(callback, again=True)
        raise NotConfirmed(callback_id)
    session, redis = db.session(), store.redis()
    callbacks.connected(session, callback)
    line = flows.line(callback.line)
    queue = flows.callback_queue(line)
    state = call_store.load(redis, sid, CallState.from_json) or CallState(
        call_sid=sid, callback_id=callback.id
    )
    state.line, state.queue = line.code, queue
    moment = current_clock().now()
    state.enqueued_at = moment.timestamp()
    state.node = "callback"
    call_store.save(redis, state, flows.call_flow.call.state_ttl_seconds)
    queueboard.enqueued(redis, queue, sid, state.enqueued_at)
    effects.describe_waiting(redis, state)
    records.entered_queue(state, queue, moment)
    say = [engine.phrase(flows, "transferring", now, line.code)]
    return twiml.enqueue(
        context.voice(),
        say,
        queue,
        wait_url=url_for("ivr.queue_wait", line=line.code, queue=queue),
        done_url=urls.queue_done(line.code, state.step, urls.Queued(queue, state.enqueued_at)),
    )


def _find(callback_id: int | None) -> Callback | None:
    return callbacks.find(db.session(), callback_id) if callback_id is not None else None


def _prompt(callback: Callback, again: bool) -> str:
    flows = current_flows()
    key = flows.call_flow.callbacks.answer_key
    text = engine.phrase(
        flows,
        "callback_greeting",
        current_clock().local(),
        callback.line,
        key=engine.spoken_key(flows, key),
    )
    action = url_for("ivr.callback_connect", id=callback.id, again=int(again))
    silence = url_for("ivr.callback_connect", id=callback.id, again=int(again), silent=1)
    return twiml.gather_key(context.voice(), text, action, silence)
