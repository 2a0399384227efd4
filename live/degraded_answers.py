"""The day's degraded answers, per reason, summed over every web process.

Each process counts its own (``ivr.degraded``) and adds them here when Redis
answers; counts made while Redis was down are added once it is back.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis import Redis

from live import keys

# Kept a week: enough to look back at an incident.
KEEP_SECONDS = 8 * 24 * 3600


def add(redis: Redis, day: str, counts: Mapping[str, int]) -> None:
    key = keys.DEGRADED_ANSWERS.format(day=day)
    pipe = redis.pipeline(transaction=False)
    for reason, count in counts.items():
        pipe.hincrby(key, reason, count)
    pipe.expire(key, KEEP_SECONDS)
    pipe.execute()


def on(redis: Redis, day: str) -> dict[str, int]:
    raw = redis.hgetall(keys.DEGRADED_ANSWERS.format(day=day))
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in sorted(raw.items())}
