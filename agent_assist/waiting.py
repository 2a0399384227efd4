"""Callers waiting in the queues an agent serves, for the desk's live queue panel.

``waiting_callers`` is the one place the desk reads queue contents from: the IVR's
queue board (``live.queueboard``), where callers are listed as they enter and
leave Twilio's queues, with what an agent may see of them (masked name, service, tier).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from domain.masking import mask_name
from live import queueboard


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


def waiting_callers(redis: Redis, queues: Iterable[str], now: datetime) -> list[WaitingCaller]:
    """Everyone waiting in ``queues``, longest wait first; ``now`` is aware."""
    queues = list(queues)
    if not queues:
        return []
    return [
        WaitingCaller(
            call_sid=entry.call_sid,
            queue=entry.queue,
            # Masked already by the IVR; masking again is harmless and keeps a slip off screen.
            name=mask_name(entry.name) if entry.name else "",
            service=entry.service,
            tier=entry.tier,
            since=datetime.fromtimestamp(entry.entered_at, now.tzinfo),
        )
        for entry in queueboard.waiting(redis, queues, now.timestamp())
    ]
