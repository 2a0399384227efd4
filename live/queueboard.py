"""The queues now, in Redis: who is waiting, how fast agents answer, callbacks pending.

The IVR writes here as calls enter and leave Twilio's queues; the supervisor
dashboard and ``/api/queues`` read ``snapshot()``. What was counted of each call is
marked once (a retried webhook finds its mark), and a snapshot costs a fixed number
of Redis operations per queue. The day's counts — offered, answered, abandoned,
the service level — are the interval history's in SQL (``services.interval_history``),
which a Redis loss does not touch.

Keys, per Twilio queue name ``Q``:

- ``hotline:queue:Q:waiting`` — ZSET call sid → unix time it entered the queue
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

# A call's markers outlive any queue wait.
CALL_TTL = 86400
# A caller still listed after this long lost their leave notification; not waiting.
STALE_SECONDS = 6 * 3600
# Twilio's QueueResults that are not a way out of the queue.
NOT_LEFT = frozenset({"bridged", "redirected", "bridging-in-process"})


def _key(queue: str, part: str) -> str:
    return keys.QUEUE_PART.format(queue=queue, part=part)


def _first(redis: Redis, sid: str, marker: str, value: str) -> bool:
    """Mark ``marker`` on the call once; True the first time."""
    key = keys.QUEUE_CALL.format(sid=sid)
    pipe = redis.pipeline(transaction=False)
    pipe.hsetnx(key, marker, value)
    pipe.expire(key, CALL_TTL)
    first, _ = pipe.execute()
    return bool(first)


def enqueued(redis: Redis, queue: str, sid: str, at: float) -> bool:
    """The caller was put in ``queue``; listed as waiting once."""
    if not _first(redis, sid, f"in:{queue}", repr(at)):
        return False
    pipe = redis.pipeline(transaction=False)
    waiting = _key(queue, "waiting")
    pipe.zremrangebyscore(waiting, "-inf", at - STALE_SECONDS)
    pipe.zadd(waiting, {sid: at}, nx=True)
    pipe.execute()
    return True


def entered_at(redis: Redis, queue: str, sid: str) -> float | None:
    return redis.zscore(_key(queue, "waiting"), sid)


def answered(redis: Redis, queue: str, sid: str, at: float, history_size: int) -> bool:
    """An agent took the caller: no longer waiting, and an answer to time the next by; once."""
    if not _first(redis, sid, f"out:{queue}", "answered"):
        return False
    pipe = redis.pipeline(transaction=False)
    pipe.zrem(_key(queue, "waiting"), sid)
    pipe.lpush(_key(queue, "answers"), repr(at))
    pipe.ltrim(_key(queue, "answers"), 0, history_size - 1)
    pipe.execute()
    return True


def left(redis: Redis, queue: str, sid: str, result: str) -> bool:
    """The caller left ``queue`` without an agent (Twilio's QueueResult); True the first time."""
    pipe = redis.pipeline(transaction=False)
    pipe.zrem(_key(queue, "waiting"), sid)
    pipe.execute()
    return result not in NOT_LEFT and _first(redis, sid, f"out:{queue}", result)


def gone(redis: Redis, queues: Iterable[str], sid: str) -> list[str]:
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
            left(redis, queue, sid, "hangup")
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
class QueueNow:
    name: str
    waiting: int
    # How long the caller waiting longest has waited (0 when nobody waits).
    longest_wait_seconds: int
    callbacks_pending: int

    def as_dict(self) -> dict:
        return asdict(self)


def snapshot(redis: Redis, queues: Sequence[str], now: float) -> list[QueueNow]:
    """``queues`` now: three Redis operations per queue, one round trip."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.zcard(_key(queue, "waiting"))
        pipe.zrange(_key(queue, "waiting"), 0, 0, withscores=True)
        pipe.scard(_key(queue, "callbacks"))
    results = pipe.execute()
    out = []
    for i, queue in enumerate(queues):
        waiting, head, callbacks = results[3 * i : 3 * i + 3]
        out.append(
            QueueNow(
                name=queue,
                waiting=waiting,
                longest_wait_seconds=max(0, int(now - head[0][1])) if head else 0,
                callbacks_pending=callbacks,
            )
        )
    return out
