"""Who is offered to whom (SPEC §6 distribution, step 1), as pure rules.

Callers go in this order: one whose earlier offer failed first, then callers returning
on a callback, then the longest wait. With tier priority on, a caller counts as having
called ``jump_seconds`` earlier than they did — at most ``max_priority_jump_seconds``
(``flows``), so nobody is passed over by a caller who called more than that after them.
Each caller in turn goes to the agent available longest among those serving their queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    call_sid: str
    queue: str
    # Unix time they entered the queue (the first time: a failed offer keeps their place).
    entered_at: float
    missed: bool = False
    callback: bool = False
    jump_seconds: int = 0

    @property
    def rank(self) -> tuple:
        return (not self.missed, not self.callback, self.entered_at - self.jump_seconds)


@dataclass(frozen=True, slots=True)
class Agent:
    username: str
    # Unix time they became available.
    since: float
    # Every queue they serve, their lines' callback queues included.
    queues: frozenset[str]


def order(callers: Iterable[Caller]) -> list[Caller]:
    """Callers in the order they are offered."""
    return sorted(callers, key=lambda c: (c.rank, c.call_sid))


def assign(callers: Iterable[Caller], agents: Iterable[Agent]) -> list[tuple[Caller, Agent]]:
    """Each caller in order, to the longest-available agent left who serves their queue."""
    free = sorted(agents, key=lambda a: (a.since, a.username))
    pairs = []
    for caller in order(callers):
        if not free:
            break
        agent = next((a for a in free if caller.queue in a.queues), None)
        if agent is not None:
            free.remove(agent)
            pairs.append((caller, agent))
    return pairs
