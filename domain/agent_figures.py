"""What supervisors read of an agent (SPEC §7): calls, handle time, missed offers, state times.

The states are SPEC §6's. The time an agent spends in each is counted from their
state log, one spell at a time; ``offline`` is not counted (it is not working time).
A **missed offer** is a spell of ``break`` with the reason ``missed``: what an offer
that rang out, was rejected or failed leaves an agent in.

**Occupancy** = time on calls and in wrap-up ÷ time ready for or working on calls
(available, offered, on a call, wrap-up): a break is not time the agent could be
given calls, so it counts neither way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from domain.service_level import mean

OFFLINE, AVAILABLE, BREAK, OFFERED, ON_CALL, WRAP_UP = (
    "offline",
    "available",
    "break",
    "offered",
    "on_call",
    "wrap_up",
)
# The states whose time is counted, and the figure each is counted in.
TIMED_STATES = (AVAILABLE, BREAK, OFFERED, ON_CALL, WRAP_UP)
STATE_FIGURE = {state: f"state_{state}_seconds" for state in TIMED_STATES}
MISSED = "missed"


def missed_offer(state: str, reason: str | None) -> bool:
    return state == BREAK and reason == MISSED


@dataclass(frozen=True, slots=True)
class AgentTotals:
    """One agent's figures over a period."""

    handled: int = 0
    talk_seconds: float = 0.0
    wrap_up_seconds: float = 0.0
    missed_offers: int = 0
    state_available_seconds: float = 0.0
    state_break_seconds: float = 0.0
    state_offered_seconds: float = 0.0
    state_on_call_seconds: float = 0.0
    state_wrap_up_seconds: float = 0.0

    @classmethod
    def of(cls, figures: Mapping[str, float | None]) -> AgentTotals:
        return cls(**{n: figures[n] for n in AGENT_NAMES if figures.get(n) is not None})

    def __add__(self, other: AgentTotals) -> AgentTotals:
        mine, theirs = self.as_dict(), other.as_dict()
        return AgentTotals(**{name: mine[name] + theirs[name] for name in AGENT_NAMES})

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def average_handle_time(self) -> float | None:
        return mean(self.talk_seconds + self.wrap_up_seconds, self.handled)

    @property
    def occupancy(self) -> float | None:
        busy = self.state_on_call_seconds + self.state_wrap_up_seconds
        ready = busy + self.state_available_seconds + self.state_offered_seconds
        return busy / ready if ready else None


AGENT_NAMES = tuple(f.name for f in fields(AgentTotals))
