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

# A call's markers outlive any queue wait.
CALL_TTL = 86400
# A caller still listed after this long lost their leave notification; not waiting.
STALE_SECONDS = 6 * 3600
# Twilio's QueueResults that are not a way out of the queue.
NOT_LEFT = frozenset({"bridged", "redirected", "bridging-in-process"})


def _key(queue: str, part: str) -> str:
    return keys.QUEUE_PART.format(queue=queue, part=part)


# The writes that depend on a mark made once are Lua scripts: one round trip each, where a
# mark and then the writes it allows were two, and under gevent every round trip lets the
# worker's other requests run first. Sent whole (EVAL): Redis keeps the compiled script by
# its digest, and a Redis restarted without it needs nothing loaded again.
# KEYS: the call's hash, the queue's waiting set. ARGV: the mark, its value, the hash's time
# to live, the oldest entry time kept, the call sid.
_ENQUEUED = """
local first = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if first == 1 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[5])
end
return first
"""


def enqueued(redis: Redis, queue: str, sid: str, at: float, pipe=None) -> bool | None:
    """The caller was put in ``queue``; listed as waiting once (True the first time).

    With ``pipe``: queued on it (a turn's pipeline, written with its reply); returns None.
    """
    target = pipe if pipe is not None else redis
    found = target.eval(
        _ENQUEUED,
        2,
        keys.QUEUE_CALL.format(sid=sid),
        _key(queue, "waiting"),
        f"in:{queue}",
        repr(at),
        CALL_TTL,
        repr(at - STALE_SECONDS),
        sid,
    )
    return None if pipe is not None else bool(found)


def entered_at(redis: Redis, queue: str, sid: str) -> float | None:
    return redis.zscore(_key(queue, "waiting"), sid)


# KEYS: the call's hash, the queue's waiting set, its answer times. ARGV: the mark, the
# hash's time to live, the call sid, the answer time, how many answer times are kept.
_ANSWERED = """
local first = redis.call('HSETNX', KEYS[1], ARGV[1], 'answered')
redis.call('EXPIRE', KEYS[1], ARGV[2])
if first == 1 then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
end
return first
"""


def answered(redis: Redis, queue: str, sid: str, at: float, history_size: int) -> bool:
    """An agent took the caller: no longer waiting, and an answer to time the next by; once."""
    first = redis.eval(
        _ANSWERED,
        3,
        keys.QUEUE_CALL.format(sid=sid),
        _key(queue, "waiting"),
        _key(queue, "answers"),
        f"out:{queue}",
        CALL_TTL,
        sid,
        repr(at),
        history_size,
    )
    return bool(first)


def left(redis: Redis, queue: str, sid: str, result: str) -> bool:
    """The caller left ``queue`` without an agent (Twilio's QueueResult); True the first time."""
    waiting = _key(queue, "waiting")
    if result in NOT_LEFT:
        redis.zrem(waiting, sid)
        return False
    # A script rather than a pipeline of its three commands: fewer instructions in redis-py.
    first = redis.eval(
        _LEFT, 2, waiting, keys.QUEUE_CALL.format(sid=sid), sid, f"out:{queue}", result, CALL_TTL
    )
    return bool(first)


# KEYS: the queue's waiting set, the call's hash. ARGV: the call sid, the mark, its value,
# the hash's time to live.
_LEFT = """
redis.call('ZREM', KEYS[1], ARGV[1])
local first = redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return first
"""


def waiting_scores(pipe, queues: Iterable[str], sid: str) -> None:
    """Queue on ``pipe`` the reads ``gone`` needs (its ``scores``), one per queue."""
    for queue in queues:
        pipe.zscore(_key(queue, "waiting"), sid)


def gone(redis: Redis, queues: Iterable[str], sid: str, scores: list | None = None) -> list[str]:
    """The call ended: if it is still listed as waiting anywhere, it was abandoned there.

    Returns the queues it was abandoned in. ``scores``: what ``waiting_scores`` read,
    when the caller read it with other things in one round trip.
    """
    queues = list(queues)
    if scores is None:
        pipe = redis.pipeline(transaction=False)
        waiting_scores(pipe, queues, sid)
        scores = pipe.execute()
    abandoned = []
    for queue, score in zip(queues, scores, strict=True):
        if score is not None:
            left(redis, queue, sid, "hangup")
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


def describe(redis: Redis, sid: str, caller: Caller, pipe=None) -> None:
    """What an agent may see of a waiting caller, and what their screen-pop is built from.

    With ``pipe``: queued on it (a turn's pipeline, written with its reply).
    """
    key = keys.QUEUE_CALL.format(sid=sid)
    values = {name: getattr(caller, name) for name in DETAILS}
    values["verified"] = "1" if caller.verified else ""
    own = pipe is None
    pipe = pipe if pipe is not None else redis.pipeline(transaction=False)
    pipe.hset(key, mapping={name: value or "" for name, value in values.items()})
    pipe.expire(key, CALL_TTL)
    if own:
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


# KEYS: the call's hash, the queue's waiting set, the queues' Twilio sids. ARGV: the
# QueueSid (or '1'), the mark of the call's entry in the queue, the hash's time to live,
# the call sid, the queue's name, whether the QueueSid is known ('1' or '').
_CONFIRMED = """
local first = redis.call('HSETNX', KEYS[1], 'queued', ARGV[1])
local entered = redis.call('HGET', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[1])
end
if first == 1 and entered then
  redis.call('ZADD', KEYS[2], 'NX', entered, ARGV[4])
end
return first
"""


def confirmed(redis: Redis, queue: str, sid: str, queue_sid: str | None) -> bool:
    """Twilio asked for the caller's waitUrl: the caller is in its queue (``queue_sid``).

    True the first time since the caller was (re)queued: the moment to offer them. A
    caller dropped from the list meanwhile (checked against Twilio's members while
    being queued again) is listed again, at the time they first entered the queue.
    """
    return bool(confirm(redis, queue, sid, queue_sid))


def confirm(target, queue: str, sid: str, queue_sid: str | None):
    """``confirmed``'s script on ``target``: a client (its reply), or a pipeline (queued)."""
    return target.eval(
        _CONFIRMED,
        3,
        keys.QUEUE_CALL.format(sid=sid),
        _key(queue, "waiting"),
        keys.QUEUE_SIDS,
        queue_sid or "1",
        f"in:{queue}",
        CALL_TTL,
        sid,
        queue,
        "1" if queue_sid else "",
    )


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


def read_answer_times(pipe, queues: Sequence[str]) -> None:
    """Queue on ``pipe`` the reads ``estimate`` needs (its ``batches``), one per queue."""
    for queue in queues:
        pipe.lrange(_key(queue, "answers"), 0, -1)


def estimate(
    batches: Sequence[Sequence],
    position: int,
    now: float,
    history_seconds: int,
    fallback_seconds_per_caller: int,
) -> int:
    """Seconds until a caller at ``position`` is answered, from how fast agents answer.

    ``batches``: the answer times ``read_answer_times`` read for the line's queues (which
    the same agents serve). The mean interval between recent answers; without two recent
    answers, a configured guess per caller ahead.
    """
    times = sorted(
        (float(t) for batch in batches for t in batch if now - float(t) <= history_seconds),
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
        # Callers listed longer than STALE_SECONDS lost their leave notification: not waiting.
        pipe.zcount(_key(queue, "waiting"), now - STALE_SECONDS, "+inf")
        pipe.zrangebyscore(
            _key(queue, "waiting"), now - STALE_SECONDS, "+inf", start=0, num=1, withscores=True
        )
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
