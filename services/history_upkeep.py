"""Keeping the interval history: rebuilt from the records after an outage, pruned to its days.

**Rebuild** (``hotline reports rebuild --from --to``) writes the rows of the local days
asked for again from what SQL recorded: the call records (``domain.contributions``
makes each call's contributions, as the live writes do), the callbacks asked for, and
the agents' spells already counted; spells not counted yet are left to ``fold``,
which the command runs next. It replaces the days' rows in one transaction; on
PostgreSQL it first locks both tables against the folds, which wait and then add
what they were adding, and locks the call records it reads, so a call that moves
during a rebuild waits and is folded afterwards. What the rebuild counts of each
call is marked on its record, as a fold marks it: a record noted but not folded yet
is not counted again by the next fold; what a call added outside the days (a call
across midnight) keeps its mark, or is left to the fold.

**Prune** deletes the rows older than ``keep_days`` days (``flows/reports.toml``):
a day is kept while it is one of the last ``keep_days`` days, today included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, select, text, true, update
from sqlalchemy.orm import Session

from domain import contributions
from domain.contributions import QUEUE
from domain.intervals import day_of, day_start, days_span
from domain.service_level import LONGEST
from flows import Flows
from services import call_notes, interval_history
from services.agent_history import LOG, SPELL
from storage.models import Callback, CallRecord

# A call's contributions all fall within a day of its start (Twilio ends calls at 4 h).
LONGEST_CALL = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    calls: int
    callbacks: int
    spells: int
    queue_rows: int
    agent_rows: int


def rebuild(session: Session, first: date, last: date, flows: Flows, tz: ZoneInfo) -> Rebuilt:
    """Write the interval rows of the local days ``first`` to ``last`` again; the caller commits."""
    call_notes.written()  # this process's call notes not yet written
    start, end = days_span(first, last, tz)
    within = (start, end)
    if session.connection().dialect.name == "postgresql":
        session.execute(
            text("LOCK TABLE queue_intervals, agent_intervals IN SHARE ROW EXCLUSIVE MODE")
        )
    for table in interval_history.TABLES.values():
        session.execute(
            delete(table).where(table.c.interval_start >= start, table.c.interval_start < end)
        )

    made = []
    records = CallRecord.__table__
    calls = session.execute(
        select(*(records.c[name] for name in interval_history.CALL_FIELDS))
        .where(records.c.started_at >= start - LONGEST_CALL, records.c.started_at < end)
        .with_for_update()
    ).all()
    marked = []
    for call in calls:
        counted = [
            contribution
            for contribution in contributions.of_call(
                call, flows.reports.rules, tz, flows.calls_queue
            )
            if start <= contribution.interval < end
        ]
        made.extend(counted)
        marks = call.counted | contributions.marks_of(counted)
        if marks != call.counted:
            marked.append({"sid": call.call_sid, "marks": marks})
    if marked:
        session.execute(
            update(records)
            .where(records.c.call_sid == bindparam("sid"))
            .values(counted=bindparam("marks")),
            marked,
        )
    callbacks = Callback.__table__
    asked = session.execute(
        select(callbacks.c.line, callbacks.c.created_at).where(
            callbacks.c.created_at >= start, callbacks.c.created_at < end
        )
    ).all()
    for line, created_at in asked:
        contribution = contributions.of_callback_request(line, created_at, tz, flows.calls_queue)
        if contribution is not None:
            made.append(contribution)
    spells = session.execute(
        select(*SPELL).where(
            LOG.c.counted == true(), LOG.c.started_at < end, LOG.c.ended_at > start
        )
    ).all()
    for username, state, reason, started, ended in spells:
        made.extend(contributions.of_spell(username, state, reason, started, ended, tz, within))

    rows = contributions.add_up(made)
    written = {name: [] for name in interval_history.TABLES}
    for (table_name, key, interval), figures in sorted(rows.items()):
        row = dict.fromkeys(interval_history.FIGURES[table_name], 0)
        if LONGEST in row:
            row[LONGEST] = None
        row.update(figures)
        row.update(
            interval_start=interval,
            day=day_of(interval, tz),
            **{interval_history.KEY_COLUMN[table_name]: key},
        )
        written[table_name].append(row)
    for table_name, table in interval_history.TABLES.items():
        if written[table_name]:
            session.execute(table.insert(), written[table_name])
    return Rebuilt(
        calls=len(calls),
        callbacks=len(asked),
        spells=len(spells),
        queue_rows=len(written[QUEUE]),
        agent_rows=sum(len(rows) for name, rows in written.items() if name != QUEUE),
    )


def prune(session: Session, today: date, keep_days: int, tz: ZoneInfo) -> int:
    """Delete the rows of days before the last ``keep_days``; how many went. The caller commits."""
    cutoff = day_start(today - timedelta(days=keep_days - 1), tz)
    gone = 0
    for table in interval_history.TABLES.values():
        gone += session.execute(delete(table).where(table.c.interval_start < cutoff)).rowcount
    return gone
