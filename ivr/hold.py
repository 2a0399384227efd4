"""While a caller holds: where they are in the queue, about how long, and the key to leave.

Twilio fetches the Enqueue's waitUrl document over and over while the caller
waits; a key pressed during its hold music comes back here too. A caller waiting
for a callback is already on one: they are not offered to leave for another.

The first waitUrl of a caller is also Twilio's word that the caller is in its
queue (with the queue's SID): from then on the distribution may offer them, and
it is asked to look at once (SPEC §6: a caller joins).
"""

from __future__ import annotations

import logging
import math

from redis.exceptions import RedisError

from domain.agent_states import Status
from ivr import context, engine, twiml, urls
from live import agent_states, queueboard, store
from runtime import current_clock, current_flows
from services import agent_shift

log = logging.getLogger(__name__)

# Twilio's largest queue holds 5000 callers: a position past it is not one (and a long
# enough number would overflow the wait estimate), so it is not announced.
MAX_POSITION = 5000


def position(raw: str | None) -> int:
    """Twilio's ``QueuePosition``; 0 (unknown: nothing announced) unless it is a real one."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_POSITION)):
        return 0
    value = int(text)
    return value if value <= MAX_POSITION else 0


def wait(
    line_code: str | None,
    queue: str | None,
    position: int,
    sid: str | None = None,
    queue_sid: str | None = None,
) -> str:
    """Twilio's waitUrl: position and estimated wait, then hold music.

    The caller at the head hears that they are about to be put through only while
    an agent of the line is available: never a promise nobody is there to keep.
    """
    flows = current_flows()
    settings = flows.call_flow.queue
    line = context.line(line_code)
    callback_queue = flows.callback_queue(line)
    holding = queue if flows.queue(queue or "") else line.queue
    # One round trip for all it reads: Twilio's word that the caller is in its queue
    # (the first time, offers are looked for), then the recent answers of the line (a
    # wait to announce) or whether an agent of the line is available (at the head).
    pipe = store.redis().pipeline(transaction=False)
    if sid:
        queueboard.confirm(pipe, holding, sid, queue_sid)
    if position > 1:
        queueboard.read_answer_times(pipe, [line.queue, callback_queue])
    elif position == 1:
        agent_states.read_serving(pipe, Status.AVAILABLE, line.queue)
    try:
        read = pipe.execute()
    except RedisError:
        log.exception("call %s: not confirmed in %s (the sweep will find it)", sid, holding)
        read = None
    if sid and read is not None and read.pop(0):  # the first time since queued
        _ask_for_offers(sid, holding)
    now = current_clock().local()
    texts = []
    if position > 1:
        if read is None:
            seconds = settings.fallback_seconds_per_caller * position
        else:
            seconds = queueboard.estimate(
                read,
                position,
                current_clock().now().timestamp(),
                settings.history_seconds,
                settings.fallback_seconds_per_caller,
            )
        texts.append(
            engine.phrase(
                flows,
                "queue_position",
                now,
                line.code,
                ahead=position - 1,
                minutes=max(1, math.ceil(seconds / 60)),
            )
        )
    elif position == 1 and read is not None and read[0]:
        texts.append(engine.phrase(flows, "queue_head", now, line.code))
    if queue == callback_queue:
        return twiml.hold(context.voice(), texts)
    leave = engine.phrase(
        flows, "queue_leave", now, line.code, key=engine.spoken_key(flows, settings.leave_key)
    )
    return twiml.hold(context.voice(), texts, leave, urls.same("ivr.queue_key", line=line.code))


def key_pressed(line_code: str | None, key: str) -> str:
    """The leave key takes the caller out of the queue (for a callback); any other, back."""
    if key == current_flows().call_flow.queue.leave_key:
        return twiml.leave()
    return twiml.redirect(urls.same("ivr.queue_wait", line=context.line(line_code).code))


def _ask_for_offers(sid: str, queue: str) -> None:
    """Twilio holds the caller in ``queue``: offers are looked for at once."""
    try:
        agent_shift.ask_for_offers()
    except RedisError:
        log.exception("call %s: in %s, but offers were not asked for (the sweep will)", sid, queue)
