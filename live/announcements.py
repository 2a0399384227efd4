"""The seam between the telephone side and the agent's screen.

When a caller is offered to an agent (the distribution, SPEC §6) or an agent's
phone takes one from the queue (the IVR), a ``CallTaken`` is announced here; the
agent desk reads the agent's stream and turns it into a screen-pop. Neither side
imports the other: this module and Redis are all they share.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis import Redis

from live import keys

# An agent's recent calls, newest last; stream ids double as SSE event ids.
STREAM_LENGTH = 100


@dataclass(frozen=True, slots=True)
class CallTaken:
    call_sid: str
    agent: str
    verified: bool
    # The authenticated policyholder, or None for an unverified caller.
    policyholder_id: str | None
    insured_id: str | None
    service: str | None
    line: str
    queue: str
    queue_seconds: int
    # The caller ID as Twilio gave it (E.164), or None when withheld.
    caller: str | None
    taken_at: str  # ISO 8601, with offset
    # An offer: the agent's phone rings for ``expires_in`` seconds, and they may not answer.
    offer: bool = False
    expires_in: int | None = None


def stream_key(agent: str) -> str:
    return keys.AGENT_CALLS.format(agent=agent)


def announce(redis: Redis, event: CallTaken) -> str:
    """Append ``event`` to the agent's stream; returns the stream id."""
    entry_id = redis.xadd(
        stream_key(event.agent),
        {"call": json.dumps(asdict(event), ensure_ascii=False)},
        maxlen=STREAM_LENGTH,
        approximate=True,
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def decode(fields: dict) -> CallTaken:
    raw = fields.get(b"call", fields.get("call"))
    return CallTaken(**json.loads(raw))
