"""While a caller holds: where they are in the queue, about how long, and the key to leave.

Twilio fetches the Enqueue's waitUrl document over and over while the caller
waits; a key pressed during its hold music comes back here too. A caller waiting
for a callback is already on one: they are not offered to leave for another.
"""

from __future__ import annotations

import math

from flask import url_for
from redis.exceptions import RedisError

from ivr import context, engine, twiml
from live import queueboard, store
from runtime import current_clock, current_flows

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


def wait(line_code: str | None, queue: str | None, position: int) -> str:
    """Twilio's waitUrl: position and estimated wait (not at the head), then hold music."""
    flows = current_flows()
    settings = flows.call_flow.queue
    line = context.line(line_code)
    callback_queue = flows.callback_queue(line)
    now = current_clock().local()
    texts = []
    if position > 1:
        try:
            seconds = queueboard.estimated_wait(
                store.redis(),
                [line.queue, callback_queue],
                position,
                current_clock().now().timestamp(),
                settings.history_seconds,
                settings.fallback_seconds_per_caller,
            )
        except RedisError:
            seconds = settings.fallback_seconds_per_caller * position
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
    elif position == 1:
        texts.append(engine.phrase(flows, "queue_head", now, line.code))
    if queue == callback_queue:
        return twiml.hold(context.voice(), texts)
    leave = engine.phrase(
        flows, "queue_leave", now, line.code, key=engine.spoken_key(flows, settings.leave_key)
    )
    return twiml.hold(context.voice(), texts, leave, url_for("ivr.queue_key", line=line.code))


def key_pressed(line_code: str | None, key: str) -> str:
    """The leave key takes the caller out of the queue (for a callback); any other, back."""
    if key == current_flows().call_flow.queue.leave_key:
        return twiml.leave()
    return twiml.redirect(url_for("ivr.queue_wait", line=context.line(line_code).code))
