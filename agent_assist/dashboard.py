"""What a supervisor sees: queue figures per line, agents by state, cases at risk.

The views (``/api/queues``, ``/api/agents``, ``/supervisor`` and its event stream)
all read through here, so the page and the API never disagree.

Cost per refresh, whatever the length of the day or of the call history:
- queues: ``queueboard.snapshot``, four Redis operations per queue in one round
  trip (today's counters are hashes the IVR increments; pending callbacks are a
  Redis set kept by ``services.callbacks`` and corrected from SQL by its reconcile job);
- agents: one query of the staff table and one ``MGET`` of their states;
- cases: the indexed ``cases.find(sla="at_risk")`` query, bounded by open cases
  with a deadline due by today, not by the history; the stream runs it less often.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.agent_states import Status
from domain.hours import Line
from domain.masking import mask_name
from flows import Flows
from live import agent_states, queueboard
from services import accounts, agent_shift, cases
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


def queues(redis: Redis, flows: Flows, now: datetime) -> list[dict]:
    """``GET /api/queues``: one entry per queue, today's figures (local day of ``now``)."""
    names = flows.queues()
    figures = queueboard.snapshot(
        redis, [q.name for q in names], now.timestamp(), now.date().isoformat()
    )
    local = now.replace(tzinfo=None)
    hours = {line.code: _hours(line, local) for line in flows.lines.values()}
    out = []
    for queue, f in zip(names, figures, strict=True):
        line = queue.line
        out.append(
            {
                "name": queue.name,
                "line": line.code,
                "waiting": f.waiting,
                "longest_wait_seconds": f.longest_wait_seconds,
                "kind": queue.kind,
                "line_name": line.name,
                "day": now.date().isoformat(),
                "average_wait_seconds": f.average_wait_seconds,
                "offered": f.offered,
                "answered": f.answered,
                "answered_within_20s": f.answered_in_sl,
                "abandoned": f.abandoned,
                "left_for_callback": f.left_for_callback,
                "failed": f.failed,
                "service_level": None if f.service_level is None else round(f.service_level, 4),
                "service_level_seconds": flows.call_flow.limits.service_level_seconds,
                "callbacks_pending": f.callbacks_pending,
                "line_open": hours[line.code]["open"],
                "line_hours": hours[line.code],
            }
        )
    return out


def lines(flows: Flows, queue_entries: list[dict]) -> list[dict]:
    """Per line: its hours now, and its queues' figures added up."""
    out = []
    for line in flows.lines.values():
        mine = [q for q in queue_entries if q["line"] == line.code]
        total = {
            key: sum(q[key] for q in mine)
            for key in ("waiting", "offered", "answered", "answered_within_20s", "abandoned")
        }
        out.append(
            {
                "line": line.code,
                "name": line.name,
                **(mine[0]["line_hours"] if mine else {}),
                **total,
                "longest_wait_seconds": max((q["longest_wait_seconds"] for q in mine), default=0),
                "service_level": (
                    round(total["answered_within_20s"] / total["offered"], 4)
                    if total["offered"]
                    else None
                ),
                "callbacks_pending": sum(q["callbacks_pending"] for q in mine),
            }
        )
    return out


def agents(db_session: Session, redis: Redis, now: datetime) -> dict:
    """``GET /api/agents``: every account of the agent role in its live state, and the counts.

    Each entry is ``GET /api/agents/me``'s object (plus ``role`` and ``seconds`` in the
    state); supervisors take no calls and are not listed. Agent usernames are staff
    identities, not customers' data: shown as they are.
    """
    rows = db_session.scalars(
        select(Agent).where(Agent.role == accounts.AGENT).order_by(Agent.username)
    ).all()
    states = agent_states.get_many(redis, [agent.username for agent in rows])
    out = []
    counts = {str(s): 0 for s in Status}
    for agent in rows:
        state = states[agent.username]
        if not state.queues:
            state = replace(state, queues=tuple(agent.queue_list))
        counts[str(state.status)] += 1
        shown = agent_shift.Shown(agent.username, state).as_dict(now)
        out.append({**shown, "role": agent.role})
    return {"agents": out, "counts": counts}


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
