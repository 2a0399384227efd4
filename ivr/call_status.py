"""Twilio's call status callbacks: an inbound call ended, or a call placed for a callback did.

An ended call leaves every queue board it was on (a caller who hangs up while
holding is counted as abandoned); an ended callback attempt is settled by the
callback rules (``services.callbacks``): done, retried, or failed.
"""

from __future__ import annotations

import logging

from ivr import context
from live import queueboard, store
from runtime import current_clock, current_flows
from services import callbacks
from storage import db

log = logging.getLogger(__name__)
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def reported(sid: str | None, call_status: str, callback_id: int | None) -> None:
    """Twilio reported ``call_status`` for call ``sid`` (placed for ``callback_id``, if any)."""
    flows, clock = current_flows(), current_clock()
    if call_status in ENDED and sid:
        queues = [queue.name for queue in flows.queues()]
        queueboard.gone(store.redis(), queues, sid, context.today())
    if callback_id is not None and call_status in ENDED:
        session = db.session()
        callback = callbacks.find(session, callback_id)
        if callback is not None:
            outcome = callbacks.call_ended(
                session, store.redis(), flows, clock.tz, callback, call_status, sid, clock.now()
            )
            log.info("callback %s: call %s %s → %s", callback.id, sid, call_status, outcome)
