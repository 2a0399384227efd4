"""Reading the interval history (SPEC §7): per interval, per day, per queue, per agent.

Every figure a supervisor reads — the live board's "today", a day's half-hour chart,
a month's CSV — is a sum of the same rows (``queue_intervals``, ``agent_intervals``),
worked out by the same rules (``domain.service_level``), so they agree with each other.
Rows exist only for intervals something happened in; a period without any reads as
zeros.

The queries are bounded by the period asked for: the tables' primary keys lead with
the interval's start. Each reader first folds the call records noted since the last
fold (``interval_history.fold_all``, committed), so what it reads includes every call
up to that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.agent_figures import AgentTotals
from domain.intervals import days_span, utc
from domain.service_level import LONGEST, NAMES, QueueTotals
from services import accounts, agent_history, interval_history
from storage.models import Agent, QueueInterval

TABLE = QueueInterval.__table__
# SPEC §7's columns, in its order ("interval_start" becomes "day" for days).
FIGURE_COLUMNS = (
    "offered",
    "answered",
    "answered_within_sl",
    "abandoned",
    "short_abandons",
    "callbacks_requested",
    "callbacks_completed",
    "service_level",
    "average_speed_of_answer",
    "average_handle_time",
    "longest_wait_seconds",
)
INTERVAL_COLUMNS = ("queue", "interval_start", *FIGURE_COLUMNS)
DAY_COLUMNS = ("queue", "day", *FIGURE_COLUMNS)
AGENT_COLUMNS = (
    "username",
    "handled",
    "average_handle_time",
    "talk_seconds",
    "wrap_up_seconds",
    "missed_offers",
    "occupancy",
    "state_available_seconds",
    "state_break_seconds",
    "state_offered_seconds",
    "state_on_call_seconds",
    "state_wrap_up_seconds",
)
_SUMS = tuple(
    func.max(TABLE.c[name]) if name == LONGEST else func.sum(TABLE.c[name]) for name in NAMES
)


def _period(first: date, last: date, tz: ZoneInfo):
    start, end = days_span(first, last, tz)
    return TABLE.c.interval_start >= start, TABLE.c.interval_start < end


def intervals(
    session: Session, first: date, last: date, tz: ZoneInfo, queue: str | None = None
) -> list[tuple[datetime, str, QueueTotals]]:
    """(interval start UTC, queue, figures) of the local days ``first`` to ``last``."""
    interval_history.fold_all(session)
    query = (
        select(TABLE.c.interval_start, TABLE.c.queue, *(TABLE.c[name] for name in NAMES))
        .where(*_period(first, last, tz))
        .order_by(TABLE.c.interval_start, TABLE.c.queue)
    )
    if queue is not None:
        query = query.where(TABLE.c.queue == queue)
    return [(utc(start), name, _totals(values)) for start, name, *values in session.execute(query)]


def days(
    session: Session, first: date, last: date, tz: ZoneInfo, queue: str | None = None
) -> list[tuple[date, str, QueueTotals]]:
    """(local day, queue, figures summed over the day's intervals), by day then queue."""
    interval_history.fold_all(session)
    query = (
        select(TABLE.c.day, TABLE.c.queue, *_SUMS)
        .where(*_period(first, last, tz))
        .group_by(TABLE.c.day, TABLE.c.queue)
        .order_by(TABLE.c.day, TABLE.c.queue)
    )
    if queue is not None:
        query = query.where(TABLE.c.queue == queue)
    return [(day, name, _totals(values)) for day, name, *values in session.execute(query)]


def per_queue(session: Session, start: datetime, end: datetime) -> dict[str, QueueTotals]:
    """Each queue's figures summed over [start, end) (whole intervals: today so far)."""
    interval_history.fold_all(session)
    query = (
        select(TABLE.c.queue, *_SUMS)
        .where(TABLE.c.interval_start >= start, TABLE.c.interval_start < end)
        .group_by(TABLE.c.queue)
    )
    return {name: _totals(values) for name, *values in session.execute(query)}


def _totals(values: Iterable) -> QueueTotals:
    # A sum over no rows is NULL: none of a figure is 0 (the longest wait stays unknown).
    pairs = zip(NAMES, values, strict=True)
    return QueueTotals(*(0 if v is None and name != LONGEST else v for name, v in pairs))


def total(rows: Iterable[QueueTotals]) -> QueueTotals:
    out = QueueTotals()
    for totals in rows:
        out = out + totals
    return out


def figures(totals: QueueTotals) -> dict:
    """SPEC §7's figures of a period, as the API, the CSV and the pages show them."""
    longest = totals.longest_wait_seconds
    return {
        "offered": totals.offered,
        "answered": totals.answered,
        "answered_within_sl": totals.answered_within_sl,
        "abandoned": totals.abandoned,
        "short_abandons": totals.short_abandons,
        "callbacks_requested": totals.callbacks_requested,
        "callbacks_completed": totals.callbacks_completed,
        "service_level": _round(totals.service_level, 4),
        "average_speed_of_answer": _round(totals.average_speed_of_answer, 1),
        "average_handle_time": _round(totals.average_handle_time, 1),
        "longest_wait_seconds": None if longest is None else round(longest),
    }


def interval_rows(rows, tz: ZoneInfo) -> list[dict]:
    return [
        {"queue": queue, "interval_start": start.astimezone(tz).isoformat(), **figures(totals)}
        for start, queue, totals in rows
    ]


def day_rows(rows) -> list[dict]:
    return [
        {"queue": queue, "day": day.isoformat(), **figures(totals)} for day, queue, totals in rows
    ]


def agents(
    session: Session,
    first: date,
    last: date,
    tz: ZoneInfo,
    now: datetime,
    usernames: Iterable[str] | None = None,
) -> list[dict]:
    """Each agent's figures over the local days ``first`` to ``last``, by username.

    Supervisors' own accounts are not agents: left out, whatever their state log holds.
    """
    interval_history.fold_all(session)
    start, end = days_span(first, last, tz)
    found = agent_history.totals(session, start, end, now, tz, usernames)
    supervisors = set(
        session.scalars(select(Agent.username).where(Agent.role == accounts.SUPERVISOR))
    )
    return [agent_row(name, found[name]) for name in sorted(found) if name not in supervisors]


def agent_row(username: str, totals: AgentTotals) -> dict:
    return {
        "username": username,
        "handled": totals.handled,
        "average_handle_time": _round(totals.average_handle_time, 1),
        "talk_seconds": round(totals.talk_seconds),
        "wrap_up_seconds": round(totals.wrap_up_seconds),
        "missed_offers": totals.missed_offers,
        "occupancy": _round(totals.occupancy, 4),
        **{
            name: round(getattr(totals, name))
            for name in AGENT_COLUMNS
            if name.startswith("state_")
        },
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
