"""Agent status (available / busy / wrap-up / offline), kept in Redis with the time it changed.

One hash holds every agent's status, so a supervisor's view of all agents is a
single ``HGETALL``. An agent with no entry is offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis import Redis

from live import keys


class Status(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap_up"
    OFFLINE = "offline"


LABELS = {
    Status.AVAILABLE: "空闲 Available",
    Status.BUSY: "通话中 Busy",
    Status.WRAP_UP: "话后处理 Wrap-up",
    Status.OFFLINE: "离线 Offline",
}


@dataclass(frozen=True, slots=True)
class AgentStatus:
    username: str
    status: Status
    # When the status last changed (aware); None for an agent never seen.
    since: datetime | None

    def as_dict(self, now: datetime | None = None) -> dict:
        out = {
            "username": self.username,
            "status": str(self.status),
            "since": self.since.isoformat() if self.since else None,
        }
        if now is not None:
            out["seconds"] = int((now - self.since).total_seconds()) if self.since else None
        return out


def _decode(username: str, raw: bytes | str | None) -> AgentStatus:
    if raw is None:
        return AgentStatus(username, Status.OFFLINE, None)
    try:
        data = json.loads(raw)
        return AgentStatus(username, Status(data["status"]), datetime.fromisoformat(data["since"]))
    except (ValueError, KeyError, TypeError):
        # A value this code did not write: treat the agent as offline rather than fail the page.
        return AgentStatus(username, Status.OFFLINE, None)


def get(redis: Redis, username: str) -> AgentStatus:
    return _decode(username, redis.hget(keys.AGENT_STATUS, username))


def change(redis: Redis, username: str, status: Status | str, now: datetime) -> AgentStatus:
    """Set ``username``'s status; the time only moves when the status actually changes."""
    status = Status(status)
    current = get(redis, username)
    if current.status is status and current.since is not None:
        return current
    redis.hset(
        keys.AGENT_STATUS, username, json.dumps({"status": str(status), "since": now.isoformat()})
    )
    return AgentStatus(username, status, now)


def busy_if_available(redis: Redis, username: str, taken_at: datetime, now: datetime) -> None:
    """An agent who was available when a call reached them is now on that call."""
    current = get(redis, username)
    if current.status is Status.AVAILABLE and (current.since is None or current.since <= taken_at):
        change(redis, username, Status.BUSY, now)


def all_statuses(redis: Redis) -> dict[str, AgentStatus]:
    out = {}
    for name, raw in redis.hgetall(keys.AGENT_STATUS).items():
        username = name.decode() if isinstance(name, bytes) else name
        out[username] = _decode(username, raw)
    return out
