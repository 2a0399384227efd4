"""Offers: a waiting caller reserved for one agent while the agent's phone rings (SPEC §6).

``hotline:offer:{sid}`` holds the offer of caller ``sid`` (which agent, which queue
and line, when), with a time to live well past the ring: while it stands, nobody
else is offered that caller. ``reserve`` makes the offer and sets the agent
``offered`` at once (``live.agent_states.change`` watching both keys):
two processes never offer one caller twice, nor give one agent two calls.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from redis import Redis

from domain import agent_states as rules
from live import agent_states, keys


@dataclass(frozen=True, slots=True)
class Offer:
    call_sid: str
    agent: str
    queue: str
    line: str
    # Unix time the offer was made, and when its ring ends.
    at: float
    expires: float


class Taken(rules.Refused):
    """The caller is being offered to someone else already."""

    def __init__(self, call_sid: str):
        super().__init__("taken", f"call {call_sid} is offered already")


def key(call_sid: str) -> str:
    return keys.OFFER.format(sid=call_sid)


def reserve(redis: Redis, offer: Offer, now: datetime, keep_seconds: int) -> agent_states.Change:
    """Reserve the caller and set the agent offered, atomically; ``Refused`` if either is gone."""
    offer_key = key(offer.call_sid)

    def free(found: dict) -> None:
        if found[offer_key] is not None:
            raise Taken(offer.call_sid)

    def keep(writes: agent_states.Writes, _before, _after) -> None:
        writes.set(offer_key, json.dumps(asdict(offer)), ex=keep_seconds)

    return agent_states.change(
        redis,
        offer.agent,
        lambda state: rules.offer(state, offer.call_sid, now),
        watch=(offer_key,),
        guard=free,
        also=keep,
    )


def get(redis: Redis, call_sid: str) -> Offer | None:
    return parse(redis.get(key(call_sid)))


def read(pipe, call_sid: str) -> None:
    """Queue on ``pipe`` the read of ``get``; its result goes to ``parse``."""
    pipe.get(key(call_sid))


def parse(raw: str | bytes | None) -> Offer | None:
    """An offer as ``get`` reads it, from the raw value at ``key(call_sid)``."""
    if raw is None:
        return None
    try:
        return Offer(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def taken(redis: Redis, call_sids: list[str]) -> set[str]:
    """Which of these callers are being offered now."""
    if not call_sids:
        return set()
    found = redis.mget([key(sid) for sid in call_sids])
    return {sid for sid, value in zip(call_sids, found, strict=True) if value is not None}


def settled(redis: Redis, call_sid: str) -> None:
    """The offer is over (answered, missed or called off): the caller is free of it."""
    redis.delete(key(call_sid))
