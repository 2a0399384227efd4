"""Failed authentication tries across calls, per calling number and per policyholder.

Sliding windows in Redis sorted sets (member = call and step, score = time), so a
retried webhook records one failure, and old failures fall out of the window by
themselves. Numbers are hashed in key names: keys show up in monitoring tools.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from redis import Redis

from live import keys


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed authentication tries inside the window."""

    by_number: int = 0
    by_policyholder: Mapping[str, int] = field(default_factory=dict)


def _number_key(caller_key: str) -> str:
    digest = hashlib.sha256(caller_key.encode()).hexdigest()[:24]
    return keys.AUTH_NUMBER.format(digest=digest)


def failures(
    redis: Redis, caller_key: str, holder_ids: Sequence[str], now: float, window: int
) -> Failures:
    names = [_number_key(caller_key), *(keys.AUTH_HOLDER.format(id=i) for i in holder_ids)]
    pipe = redis.pipeline(transaction=False)
    for key in names:
        pipe.zcount(key, now - window, "+inf")
    counts = pipe.execute()
    return Failures(
        by_number=counts[0],
        by_policyholder=dict(zip(holder_ids, counts[1:], strict=True)),
    )


def record(
    redis: Redis,
    caller_key: str,
    holder_ids: Sequence[str],
    attempt: str,
    now: float,
    window: int,
    pipe=None,
) -> None:
    """Count one failed try (``attempt`` names it: a retry of the same try counts once)."""
    own = pipe is None
    pipe = pipe if pipe is not None else redis.pipeline(transaction=False)
    for key in (_number_key(caller_key), *(keys.AUTH_HOLDER.format(id=i) for i in holder_ids)):
        pipe.zremrangebyscore(key, "-inf", now - window)
        pipe.zadd(key, {attempt: now})
        pipe.expire(key, window)
    if own:
        pipe.execute()
