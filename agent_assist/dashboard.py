"""What a supervisor sees: queue figures per line, agents by state, cases at risk.

The views (``/api/queues``, ``/api/agents``, ``/supervisor`` and its event stream)
all read through here, so the page and the API never disagree.

Cost per refresh, whatever the length of the day or of the call history:
- queues: ``queueboard.snapshot``, three Redis operations per queue in one round trip
  (who waits, since when; pending callbacks are a Redis set kept by
  ``services.callbacks`` and corrected from SQL by its reconcile job), and one SQL
  query summing today's rows of the interval history (at most 48 per queue), so the
  day's figures are those the reports show and survive a Redis loss;
- agents: one query of the staff table and one ``MGET`` of their states, today's rows of the
  agents' interval history and the spells not yet in it (``services.agent_history``);
- cases: the indexed ``cases.find(sla="at_risk")`` query, bounded by open cases
  with a deadline due by today, not by the history; the stream runs it less often.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import workdays
from domain.agent_figures import ON_CALL, AgentTotals
from domain.agent_states import Status
from domain.hours import Line
from domain.intervals import day_start
from domain.masking import mask_name
from domain.service_level import QueueTotals
from flows import Flows, Queue
from live import agent_states, queueboard
from services import accounts, agent_history, agent_shift, cases, reports
from storage.models import Agent, Person

CASES_SHOWN = 50


def _clock(moment: time) -> str:
    # flows read a closing time of "24:00" as the day's last instant.
    return "24:00" if moment == time.max else f"{moment:%H:%M}"


def _hours(line: Line, local: datetime) -> dict:
    """Whether ``line`` is open at the wall-clock time ``local``, and its hours today."""
    closes = line.closes_at(local)
    if closes is not None and closes.time() == time.max:
        closes = datetime.combine(closes.date() + timedelta(days=1), time.min)
    opening = None if closes else line.next_opening(local)
    return {
        "open": closes is not None,
        "hours_today": [
            f"{_clock(start)}–{_clock(end)}"
            for start, end in sorted(line.intervals_on(local.date()))
        ],
        "closes_at": closes.isoformat(timespec="minutes") if closes else None,
        "next_opening": opening.isoformat(timespec="minutes") if opening else None,
    }


@dataclass(frozen=True, slots=True)
class QueueBoard:
    """One queue as the board shows it: who waits now, and today's figures so far."""

    queue: Queue
    now: queueboard.QueueNow
    today: QueueTotals


def board(db_session: Session, redis: Redis, flows: Flows, now: datetime) -> list[QueueBoard]:
    """Every queue of ``flows``: Redis for now, the interval history for today (local day)."""
    names = flows.queues()
    waiting = queueboard.snapshot(redis, [q.name for q in names], now.timestamp())
    start = day_start(now.date(), now.tzinfo)
    today = reports.per_queue(db_session, start, start + timedelta(days=1))
    return [
        QueueBoard(queue, live, today.get(queue.name, QueueTotals()))
        for queue, live in zip(names, waiting, strict=True)
    ]


def queues(flows: Flows, now: datetime, found: list[QueueBoard]) -> list[dict]:
    """``GET /api/queues``: one entry per queue, SPEC §5's keys first, today's figures after."""
    local = now.replace(tzinfo=None)
    hours = {line.code: _hours(line, local) for line in flows.lines.values()}
    settings = flows.reports
    out = []
    for entry in found:
        queue, live, today = entry.queue, entry.now, entry.today
        line = queue.line
        figures = reports.figures(today)
        out.append(
            {
                "name": queue.name,
                "line": line.code,
                "waiting": live.waiting,
                "longest_wait_seconds": live.longest_wait_seconds,
                "kind": queue.kind,
                "line_name": line.name,
                "day": now.date().isoformat(),
                # ASA in whole seconds, as this key always gave it.
                "average_wait_seconds": _whole(today.average_speed_of_answer),
                "offered": today.offered,
                "answered": today.answered,
                # Named for the default service level; "answered_within_sl" says it too.
                "answered_within_20s": today.answered_within_sl,
                "abandoned": today.abandoned,
                "left_for_callback": today.left_for_callback,
                "failed": today.failed,
                "service_level": figures["service_level"],
                "service_level_seconds": settings.rules.service_level_seconds,
                "callbacks_pending": live.callbacks_pending,
                "line_open": hours[line.code]["open"],
                "line_hours": hours[line.code],
                "answered_within_sl": today.answered_within_sl,
                "short_abandons": today.short_abandons,
                "short_abandon_seconds": settings.rules.short_abandon_seconds,
                "average_speed_of_answer": figures["average_speed_of_answer"],
                "average_handle_time": figures["average_handle_time"],
                "handled": today.handled,
                "callbacks_requested": today.callbacks_requested,
                "callbacks_completed": today.callbacks_completed,
                "longest_wait_today_seconds": figures["longest_wait_seconds"],
                "levels": _levels(settings, figures, live),
            }
        )
    return out


