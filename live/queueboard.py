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
- ``hotline:queuecall:SID`` — HASH of what has been counted for one call, what an agent
  may see of the caller and what their screen-pop is built from, whether Twilio has
  confirmed the caller in its queue (a waitUrl came, with its QueueSid) and whether an
  offer of the caller to an agent failed (they go first)
- ``hotline:queues:sids`` — HASH queue name → Twilio's QueueSid, learnt from webhooks
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


@dataclass(frozen=True, slots=True)
class Caller:
    """What the IVR knew of a caller as they were queued: for the queue panel and the offer.

    ``name`` is masked already; ``caller`` (E.164, None when withheld) is only ever
    shown masked, on the screen-pop.
    """

    name: str | None = None
    service: str | None = None
    tier: str | None = None
    verified: bool = False
    policyholder_id: str | None = None
    insured_id: str | None = None
    line: str | None = None
    caller: str | None = None


DETAILS = ("name", "service", "tier", "verified", "policyholder_id", "insured_id", "line", "caller")


def describe(redis: Redis, sid: str, caller: Caller) -> None:
    """What an agent may see of a waiting caller, and what their screen-pop is built from."""
    key = keys.QUEUE_CALL.format(sid=sid)
    values = {name: getattr(caller, name) for name in DETAILS}
    values["verified"] = "1" if caller.verified else ""
    pipe = redis.pipeline(transaction=False)
    pipe.hset(key, mapping={name: value or "" for name, value in values.items()})
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
    # Twilio confirmed the caller in its queue (a waitUrl came): they may be offered.
    queued: bool = False
    # An earlier offer of this caller failed: they go first.
    missed: bool = False
    details: Caller = Caller()


def _text(value) -> str:
    return (value.decode() if isinstance(value, bytes) else value) or ""


def waiting(redis: Redis, queues: Sequence[str], now: float) -> list[Waiting]:
    """Everyone listed as waiting in ``queues``, longest wait first (stale entries skipped)."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.zrangebyscore(_key(queue, "waiting"), now - STALE_SECONDS, "+inf", withscores=True)
    listed = [
        (queue, _text(sid), at)
        for queue, entries in zip(queues, pipe.execute(), strict=True)
        for sid, at in entries
    ]
    for _queue, sid, _at in listed:
        pipe.hmget(keys.QUEUE_CALL.format(sid=sid), *DETAILS, "queued", "missed")
    out = []
    for (queue, sid, at), found in zip(listed, pipe.execute(), strict=True):
        values = dict(zip((*DETAILS, "queued", "missed"), map(_text, found), strict=True))
        details = Caller(
            **{name: values[name] or None for name in DETAILS if name != "verified"},
            verified=bool(values["verified"]),
        )
        out.append(
            Waiting(
                queue,
                sid,
                at,
                values["name"],
                values["service"] or None,
                values["tier"] or None,
                queued=bool(values["queued"]),
                missed=bool(values["missed"]),
                details=details,
            )
        )
    out.sort(key=lambda w: w.entered_at)
    return out


# -- Twilio's queues, as the distribution needs them --------------------------------------


def confirmed(redis: Redis, queue: str, sid: str, queue_sid: str | None) -> bool:
    """Twilio asked for the caller's waitUrl: the caller is in its queue (``queue_sid``).

    True the first time since the caller was (re)queued: the moment to offer them. A
    caller dropped from the list meanwhile (checked against Twilio's members while
    being queued again) is listed again, at the time they first entered the queue.
    """
    key = keys.QUEUE_CALL.format(sid=sid)
    pipe = redis.pipeline(transaction=False)
    pipe.hsetnx(key, "queued", queue_sid or "1")
    pipe.hget(key, f"in:{queue}")
    pipe.expire(key, CALL_TTL)
    if queue_sid:
        pipe.hset(keys.QUEUE_SIDS, queue, queue_sid)
    first, entered = pipe.execute()[:2]
    if first and entered is not None:
        redis.zadd(_key(queue, "waiting"), {sid: float(entered)}, nx=True)
    return bool(first)


def requeued(redis: Redis, queue: str, sid: str, entered_at: float) -> None:
    """An offer failed and the caller is back in ``queue``, at the place they had.

    Not counted again; marked to go first, and not offered before Twilio confirms
    them in the queue again.
    """
    key = keys.QUEUE_CALL.format(sid=sid)
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(_key(queue, "waiting"), {sid: entered_at})
    pipe.hset(key, "missed", "1")
    pipe.hdel(key, "queued")
    pipe.expire(key, CALL_TTL)
    pipe.execute()


def unconfirmed(redis: Redis, sid: str) -> None:
    """Twilio did not find the caller in its queue: not offered until it is seen there again."""
    redis.hdel(keys.QUEUE_CALL.format(sid=sid), "queued")


def found_waiting(redis: Redis, queue: str, sid: str, entered_at: float, queue_sid: str) -> bool:
    """A caller Twilio holds that the board lost (Redis restarted): listed again, not counted."""
    key = keys.QUEUE_CALL.format(sid=sid)
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(_key(queue, "waiting"), {sid: entered_at}, nx=True)
    pipe.hset(key, "queued", queue_sid)
    pipe.expire(key, CALL_TTL)
    added = pipe.execute()[0]
    return bool(added)


def forget_waiting(redis: Redis, queue: str, sid: str) -> None:
    """A caller listed here is no longer in Twilio's queue (their leave notification was lost)."""
    redis.zrem(_key(queue, "waiting"), sid)


def learn_sid(redis: Redis, queue: str, queue_sid: str) -> None:
    redis.hset(keys.QUEUE_SIDS, queue, queue_sid)


def sids(redis: Redis) -> dict[str, str]:
    """Twilio's QueueSid of each queue learnt so far."""
    return {_text(name): _text(sid) for name, sid in redis.hgetall(keys.QUEUE_SIDS).items()}


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


def heads(redis: Redis, queues: Sequence[str], now: float) -> dict[str, tuple[int, float | None]]:
    """Per queue: how many wait, and when the longest-waiting caller came in.

    Entries older than ``STALE_SECONDS`` are callers whose leave notification was
    lost: skipped, as ``waiting`` skips them.
    """
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.zcount(_key(queue, "waiting"), now - STALE_SECONDS, "+inf")
        pipe.zrangebyscore(
            _key(queue, "waiting"), now - STALE_SECONDS, "+inf", start=0, num=1, withscores=True
        )
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
        # Callers listed longer than STALE_SECONDS lost their leave notification: not waiting.
        pipe.zcount(_key(queue, "waiting"), now - STALE_SECONDS, "+inf")
        pipe.zrangebyscore(
            _key(queue, "waiting"), now - STALE_SECONDS, "+inf", start=0, num=1, withscores=True
        )
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
