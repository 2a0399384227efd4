"""Service-level deadlines (SPEC §2 "Service-level deadlines", manual 服务流程).

Each of a service's ``Deadline``s runs from an anchor (the request, complete
materials, confirmation, the consultation): ``working_days`` Chinese working
days counted from the next working day (``WorkingDays.add``), due by the end of
that day; or ``hours`` after the anchor's moment (escort: respond within 1 hour).

Times are naive wall-clock datetimes in the programme's zone; the edges convert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.catalogue import Deadline, Service
from domain.workdays import WorkingDays


class SlaState(StrEnum):
    """Where one deadline stands; ordered from the most urgent."""

    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    ON_TRACK = "on_track"
    # The anchor has not happened yet (e.g. materials are not complete).
    PENDING = "pending"
    MET = "met"
    # The case closed before it mattered (cancelled, or closed before the anchor).
    VOID = "void"


URGENCY = tuple(SlaState)
# The states a supervisor's "at risk" view shows.
AT_RISK = frozenset({SlaState.OVERDUE, SlaState.DUE_TODAY})


@dataclass(frozen=True, slots=True)
class Due:
    deadline: Deadline
    anchored_at: datetime | None
    # The last day (working-day deadlines: by the end of it) or None before the anchor.
    due_on: date | None
    # The exact moment, for hour deadlines only.
    due_at: datetime | None

    @property
    def key(self) -> str:
        return self.deadline.key

    def state(
        self, now: datetime, met_at: datetime | None = None, closed: bool = False
    ) -> SlaState:
        return state(self.due_on, self.due_at, now, met_at, closed)

    def met_in_time(self, met_at: datetime) -> bool:
        if self.due_at is not None:
            return met_at <= self.due_at
        return self.due_on is None or met_at.date() <= self.due_on

    def as_dict(self) -> dict:
        dl = self.deadline
        return {
            "key": dl.key,
            "label": dl.label,
            "anchor": dl.anchor,
            "working_days": dl.working_days,
            "hours": dl.hours,
            "met_by": dl.met_by,
            "anchored_at": self.anchored_at.isoformat() if self.anchored_at else None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "due_at": self.due_at.isoformat() if self.due_at else None,
        }


def state(
    due_on: date | None,
    due_at: datetime | None,
    now: datetime,
    met_at: datetime | None = None,
    closed: bool = False,
) -> SlaState:
    """Where a deadline due on ``due_on`` (hour deadlines: at ``due_at``) stands at ``now``."""
    if met_at is not None:
        return SlaState.MET
    if closed:
        return SlaState.VOID
    if due_on is None:
        return SlaState.PENDING
    if due_at is not None:
        # Hour deadlines are always urgent until met: there is no "later today" for them.
        return SlaState.OVERDUE if now > due_at else SlaState.DUE_TODAY
    today = now.date()
    if today > due_on:
        return SlaState.OVERDUE
    if today == due_on:
        return SlaState.DUE_TODAY
    return SlaState.ON_TRACK


def due(deadline: Deadline, anchored_at: datetime | None, calendar: WorkingDays) -> Due:
    """When ``deadline`` falls if its anchor happened at ``anchored_at`` (None: not yet)."""
    if anchored_at is None:
        return Due(deadline, None, None, None)
    if deadline.hours is not None:
        moment = anchored_at + timedelta(hours=deadline.hours)
        return Due(deadline, anchored_at, moment.date(), moment)
    return Due(deadline, anchored_at, calendar.add(anchored_at.date(), deadline.working_days), None)


def schedule(
    service: Service, anchors: Mapping[str, datetime], calendar: WorkingDays
) -> tuple[Due, ...]:
    """Every deadline of ``service``, with the anchors that have happened (anchor -> moment)."""
    return tuple(due(dl, anchors.get(dl.anchor), calendar) for dl in service.deadlines)


def if_requested(service: Service, now: datetime, calendar: WorkingDays) -> tuple[Due, ...]:
    """The deadlines a request for ``service`` opened at ``now`` would have."""
    return schedule(service, {"request": now}, calendar)


def most_urgent(states: Iterable[SlaState]) -> SlaState | None:
    states = list(states)
    return min(states, key=URGENCY.index) if states else None
