"""Call state and the replies already given, in Redis with a time to live.

A turn costs two round trips here: ``begin`` (state, the cached reply for the
step, and a claim on the step) and ``finish`` (new state and reply). Each is one
script when it travels alone: redis-py spends more than half as many instructions
again on a pipeline of the same commands (counted under gevent: 339 against 195
thousand for the claim, 335 against 204 thousand for the two writes). A retried
webhook for a step already answered gets the same TwiML back and runs no effect
twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from redis import Redis

from live import keys


class CallRecord(Protocol):
    """What the IVR keeps per call (``ivr.call_state.CallState``): kept here as its JSON."""

    call_sid: str

    def to_json(self) -> str: ...


R = TypeVar("R", bound=CallRecord)
Decode = Callable[[str | bytes], R]

# Longer than Twilio waits for a reply (15 s): a claim outlives the request holding it.
CLAIM_SECONDS = 20
# How long a retry waits for the first request's reply before answering itself.
WAIT_FOR_FIRST = 3.0
AGENT_CALL_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Begun(Generic[R]):
    state: R | None
    reply: str | None
    claimed: bool


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def begin(redis: Redis, sid: str, step: int, decode: Decode[R]) -> Begun[R]:
    raw, reply, claimed = redis.eval(
        _BEGIN,
        3,
        keys.CALL_STATE.format(sid=sid),
        keys.CALL_REPLY.format(sid=sid, step=step),
        keys.CALL_CLAIM.format(sid=sid, step=step),
        CLAIM_SECONDS,
    )
    return Begun(
        state=decode(raw) if raw else None,
        reply=_text(reply),
        claimed=bool(claimed),
    )


def wait_for_reply(redis: Redis, sid: str, step: int, timeout: float = WAIT_FOR_FIRST):
    """The reply another request is producing for this step, if it comes in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = redis.get(keys.CALL_REPLY.format(sid=sid, step=step))
        if reply is not None:
            return _text(reply)
        time.sleep(0.05)
    return None


def load(redis: Redis, sid: str, decode: Decode[R]) -> R | None:
    raw = redis.get(keys.CALL_STATE.format(sid=sid))
    return decode(raw) if raw else None


def finish(
    redis: Redis, state: CallRecord, step: int, reply: str | None, ttl: int, pipe=None
) -> None:
    """Save the state and the reply given for ``step`` (with ``pipe``: queued on it)."""
    state_key = keys.CALL_STATE.format(sid=state.call_sid)
    reply_key = keys.CALL_REPLY.format(sid=state.call_sid, step=step)
    if pipe is None:
        written = (state_key, reply_key) if reply is not None else (state_key,)
        redis.eval(_FINISH, len(written), *written, ttl, state.to_json(), reply or "")
        return
    pipe.set(state_key, state.to_json(), ex=ttl)
    if reply is not None:
        pipe.set(reply_key, reply, ex=ttl)


# KEYS: the state, the step's reply, its claim. ARGV: the claim's seconds. Returns the
# state and the reply (nil where absent) and 1 when this request claimed the step.
_BEGIN = """
local claimed = redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1])
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), claimed and 1 or 0}
"""

# KEYS: the state and, if there is one, the step's reply. ARGV: seconds to live, the
# state, the reply.
_FINISH = """
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
if KEYS[2] then
    redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[1])
end
return 1
"""


def save(redis: Redis, state: CallRecord, ttl: int) -> None:
    redis.set(keys.CALL_STATE.format(sid=state.call_sid), state.to_json(), ex=ttl)


def remember_agent(redis: Redis, agent_call_sid: str, username: str) -> None:
    redis.set(keys.AGENT_CALL.format(sid=agent_call_sid), username, ex=AGENT_CALL_SECONDS)


def agent_of(redis: Redis, agent_call_sid: str) -> str | None:
    return _text(redis.get(keys.AGENT_CALL.format(sid=agent_call_sid)))


def read_ended(pipe, sid: str) -> None:
    """Queue on ``pipe`` what an ended call's status callback reads here: the call's
    state and, if ``sid`` is an agent's own leg, that agent (``ended``)."""
    pipe.get(keys.CALL_STATE.format(sid=sid))
    pipe.get(keys.AGENT_CALL.format(sid=sid))


def ended(results: list, decode: Decode[R]) -> tuple[R | None, str | None]:
    """The state and the agent ``read_ended`` read, decoded."""
    raw, agent = results
    return (decode(raw) if raw else None), _text(agent)
