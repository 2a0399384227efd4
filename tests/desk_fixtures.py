"""Builders shared by the agent-side tests: a feed of insured people, sign-in, SSE reading.

Imported as a plain module (``from desk_fixtures import ...``); the fixtures that use
these live in conftest.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from feeds import policy

from live.announcements import CallTaken

PASSWORD = "correct horse battery"


# On the suite's "today" (2026-03-10): 张伟 is 尊享 and holds a policy on his son 张小明
# (安心); 王芳 is 豪华; 赵新 is 尊享 but inside the waiting period; 钱无 has no tier.
FEED = {
    "people": [
        {"id": "P1", "name": "张伟", "phones": ["+8613812345678"]},
        {"id": "P2", "name": "张小明", "phones": []},
        {"id": "P3", "name": "王芳", "phones": ["13987654321"]},
        {"id": "P4", "name": "赵新", "phones": ["+8613700001111"]},
        {"id": "P5", "name": "钱无", "phones": ["+8613600002222"]},
    ],
    "policies": [
        policy("D001", "P1", sum_insured=300000, cooling_off_end="2024-06-30"),
        policy("D002", "P2", "P1", sum_insured=100000, cooling_off_end="2024-06-30"),
        policy("D003", "P3", sum_insured=700000, cooling_off_end="2024-06-30"),
        policy("D004", "P4", sum_insured=400000, cooling_off_end="2026-03-01"),
        policy(
            "D005",
            "P5",
            sum_insured=100000,
            cooling_off_end="2024-06-30",
            events=[{"date": "2025-06-01", "status": "lapsed"}],
        ),
    ],
    "usage": [],
}


def call(agent: str, call_sid: str = "CA0001", taken_at: datetime | None = None, **changes):
    values = {
        "call_sid": call_sid,
        "agent": agent,
        "verified": True,
        "policyholder_id": "P1",
        "insured_id": "P1",
        "service": "outpatient_booking",
        "line": "medical",
        "queue": "medical",
        "queue_seconds": 42,
        "caller": "+8613812345678",
        "taken_at": (taken_at or datetime.fromisoformat("2026-03-10T10:30:00+08:00")).isoformat(),
    }
    values.update(changes)
    return CallTaken(**values)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/agent/signin")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/agent/signin",
        data={"username": username, "password": password, "csrf_token": token},
    )


def page_csrf(client, path: str = "/agent/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


@dataclass
class Event:
    event: str | None = None
    id: str | None = None
    data: str = ""
    comment: str | None = None

    def json(self):
        return json.loads(self.data)


@dataclass
class EventReader:
    """Reads a streamed text/event-stream response one event (or comment) at a time."""

    response: object
    buffer: str = ""
    chunks: object = field(default=None, repr=False)

    def __post_init__(self):
        self.chunks = iter(self.response.response)

    def next(self) -> Event:
        while "\n\n" not in self.buffer:
            chunk = next(self.chunks)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        block, self.buffer = self.buffer.split("\n\n", 1)
        event = Event()
        for line in block.split("\n"):
            if line.startswith(":"):
                event.comment = line[1:].strip()
            elif line.startswith("id: "):
                event.id = line[4:]
            elif line.startswith("event: "):
                event.event = line[7:]
            elif line.startswith("data: "):
                event.data += line[6:]
        return event

    def next_named(self, name: str, limit: int = 50) -> Event:
        for _ in range(limit):
            event = self.next()
            if event.event == name:
                return event
        raise AssertionError(f"no {name} event in {limit} events")

    def until(self, name: str, limit: int = 50) -> list[Event]:
        """Events up to the next one named ``name`` (which is left out)."""
        seen = []
        for _ in range(limit):
            event = self.next()
            if event.event == name:
                return seen
            seen.append(event)
        raise AssertionError(f"no {name} event in {limit} events")

    def until_heartbeat(self, limit: int = 50) -> list[Event]:
        """Events up to the next heartbeat comment (what arrived while idle)."""
        seen = []
        for _ in range(limit):
            event = self.next()
            if event.comment == "heartbeat":
                return seen
            seen.append(event)
        raise AssertionError("no heartbeat")

    def close(self):
        self.response.close()
