"""Twilio's call status callbacks: an inbound call ended, or a call placed for a callback did.

An ended call leaves every queue board it was on (a caller who hangs up while
holding is counted as abandoned); an ended callback attempt is settled by the
callback rules (``services.callbacks``): done, retried, or failed. The agent the
call held moves on (SPEC §6): one it rang is released, one on it starts wrapping up —
whichever leg ended, the caller's or the agent's own (a pulled call).
"""

from __future__ import annotations

import logging

from domain.agent_states import Status
from ivr import records
from ivr.call_state import CallState
from ivr.turns import Numbers
from live import call_store, offers, queueboard, store
from runtime import current_clock, current_flows
from services import agent_shift, call_records, callbacks
from storage import db

log = logging.getLogger(__name__)
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def reported(
    sid: str | None,
    call_status: str,
    callback_id: int | None,
    duration: int | None = None,
    numbers: Numbers | None = None,
) -> None:
    """Twilio reported ``call_status`` for call ``sid`` (placed for ``callback_id``, if any).

    ``duration`` is Twilio's CallDuration (seconds), given with the end of a call;
    ``numbers`` its From and To (on a callback attempt the customer is the one called).
    """
    flows, clock = current_flows(), current_clock()
    if call_status in ENDED and sid:
        queues = [queue.name for queue in flows.queues()]
        now = clock.now()
        redis = store.redis()
        # One round trip for everything the end of a call reads: the queues it may still
        # be listed in, its state, an offer of it, and the agent whose own leg it may be.
        pipe = redis.pipeline(transaction=False)
        queueboard.waiting_scores(pipe, queues, sid)
        call_store.read_ended(pipe, sid)
        offers.read(pipe, sid)
        read = pipe.execute()
        scores, ended, offer = read[: len(queues)], read[len(queues) : -1], read[-1]
        state, leg_of = call_store.ended(ended, CallState.from_json)
        abandoned = queueboard.gone(redis, queues, sid, scores)
        if abandoned:
            records.left_queue(state.enqueued_at if state else None, sid, "hangup", now)
        kind = call_records.INBOUND if callback_id is None else call_records.CALLBACK
        caller = None
        if numbers is not None:
            caller = numbers.caller if callback_id is None else numbers.called
        records.ended(
            sid,
            call_status,
            duration,
            now,
            kind=kind,
            callback_id=callback_id,
            caller=caller,
            **records.identity(state),
        )
        try:
            _release_agents(redis, sid, offers.parse(offer), state, leg_of)
        except Exception:
            log.exception("call %s ended: its agent could not be moved on", sid)
    if callback_id is not None and call_status in ENDED:
        session = db.session()
        callback = callbacks.find(session, callback_id)
        if callback is not None:
            outcome = callbacks.call_ended(
                session, store.redis(), flows, clock.tz, callback, call_status, sid, clock.now()
            )
            log.info("callback %s: call %s %s → %s", callback.id, sid, call_status, outcome)


def _release_agents(
    redis, sid: str, offer: offers.Offer | None, state: CallState | None, leg_of: str | None
) -> None:
    """The agents call ``sid`` held: rung (the caller left) or on it (the call is over).

    ``leg_of``: the agent whose own leg ``sid`` is, when it pulled a call.
    """
    named = {offer.agent if offer else None, state.agent if state else None}
    for agent in filter(None, named):
        _move_on(agent, sid, None)
    if leg_of:
        _move_on(leg_of, None, sid)
    if offer is not None:
        offers.settled(redis, sid)


def _move_on(agent: str, call_sid: str | None, leg: str | None) -> None:
    current = agent_shift.get(agent).state
    if current.status is Status.OFFERED and current.holds(call_sid, leg):
        agent_shift.quietly(agent_shift.withdrawn, agent, call_sid, leg)
    elif current.status is Status.ON_CALL and current.holds(call_sid, leg):
        agent_shift.quietly(agent_shift.hung_up, agent, current.call_sid, current.leg)
