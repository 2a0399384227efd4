"""An offered call (SPEC §6 distribution, steps 3–4): the agent's phone rings, and then?

The distribution asked Twilio to take the caller out of the queue to ``/ivr/offer``
(``services.distribution``). On the caller's leg that URL dials the agent's browser
phone, ``<Dial action timeout=offer_seconds><Client url>USERNAME</Client></Dial>``:

- the ``<Client url>`` runs on the agent's leg as they pick up (``answered``): the
  agent is ``on_call``, the answer counted and noted on the call's record;
- the ``<Dial action>`` comes with the outcome (``finished``): ``completed`` — the agent
  wraps up, the caller hears goodbye; ``no-answer``, ``busy``, ``failed``, ``canceled``
  — the agent goes on a break (``missed``) and the caller back to the queue at the
  place they had, ahead of everyone who came after them, to be offered to the next agent.

A caller never meets a dead end: an offer found called off when Twilio comes (it
expired, the agent went away) sends the caller back to the queue too.
"""

from __future__ import annotations

import logging

from flask import url_for

from domain.agent_states import Status
from ivr import context, dequeue, engine, records, twiml, urls
from ivr.call_state import CallState
from live import agent_states, call_store, offers, queueboard, store
from runtime import current_clock, current_flows
from services import agent_shift

log = logging.getLogger(__name__)

# Twilio's DialCallStatus when the agent and the caller talked.
TALKED = frozenset({"completed", "answered"})


def ring(sid: str | None, agent: str, queue: str | None, line_code: str | None) -> str:
    """The offer's URL: dial the agent's browser phone (or, offer called off, back to the queue)."""
    line = context.line(line_code)
    queue = _queue(queue, line)
    flows = current_flows()
    state = agent_states.get(store.redis(), agent) if agent else None
    if sid is None or state is None or state.status is not Status.OFFERED or state.call_sid != sid:
        log.warning("call %s: offer to %s is off (%s); back to %s", sid, agent, state, queue)
        return back_to_queue(sid, queue, line.code)
    now = current_clock().local()
    return twiml.dial_client(
        context.voice(),
        [engine.phrase(flows, "queue_connecting", now, line.code)],
        agent,
        timeout=flows.call_flow.agents.offer_seconds,
        action=url_for("ivr.offer_done", agent=agent, queue=queue, line=line.code),
        answered_url=url_for("ivr.offer_answered", agent=agent, caller=sid, line=line.code),
    )


def answered(caller_sid: str | None, agent: str, leg: str | None, line_code: str | None) -> str:
    """The ``<Client url>``, on the agent's leg: they picked up. Nothing is said to them."""
    if caller_sid and agent:
        try:
            agent_shift.quietly(agent_shift.answered, agent, caller_sid, leg)
            offers.settled(store.redis(), caller_sid)
            dequeue.taken(caller_sid, context.line(line_code), agent, 0, None, announce=False)
        except Exception:
            log.exception("call %s: could not record its answer by %s", caller_sid, agent)
    return twiml.empty()


def finished(
    sid: str | None,
    agent: str,
    queue: str | None,
    line_code: str | None,
    dial_status: str,
    talk_seconds: int | None,
    caller_gone: bool = False,
) -> str:
    """The ``<Dial action>``: the agent and the caller talked, or the offer failed.

    ``caller_gone``: the caller hung up while the agent's phone rang (the request's
    CallStatus says the caller's call is over): no fault of the agent's, and nobody to
    put back in the queue.
    """
    line = context.line(line_code)
    queue = _queue(queue, line)
    redis = store.redis()
    if sid:
        offers.settled(redis, sid)
    if dial_status in TALKED:
        if sid and agent:
            try:
                dequeue.taken(sid, line, agent, 0, None, announce=False)
                agent_shift.quietly(agent_shift.hung_up, agent, sid)
                if talk_seconds is not None:
                    records.talked(sid, talk_seconds, current_clock().now())
            except Exception:
                log.exception("call %s: could not record its end with %s", sid, agent)
        now = current_clock().local()
        goodbye = engine.phrase(current_flows(), "goodbye", now, line.code)
        return twiml.say_then(context.voice(), [goodbye])
    if caller_gone:
        log.info("call %s: the caller hung up while %s's phone rang", sid, agent)
        if agent and sid:
            agent_shift.quietly(agent_shift.withdrawn, agent, sid)
        return twiml.hangup()
    log.info("call %s: offer to %s %s; back to %s", sid, agent, dial_status or "failed", queue)
    if agent and sid:
        agent_shift.quietly(agent_shift.missed, agent, sid)
    return back_to_queue(sid, queue, line.code)


def _queue(name: str | None, line) -> str:
    """The queue a URL names, if it is one of the hotline's; else the line's own."""
    return name if name and current_flows().queue(name) is not None else line.queue


def back_to_queue(sid: str | None, queue: str, line_code: str) -> str:
    """The caller goes back into ``queue`` at the place they had, to be offered first."""
    redis = store.redis()
    state = call_store.load(redis, sid, CallState.from_json) if sid else None
    entered = state.enqueued_at if state and state.enqueued_at else None
    if sid:
        queueboard.requeued(redis, queue, sid, entered or current_clock().now().timestamp())
    step = state.step if state else 0
    return twiml.enqueue(
        context.voice(),
        [],
        queue,
        wait_url=url_for("ivr.queue_wait", line=line_code, queue=queue),
        done_url=urls.queue_done(line_code, step, urls.Queued(queue, entered) if entered else None),
    )
