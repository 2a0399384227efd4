"""Agents' states in Redis (SPEC §6), changed atomically by the rules of ``domain.agent_states``.

Keys (``live.keys``):

- ``hotline:agent:{agent}:state`` — the agent's state, JSON;
- ``hotline:agents:in:{status}`` — ZSET username → unix time the status began: who has
  been available longest, who is wrapping up or ringing (for the sweep);
- ``hotline:agent:{agent}:desk`` — the desk's heartbeat, expiring when the desk is gone;
- ``hotline:agents:kept`` — set once the states are here; its absence means Redis lost
  them (a restart without persistence), and the sweep restores them from the SQL log.

Every change is optimistic: read the agent's key (and any other the change depends
on), apply the rule, then write the new state and the index together in one script
that first checks those keys still hold what was read — and start again if another
process changed them meanwhile. Any number of web processes and workers may change one
agent at once; none overwrites a change it did not see. (Until the fourteenth round of
issue 14 this was ``WATCH``/``MULTI``/``EXEC``: four round trips for an offer, three
for most changes, against two now.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from domain.agent_states import AgentState, Status
from live import keys

Rule = Callable[[AgentState], AgentState]
# Retries of a transaction another process keeps winning before giving up (an error).
ATTEMPTS = 100


@dataclass(frozen=True, slots=True)
class Change:
    username: str
    before: AgentState
    after: AgentState

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def new_spell(self) -> bool:
        """A new status began (what the SQL log records), not just ``next`` or the wrap-up."""
        return (self.before.status, self.before.since, self.before.reason) != (
            self.after.status,
            self.after.since,
            self.after.reason,
        )


def state_key(username: str) -> str:
    return keys.AGENT_STATE.format(agent=username)


def index_key(status: Status | str) -> str:
    return keys.AGENTS_IN.format(status=status)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def encode(state: AgentState) -> str:
    return json.dumps(
        {
            "status": str(state.status),
            "since": _moment(state.since),
            "reason": state.reason,
            "next": str(state.next) if state.next else None,
            "next_reason": state.next_reason,
            "call_sid": state.call_sid,
            "leg": state.leg,
            "wrap_up_until": _moment(state.wrap_up_until),
            "extended": state.extended,
            "queues": list(state.queues),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(raw: bytes | str | None) -> AgentState:
    if raw is None:
        return AgentState()
    try:
        data = json.loads(raw)
        return AgentState(
            status=Status(data["status"]),
            since=datetime.fromisoformat(data["since"]) if data.get("since") else None,
            reason=data.get("reason"),
            next=Status(data["next"]) if data.get("next") else None,
            next_reason=data.get("next_reason"),
            call_sid=data.get("call_sid"),
            leg=data.get("leg"),
            wrap_up_until=(
                datetime.fromisoformat(data["wrap_up_until"]) if data.get("wrap_up_until") else None
            ),
            extended=bool(data.get("extended")),
            queues=tuple(data.get("queues") or ()),
        )
    except (ValueError, KeyError, TypeError):
        # A value this code did not write: the agent is offline rather than the page failing.
        return AgentState()


def get(redis: Redis, username: str) -> AgentState:
    return decode(redis.get(state_key(username)))


def get_many(redis: Redis, usernames: Sequence[str]) -> dict[str, AgentState]:
    if not usernames:
        return {}
    raw = redis.mget([state_key(name) for name in usernames])
    return {name: decode(value) for name, value in zip(usernames, raw, strict=True)}


def change(
    redis: Redis,
    username: str,
    rule: Rule,
    *,
    watch: Iterable[str] = (),
    guard: Callable[[dict[str, bytes | None]], None] | None = None,
    also: Callable[[Writes, AgentState, AgentState], None] | None = None,
) -> Change:
    """Apply ``rule`` to ``username``'s state atomically; the rule's ``Refused`` propagates.

    ``watch`` are other keys (strings) the change depends on; ``guard(found)`` sees what
    they held (key → value, None when absent) and may refuse; ``also(writes, before,
    after)`` adds writes made together with the state's. The writes are made only if
    the agent's key and the watched ones still hold what was read; else all is read
    and decided again. A rule that returns the state unchanged writes nothing.
    """
    key = state_key(username)
    read = (key, *watch)
    for _ in range(ATTEMPTS):
        found = redis.mget(read)
        if guard is not None:
            guard(dict(zip(watch, found[1:], strict=True)))
        before = decode(found[0])
        after = rule(before)
        if after == before:
            return Change(username, before, after)
        writes = Writes()
        writes.set(key, encode(after))
        if (before.status, before.since) != (after.status, after.since):
            writes.zrem(index_key(before.status), username)
            writes.zadd(index_key(after.status), {username: after.since.timestamp()})
        if also is not None:
            also(writes, before, after)
        if writes.made_if(redis, dict(zip(read, found, strict=True))):
            return Change(username, before, after)
    raise RuntimeError(f"agent {username}: state changed by others {ATTEMPTS} times in a row")


class Writes:
    """The writes of one change, made by one script if the keys read are unchanged."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, str, str, str]] = []  # (op, key, value, extra)

    def set(self, key: str, value: str, ex: int | None = None) -> None:
        self.ops.append(("set", key, value, str(ex or 0)))

    def zrem(self, key: str, member: str) -> None:
        self.ops.append(("zrem", key, member, ""))

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self.ops += [("zadd", key, member, repr(float(at))) for member, at in mapping.items()]

    def made_if(self, redis: Redis, expected: dict[str, bytes | str | None]) -> bool:
        """Make the writes if each key of ``expected`` holds its value (None: absent)."""
        keys = list(expected)
        keys += list(dict.fromkeys(key for _, key, _, _ in self.ops if key not in expected))
        slot = {key: i for i, key in enumerate(keys, 1)}
        args: list = [len(expected)]
        for value in expected.values():
            args += ("0", "") if value is None else ("1", value)
        for op, key, value, extra in self.ops:
            args += (op, slot[key], value, extra)
        return redis.eval(_SWAP, len(keys), *keys, *args) == 1