def lines(flows: Flows, now: datetime, found: list[QueueBoard]) -> list[dict]:
    """Per line: its hours now, and its queues' figures added up."""
    local = now.replace(tzinfo=None)
    out = []
    for line in flows.lines.values():
        mine = [entry for entry in found if entry.queue.line.code == line.code]
        today = reports.total(entry.today for entry in mine)
        figures = reports.figures(today)
        live = queueboard.QueueNow(
            name=line.code,
            waiting=sum(entry.now.waiting for entry in mine),
            longest_wait_seconds=max((e.now.longest_wait_seconds for e in mine), default=0),
            callbacks_pending=sum(entry.now.callbacks_pending for entry in mine),
        )
        out.append(
            {
                "line": line.code,
                "name": line.name,
                **_hours(line, local),
                "waiting": live.waiting,
                "offered": today.offered,
                "answered": today.answered,
                "answered_within_20s": today.answered_within_sl,
                "abandoned": today.abandoned,
                "longest_wait_seconds": live.longest_wait_seconds,
                "service_level": figures["service_level"],
                "callbacks_pending": live.callbacks_pending,
                "short_abandons": today.short_abandons,
                "average_speed_of_answer": figures["average_speed_of_answer"],
                "average_handle_time": figures["average_handle_time"],
                "levels": _levels(flows.reports, figures, live),
            }
        )
    return out


def _levels(settings, figures: dict, live: queueboard.QueueNow) -> dict[str, str]:
    """The figures past their thresholds (``flows/reports.toml``): name → warn or alert."""
    return settings.levels(
        {
            **figures,
            "waiting": live.waiting,
            "longest_wait_seconds": live.longest_wait_seconds,
        }
    )


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def agents(db_session: Session, redis: Redis, flows: Flows, now: datetime) -> dict:
    """``GET /api/agents``: every agent (role ``agent``) in its live state, with today's figures.

    Each entry is ``GET /api/agents/me``'s object (plus ``role`` and ``seconds`` in the
    state) and the day's figures (SPEC §7). Supervisors are not agents: not listed, not
    counted (``supervisors`` lists them). Agent usernames are staff identities, not
    customers' data: shown as they are.
    """
    rows = db_session.scalars(
        select(Agent).where(Agent.role == accounts.AGENT).order_by(Agent.username)
    ).all()
    states = agent_states.get_many(redis, [agent.username for agent in rows])
    start = day_start(now.date(), now.tzinfo)
    today = agent_history.totals(
        db_session, start, start + timedelta(days=1), now, now.tzinfo, [a.username for a in rows]
    )
    out = []
    counts = {str(s): 0 for s in Status}
    for agent in rows:
        state = states[agent.username]
        if not state.queues:
            state = replace(state, queues=tuple(agent.queue_list))
        counts[str(state.status)] += 1
        shown = agent_shift.Shown(agent.username, state).as_dict(now)
        figures = reports.agent_row(agent.username, today.get(agent.username, AgentTotals()))
        threshold = flows.reports.state_thresholds.get(shown["status"])
        out.append(
            {
                **shown,
                "role": agent.role,
                "handled_today": figures["handled"],
                "average_handle_time_today": figures["average_handle_time"],
                "missed_offers_today": figures["missed_offers"],
                "occupancy_today": figures["occupancy"],
                # The call going on (SPEC §7 "the current call's seconds").
                "call_seconds": shown.get("seconds") if shown["status"] == ON_CALL else None,
                "state_threshold": (
                    {"warn": threshold.warn, "alert": threshold.alert} if threshold else None
                ),
            }
        )
    return {"agents": out, "counts": counts}


def supervisors(db_session: Session, redis: Redis, now: datetime) -> list[dict]:
    """The supervisors' own accounts and their status: shown apart from the agents."""
    rows = db_session.scalars(
        select(Agent).where(Agent.role == accounts.SUPERVISOR).order_by(Agent.username)
    ).all()
    states = agent_states.get_many(redis, [agent.username for agent in rows])
    return [agent_shift.Shown(a.username, states[a.username]).as_dict(now) for a in rows]


def cases_at_risk(db_session: Session, flows: Flows, now: datetime) -> list[dict]:
    """Open cases with a deadline due today or overdue, the insured person's name masked."""
    found = cases.find(db_session, now, sla_filter="at_risk", limit=CASES_SHOWN)
    ids = {case.insured_id for case in found}
    names = (
        dict(db_session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())
        if ids
        else {}
    )
    out = []
    for case in found:
        data = cases.as_dict(case, flows, now)
        due = [d for d in data["deadlines"] if d["state"] == data["sla"]]
        out.append(
            {
                "id": data["id"],
                "insured_id": data["insured_id"],
                "insured_name": mask_name(names.get(case.insured_id) or ""),
                "service": data["service"],
                "service_name": data["service_name"],
                "status": data["status"],
                "sla": data["sla"],
                "due": (due[0]["due_at"] or due[0]["due_on"]) if due else None,
                "deadline": due[0]["label"] if due else None,
            }
        )
    return out


def calendar_notice(flows: Flows, today: date) -> str | None:
    """The banner while this year's or (from 1 December) next year's working days are missing."""
    found = workdays.coverage(flows.working_days, today)
    if not found.alarm:
        return None
    year = found.missing[0]
    since = "目前" if year == today.year else f"自{year}年1月1日起"
    return (
        f"{year}年工作日安排（国务院法定节假日与调休）尚未录入：{since}服务时限按周一至周五计算，"
        "春节等假期前后的到期时间会有误。请运维人员在国务院公布后加入 flows/calendar.toml。"
        f" The {year} working-day schedule is missing: SLA deadlines count Monday–Friday"
        " until the State Council's schedule is added."
    )
