"""Live queue figures in Redis: who is waiting, and today's counts per queue.

The IVR writes here as calls enter and leave Twilio's queues; the supervisor
dashboard and ``/api/queues`` read ``snapshot()``. Every update is idempotent
per call and queue (a retried webhook counts once), and a snapshot costs a
fixed number of Redis operations per queue however long the day has been.

Keys, per Twilio queue name ``Q`` and local day ``D`` (Asia/Shanghai):

- ``hotline:queue:Q:waiting`` — ZSET call sid → unix time it entered the queue
- ``hotline:queue:Q:day:D`` — HASH offered, answered, answered_in_sl, abandoned,
  left_for_callback, failed, wait_total (seconds, answered calls)
- ``hotline:queue:Q:answers`` — LIST of recent answer times, newest first (throughput)
- ``hotline:queue:Q:callbacks`` — SET of pending callback ids
- ``hotline:queuecall:SID`` — HASH of what has been counted for one call
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from redis import Redis

from live import keys

# Days of figures kept; a call's markers outlive any queue wait.
DAY_TTL = 8 * 86400
CALL_TTL = 86400
# A caller still listed after this long lost their leave notification; not waiting.
STALE_SECONDS = 6 * 3600
COUNTERS = (
    "offered",
    "answered",
    "answered_in_sl",
    "abandoned",
    "left_for_callback",
    "failed",
)
# How a caller left a queue without an agent, as counted.
OUTCOMES = {
    "hangup": "abandoned",
    "leave": "left_for_callback",
    "queue-full": "failed",
    "error": "failed",
    "system-error": "failed",
    "redirected": None,
    "bridging-in-process": None,
}


def _key(queue: str, part: str) -> str:
    return keys.QUEUE_PART.format(queue=queue, part=part)


def _day(queue: str, day: str) -> str:
    return _key(queue, f"day:{day}")


def _first(redis: Redis, sid: str, marker: str, value: str) -> bool:
    """Mark ``marker`` on the call once; True the first time."""
    key = keys.QUEUE_CALL.format(sid=sid)
    pipe = redis.pipeline(transaction=False)
    pipe.hsetnx(key, marker, value)
    pipe.expire(key, CALL_TTL)
    first, _ = pipe.execute()
    return bool(first)


def enqueued(redis: Redis, queue: str, sid: str, at: float, day: str) -> bool:
    """The caller was put in ``queue``; counted as offered once."""
    if not _first(redis, sid, f"in:{queue}", repr(at)):
        return False
    pipe = redis.pipeline(transaction=False)
    waiting = _key(queue, "waiting")
    pipe.zremrangebyscore(waiting, "-inf", at - STALE_SECONDS)
    pipe.zadd(waiting, {sid: at}, nx=True)
    pipe.hincrby(_day(queue, day), "offered", 1)
    pipe.expire(_day(queue, day), DAY_TTL)
    pipe.execute()
    return True


def entered_at(redis: Redis, queue: str, sid: str) -> float | None:
    return redis.zscore(_key(queue, "waiting"), sid)


def answered(
    redis: Redis,
    queue: str,
    sid: str,
    at: float,
    day: str,
    wait_seconds: float,
    service_level_seconds: int,
    history_size: int,
) -> bool:
    """An agent took the caller: answered (within the service level or not), once."""
    if not _first(redis, sid, f"out:{queue}", "answered"):
        return False
    wait = max(0, round(wait_seconds))
    pipe = redis.pipeline(transaction=False)
    pipe.zrem(_key(queue, "waiting"), sid)
    pipe.hincrby(_day(queue, day), "answered", 1)
    if wait <= service_level_seconds:
        pipe.hincrby(_day(queue, day), "answered_in_sl", 1)
    pipe.hincrby(_day(queue, day), "wait_total", wait)
    pipe.expire(_day(queue, day), DAY_TTL)
    pipe.lpush(_key(queue, "answers"), repr(at))
    pipe.ltrim(_key(queue, "answers"), 0, history_size - 1)
    pipe.execute()
    return True


def left(redis: Redis, queue: str, sid: str, result: str, day: str) -> bool:
    """The caller left ``queue`` without an agent (Twilio's QueueResult), counted once."""
    counter = OUTCOMES.get(result, "failed")
    if result == "bridged":
        counter = None
    pipe = redis.pipeline(transaction=False)
    pipe.zrem(_key(queue, "waiting"), sid)
    pipe.execute()
    if counter is None or not _first(redis, sid, f"out:{queue}", result):
        return False
    pipe = redis.pipeline(transaction=False)
    pipe.hincrby(_day(queue, day), counter, 1)
    pipe.expire(_day(queue, day), DAY_TTL)
    pipe.execute()
    return True


def gone(redis: Redis, queues: Iterable[str], sid: str, day: str) -> list[str]:
    """The call ended: if it is still listed as waiting anywhere, it was abandoned there.

    Returns the queues it was abandoned in.
    """
    pipe = redis.pipeline(transaction=False)
    queues = list(queues)
    for queue in queues:
        pipe.zscore(_key(queue, "waiting"), sid)
    abandoned = []
    for queue, score in zip(queues, pipe.execute(), strict=True):
        if score is not None:
            left(redis, queue, sid, "hangup", day)
            abandoned.append(queue)
    return abandoned


# -- who is waiting (the agent desk's queue panel) -------------------------------------


def describe(
    redis: Redis, sid: str, name: str | None, service: str | None, tier: str | None
) -> None:
    """What an agent may see of a waiting caller: masked name, service, tier (never raw data)."""
    key = keys.QUEUE_CALL.format(sid=sid)
    pipe = redis.pipeline(transaction=False)
    pipe.hset(key, mapping={"name": name or "", "service": service or "", "tier": tier or ""})
    pipe.expire(key, CALL_TTL)
    pipe.execute()


@dataclass(frozen=True)
class Waiting:
    queue: str
    call_sid: str
    entered_at: float
    name: str
    service: str | None
    tier: str | None


def waiting(redis: Redis, queues: Sequence[str], now: float) -> list[Waiting]:
    """Everyone listed as waiting in ``queues``, longest wait first."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.zrangebyscore(_key(queue, "waiting"), now - STALE_SECONDS, "+inf", withscores=True)
    listed = [
        (queue, sid.decode() if isinstance(sid, bytes) else sid, at)
        for queue, entries in zip(queues, pipe.execute(), strict=True)
        for sid, at in entries
    ]
    for _queue, sid, _at in listed:
        pipe.hmget(keys.QUEUE_CALL.format(sid=sid), "name", "service", "tier")
    out = []
    for (queue, sid, at), details in zip(listed, pipe.execute(), strict=True):
        name, service, tier = (v.decode() if isinstance(v, bytes) else v for v in details)
        out.append(Waiting(queue, sid, at, name or "", service or None, tier or None))
    out.sort(key=lambda w: w.entered_at)
    return out


# -- callbacks -----------------------------------------------------------------------------


def callback_pending(redis: Redis, queue: str, callback_id: int) -> None:
    redis.sadd(_key(queue, "callbacks"), callback_id)


def callback_settled(redis: Redis, queue: str, callback_id: int) -> None:
    redis.srem(_key(queue, "callbacks"), callback_id)


def set_callbacks(redis: Redis, pending: dict[str, Iterable[int]]) -> None:
    """Replace the pending callbacks of each queue (the SQL record is the truth)."""
    pipe = redis.pipeline(transaction=True)
    for queue, ids in pending.items():
        key = _key(queue, "callbacks")
        pipe.delete(key)
        ids = list(ids)
        if ids:
            pipe.sadd(key, *ids)
    pipe.execute()


# -- reading -------------------------------------------------------------------------------


def heads(redis: Redis, queues: Sequence[str]) -> dict[str, tuple[int, float | None]]:
    """Per queue: how many wait, and when the longest-waiting caller came in."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.zcard(_key(queue, "waiting"))
        pipe.zrange(_key(queue, "waiting"), 0, 0, withscores=True)
    results = pipe.execute()
    out = {}
    for i, queue in enumerate(queues):
        count, head = results[2 * i], results[2 * i + 1]
        out[queue] = (count, head[0][1] if head else None)
    return out


def estimated_wait(
    redis: Redis,
    queues: Sequence[str],
    position: int,
    now: float,
    history_seconds: int,
    fallback_seconds_per_caller: int,
) -> int:
    """Seconds until a caller at ``position`` is answered, from how fast agents answer.

    The mean interval between recent answers in ``queues`` (the line's queues,
    which the same agents serve); without two recent answers, a configured
    guess per caller ahead.
    """
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.lrange(_key(queue, "answers"), 0, -1)
    times = sorted(
        (float(t) for batch in pipe.execute() for t in batch if now - float(t) <= history_seconds),
        reverse=True,
    )
    if len(times) >= 2 and times[0] > times[-1]:
        per_caller = (times[0] - times[-1]) / (len(times) - 1)
    else:
        per_caller = fallback_seconds_per_caller
    return max(1, math.ceil(per_caller * max(position, 1)))


@dataclass(frozen=True, slots=True)
class QueueFigures:
    name: str
    waiting: int
    longest_wait_seconds: int
    offered: int
    answered: int
    answered_in_sl: int
    abandoned: int
    left_for_callback: int
    failed: int
    wait_total_seconds: int
    average_wait_seconds: int | None
    # Answered within the service level ÷ offered, today; None before any call.
    service_level: float | None
    callbacks_pending: int

    def as_dict(self) -> dict:
        return asdict(self)


def snapshot(redis: Redis, queues: Sequence[str], now: float, day: str) -> list[QueueFigures]:
    """The figures of ``queues`` now: four Redis operations per queue, one round trip."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.zcard(_key(queue, "waiting"))
        pipe.zrange(_key(queue, "waiting"), 0, 0, withscores=True)
        pipe.hgetall(_day(queue, day))
        pipe.scard(_key(queue, "callbacks"))
    results = pipe.execute()
    out = []
    for i, queue in enumerate(queues):
        waiting, head, counts, callbacks = results[4 * i : 4 * i + 4]
        counts = {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in counts.items()}
        figures = {name: counts.get(name, 0) for name in COUNTERS}
        wait_total = counts.get("wait_total", 0)
        answered_count = figures["answered"]
        out.append(
            QueueFigures(
                name=queue,
                waiting=waiting,
                longest_wait_seconds=max(0, int(now - head[0][1])) if head else 0,
                wait_total_seconds=wait_total,
                average_wait_seconds=round(wait_total / answered_count) if answered_count else None,
                service_level=(
                    figures["answered_in_sl"] / figures["offered"] if figures["offered"] else None
                ),
                callbacks_pending=callbacks,
                **figures,
            )
        )
    return out