# KEYS: the keys read (their expected values in ARGV after their count), then the others
# written. ARGV: the count read; per key read '1' and its value, or '0' and '' (absent);
# then the writes, four arguments each: set KEY-INDEX VALUE EX (0: none), zrem INDEX
# MEMBER '', zadd INDEX MEMBER SCORE. Returns 1 when written, 0 when a key had changed.
_SWAP = """
local read = tonumber(ARGV[1])
for i = 1, read do
  local now = redis.call('GET', KEYS[i])
  if ARGV[2 * i] == '1' then
    if now ~= ARGV[2 * i + 1] then return 0 end
  elseif now then
    return 0
  end
end
for i = 2 * read + 2, #ARGV, 4 do
  local op, key, value, extra = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if op == 'set' then
    if extra ~= '0' then
      redis.call('SET', key, value, 'EX', extra)
    else
      redis.call('SET', key, value)
    end
  elseif op == 'zrem' then
    redis.call('ZREM', key, value)
  elseif op == 'zadd' then
    redis.call('ZADD', key, extra, value)
  end
end
return 1
"""


def in_status(redis: Redis, status: Status, until: float | None = None) -> list[tuple[str, float]]:
    """Agents in ``status`` (since no later than ``until``), longest in it first."""
    return named(read_in_status(redis, status, until))


def read_in_status(target, status: Status, until: float | None = None):
    """``in_status``'s read on ``target``: a client (its entries), or a pipeline (queued)."""
    return target.zrangebyscore(
        index_key(status), "-inf", "+inf" if until is None else until, withscores=True
    )


def read_serving(target, status: Status, queue: str):
    """Whether an agent in ``status`` serves ``queue``, on ``target``: a client (1 or 0),
    or a pipeline (queued). Read in Redis, longest in the status first: a caller at the
    head of the queue asks this on every wait, and reading the agents' states here to
    find one cost a round trip and a decode per agent signed in. (The script builds the
    state keys itself: one Redis, not a cluster.)"""
    before, after = keys.AGENT_STATE.split("{agent}")
    return target.eval(_SERVING, 1, index_key(status), before, after, str(status), queue)


_SERVING = """
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('GET', ARGV[1] .. name .. ARGV[2])
  local ok, state = pcall(cjson.decode, raw or '')
  if ok and type(state) == 'table' and state.status == ARGV[3]
      and type(state.queues) == 'table' then
    for _, queue in ipairs(state.queues) do
      if queue == ARGV[4] then return 1 end
    end
  end
end
return 0
"""


def serving_in(redis: Redis, status: Status) -> list[tuple[str, float, tuple[str, ...]]]:
    """(username, since, queues) of the agents in ``status`` by their states, longest in it
    first: what the distribution plans with. Read in Redis (as ``read_serving``): the
    agents' whole states read and decoded here cost the distribution's plan more than
    half of its CPU."""
    before, after = keys.AGENT_STATE.split("{agent}")
    found = redis.eval(_IN_STATUS, 1, index_key(status), before, after, str(status))
    out = []
    for i in range(0, len(found), 3):
        name, since, queues = found[i : i + 3]
        try:
            served = tuple(str(q) for q in json.loads(queues))  # '{}': cjson's empty list
        except (ValueError, TypeError):
            served = ()
        out.append((_text(name), float(since), served))
    return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_IN_STATUS = """
local out = {}
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local name = entries[i]
  local raw = redis.call('GET', ARGV[1] .. name .. ARGV[2])
  local ok, state = pcall(cjson.decode, raw or '')
  if ok and type(state) == 'table' and state.status == ARGV[3] then
    local queues = {}
    if type(state.queues) == 'table' then queues = state.queues end
    out[#out + 1] = name
    out[#out + 1] = entries[i + 1]
    out[#out + 1] = cjson.encode(queues)
  end
end
return out
"""


def named(entries) -> list[tuple[str, float]]:
    """(username, since) of what ``read_in_status`` read."""
    return [(_text(name), at) for name, at in entries]


# -- the desk's heartbeat ------------------------------------------------------------------


def desk_seen(redis: Redis, username: str, seconds: int) -> None:
    """The agent's desk is open; gone once ``seconds`` pass without another word."""
    redis.set(keys.AGENT_DESK.format(agent=username), "1", ex=max(1, int(seconds)))


def desks_open(redis: Redis, usernames: Sequence[str]) -> set[str]:
    pipe = redis.pipeline(transaction=False)
    for name in usernames:
        pipe.exists(keys.AGENT_DESK.format(agent=name))
    return {name for name, found in zip(usernames, pipe.execute(), strict=True) if found}


# -- after a loss of Redis -----------------------------------------------------------------


def kept(redis: Redis) -> bool:
    return bool(redis.exists(keys.AGENTS_KEPT))


def restore(redis: Redis, states: dict[str, AgentState]) -> int:
    """Put back states Redis lost (an agent with a state here keeps it); then mark them kept."""
    restored = 0
    for username, state in states.items():
        if state.since is None:
            continue
        done = change(redis, username, lambda now, lost=state: lost if now.since is None else now)
        restored += done.changed
    redis.set(keys.AGENTS_KEPT, "1")
    return restored
