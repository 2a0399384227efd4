"""Server-sent events on the wire: an event, a comment, the reconnection delay.

Both streams (the agent's ``/agent/events``, the supervisor's ``/supervisor/events``)
and the answer a stream gets while a backend is down (``agent_assist.errors``) are
written with these.
"""

from __future__ import annotations

import json


def message(event: str, data: object, event_id: str | None = None) -> str:
    lines = []
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    # json.dumps never writes a newline without indent, so one data line suffices.
    lines.append(f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}")
    return "\n".join(lines) + "\n\n"


def comment(text: str) -> str:
    return f": {text}\n\n"


def retry(milliseconds: int) -> str:
    """How long the browser waits before it reconnects, once the stream ends."""
    return f"retry: {int(milliseconds)}\n\n"
