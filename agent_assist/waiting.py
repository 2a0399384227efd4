"""Callers waiting in the queues an agent serves, for the desk's live queue panel.

``waiting_callers`` is the one place the desk reads queue contents from. Until the
IVR's queue board is merged it reads ``hotline:queue:{queue}:waiting``: a hash of
call SID -> JSON ``{"call_sid", "name", "service", "tier", "since"}`` with the name
already masked and ``since`` an ISO time with offset (``hold`` writes one; tests
use it to simulate the IVR). Point this function at the queue board, not the panel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from domain.masking import mask_name

log = logging.getLogger(__name__)

WAITING = "hotline:queue:{queue}:waiting"


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    call_sid: str
    queue: str
    # Masked (张*明), or "" for a caller not yet identified.
    name: str
    service: str | None
    tier: str | None
    since: datetime

    def as_dict(self, now: datetime) -> dict:
        return {
            "call_sid": self.call_sid,
            "queue": self.queue,
            "name": self.name,
            "service": self.service,
            "tier": self.tier,
            "since": self.since.isoformat(),
            "wait_seconds": max(0, int((now - self.since).total_seconds())),
        }


def waiting_key(queue: str) -> str:
    return WAITING.format(queue=queue)


def hold(
    redis: Redis,
    queue: str,
    call_sid: str,
    since: datetime,
    name: str | None = None,
    service: str | None = None,
    tier: str | None = None,
) -> None:
    """Record a caller waiting in ``queue`` (the name is masked before it is stored)."""
    entry = {
        "call_sid": call_sid,
        "name": mask_name(name),
        "service": service,
        "tier": tier,
        "since": since.isoformat(),
    }
    redis.hset(waiting_key(queue), call_sid, json.dumps(entry, ensure_ascii=False))


def leave(redis: Redis, queue: str, call_sid: str) -> None:
    redis.hdel(waiting_key(queue), call_sid)


def waiting_callers(redis: Redis, queues: Iterable[str]) -> list[WaitingCaller]:
    """Everyone waiting in ``queues``, longest wait first."""
    queues = list(queues)
    if not queues:
        return []
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.hvals(waiting_key(queue))
    callers = []
    for queue, values in zip(queues, pipe.execute(), strict=True):
        for raw in values:
            try:
                data = json.loads(raw)
                callers.append(
                    WaitingCaller(
                        call_sid=data["call_sid"],
                        queue=queue,
                        name=mask_name(data.get("name")) if data.get("name") else "",
                        service=data.get("service"),
                        tier=data.get("tier"),
                        since=datetime.fromisoformat(data["since"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                log.warning("skipping an unreadable waiting-caller entry in queue %s", queue)
    callers.sort(key=lambda c: c.since)
    return callers
