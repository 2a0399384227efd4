"""The hotline's configuration once loaded: ``Flows``, and the Twilio queues it names.

``flows.load()`` builds it from the TOML files (``flows.loader``); the rest of
the service reads it through ``runtime.current_flows()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from domain.catalogue import Programme
from domain.hours import Line
from domain.workdays import WorkingDays
from flows.call_flow import CallFlow
from flows.exceptions import FlowError
from flows.reports import ReportSettings

CALLS = "calls"
CALLBACKS = "callbacks"


@dataclass(frozen=True, slots=True)
class Queue:
    """One of Twilio's queues the hotline uses: a line's callers, or its returning callbacks."""

    name: str
    line: Line
    kind: str  # CALLS or CALLBACKS


@dataclass(frozen=True)
class Flows:
    directory: Path
    programme: Programme
    categories: dict[str, str]
    lines: dict[str, Line]
    working_days: WorkingDays
    call_flow: CallFlow
    reports: ReportSettings

    def line(self, code: str) -> Line:
        try:
            return self.lines[code]
        except KeyError:
            raise FlowError(f"unknown line {code!r}") from None

    def queues(self) -> tuple[Queue, ...]:
        """Every queue, line by line: the line's own, then its callback queue."""
        return self._queues

    def queue(self, name: str) -> Queue | None:
        return self._queue_named.get(name)

    # Built once: the flows do not change once loaded, and the distribution asks for a
    # queue by name per waiting caller and per agent on every run (a fifth of its plan
    # when each call rebuilt them).
    @cached_property
    def _queues(self) -> tuple[Queue, ...]:
        return tuple(
            Queue(name, line, kind)
            for line in self.lines.values()
            for name, kind in (
                (line.queue, CALLS),
                (self.call_flow.callback_queue(line), CALLBACKS),
            )
        )

    @cached_property
    def _queue_named(self) -> dict[str, Queue]:
        named: dict[str, Queue] = {}
        for queue in self._queues:
            named.setdefault(queue.name, queue)  # the first, as a search in order finds
        return named

    def calls_queue(self, line: str) -> str | None:
        """The queue of ``line``'s own callers (None for a line no longer configured)."""
        found = self.lines.get(line)
        return found.queue if found else None

    def served(self, queues: tuple[str, ...] | list[str]) -> frozenset[str]:
        """The queues an agent serving ``queues`` takes calls from: those, and the callback
        queues of their lines (callers returning on a callback)."""
        out = set(queues)
        for name in queues:
            found = self.queue(name)
            if found is not None and found.kind == CALLS:
                out.add(self.call_flow.callback_queue(found.line))
        return frozenset(out)

    def callback_queue(self, line: Line | str) -> str:
        """The queue where ``line``'s callers wait when they return on a callback."""
        return self.call_flow.callback_queue(self.line(line) if isinstance(line, str) else line)
