"""Agents' event streams (``GET /agent/events``) as the benchmarks read them.

``EventParser`` turns the lines of a ``text/event-stream`` into events, as a
browser's ``EventSource`` does (``event:``, ``data:``, ``id:``, comments, a blank
line ends an event). ``AgentStream`` holds one agent's stream open over
``http.client`` (on a gevent greenlet in the benchmark process) and records every
``screen_pop`` with the moment its data line was read, in a shared ``PopLog``.
"""

from __future__ import annotations

import http.client
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Event:
    event: str
    data: str
    id: str | None = None


@dataclass
class EventParser:
    """Feed it lines; it returns an ``Event`` at each blank line that ends one."""

    event: str = ""
    data: list[str] = field(default_factory=list)
    last_id: str | None = None

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self.data and not self.event:
                return None
            done = Event(self.event or "message", "\n".join(self.data), self.last_id)
            self.event, self.data = "", []
            return done
        if line.startswith(":"):
            return None  # a comment: the heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id":
            self.last_id = value
        return None


class PopLog:
    """Which agents' streams delivered which call's screen-pop, and when (perf_counter)."""

    def __init__(self):
        self.arrivals: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self.waiters: dict = {}

    def expect(self, call_sid: str):
        """Something to ``wait(timeout)`` on until ``call_sid``'s first pop arrives."""
        from gevent.event import Event as Signal

        signal = self.waiters[call_sid] = Signal()
        return signal

    def arrived(self, username: str, call_sid: str, at: float) -> None:
        self.arrivals[call_sid].append((username, at))
        signal = self.waiters.pop(call_sid, None)
        if signal is not None:
            signal.set()


class AgentStream:
    """One agent's open ``/agent/events``: connected once its first ``status`` arrives."""

    def __init__(self, host: str, port: int, username: str, token: str, pops: PopLog):
        self.host, self.port = host, port
        self.username = username
        self.token = token
        self.pops = pops
        self.connected = False
        self.events: defaultdict[str, int] = defaultdict(int)
        self.error: str | None = None

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=None)
        try:
            connection.request(
                "GET",
                "/agent/events",
                headers={"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"},
            )
            response = connection.getresponse()
            kind = response.getheader("Content-Type", "")
            if response.status != 200 or not kind.startswith("text/event-stream"):
                self.error = f"{response.status} {kind}: {response.read(300)!r}"
                return
            parser = EventParser()
            while True:
                line = response.readline()
                if not line:
                    self.error = "the server closed the stream"
                    return
                event = parser.feed(line.decode("utf-8"))
                if event is None:
                    continue
                self.events[event.event] += 1
                if event.event == "status":
                    self.connected = True
                elif event.event == "screen_pop":
                    at = time.perf_counter()
                    data = json.loads(event.data)
                    if not data.get("replayed"):
                        self.pops.arrived(self.username, data["call_sid"], at)
        except Exception as exc:  # reported by the benchmark, which then fails
            self.error = repr(exc)
        finally:
            connection.close()
