"""The degraded answer: what a caller hears when Redis, the database or a bug fails a webhook.

It needs neither Redis nor SQL: the line's hours come from the flows in memory,
and while the line is open Twilio holds the queue, so the caller still reaches a
person; when it is closed they hear its number and hours.
"""

from __future__ import annotations

from flask import url_for

from ivr import context, engine, twiml
from runtime import current_clock, current_flows


def answer(line_code: str | None = None) -> str:
    """A person if the line is open (Twilio keeps the queue), else its number and hours."""
    flows = current_flows()
    line = context.line(line_code)
    now = current_clock().local()
    say = [engine.phrase(flows, "degraded_transfer", now, line.code)]
    if line.is_open(now):
        return twiml.enqueue(
            context.voice(),
            say,
            line.queue,
            wait_url=url_for("ivr.queue_wait", line=line.code),
            done_url=url_for("ivr.queue_done", line=line.code),
        )
    return twiml.say_then(
        context.voice(), [engine.phrase(flows, "degraded_closed", now, line.code)]
    )
