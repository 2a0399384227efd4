"""The interval history in SQL (SPEC §7), written as calls enter and leave queues and end.

Every fact noted on a call record (``services.call_records.note``) comes back from its
upsert with what the record now knows and which contributions (``domain.contributions``)
were already made. Those that became due are added here, in the same transaction:
one ``UPDATE`` marks them on the record, one upsert per interval row adds them. A
retried webhook or a replayed event finds them marked and adds nothing; two processes
noting facts of one call take turns on its row (the upsert holds it until commit), so
each contribution is made once. No read, no scan: the cost is a few statements for the
call that changed, whatever the history holds.

A callback asked for is counted here too (``callback_requested``), in the transaction
that keeps the callback.

The rules (``flows/reports.toml``, the call flow's service level) and the zone are the
running app's; ``hotline reports rebuild`` (``services.report_history``) writes the
same rows again from the records, by the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import Table, case, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from domain import contributions
from domain.contributions import AGENT, QUEUE, Contribution
from domain.intervals import day_of, utc
from domain.service_level import LONGEST
from runtime import current_clock, current_flows
from storage import db
from storage.models import AgentInterval, CallRecord, QueueInterval

TABLES: dict[str, Table] = {
    QUEUE: QueueInterval.__table__,
    AGENT: AgentInterval.__table__,
}
KEY_COLUMN = {QUEUE: "queue", AGENT: "username"}
# Every figure column of each table, each 0 in a new row (the longest wait: none yet).
FIGURES = {
    name: tuple(
        c.name for c in table.columns if c.name not in ("interval_start", "day", KEY_COLUMN[name])
    )
    for name, table in TABLES.items()
}
# What the note's upsert returns: the facts the contributions are made of, and the marks.
CALL_FIELDS = (
    "call_sid",
    "counted",
    "kind",
    "queue",
    "line",
    "agent",
    "enqueued_at",
    "left_queue_at",
    "queue_result",
    "wait_seconds",
    "answered_at",
    "talk_seconds",
    "wrap_up_seconds",
    "ended_at",
)


def call_noted(session: Session, call: Row) -> None:
    """Add what ``call`` (as its record stands after a note) newly makes due, and mark it.

    A call answered and ended with no talk time noted talked from its answer to its
    end: that is noted on the record too (first value wins, as for any fact).
    """
    talk = None
    if call.answered_at is not None and call.ended_at is not None and call.talk_seconds is None:
        talk = max(0, round((utc(call.ended_at) - utc(call.answered_at)).total_seconds()))
        call = SimpleNamespace(**{**call._mapping, "talk_seconds": talk})
    flows = current_flows()
    due = contributions.not_yet_counted(
        contributions.of_call(call, flows.reports.rules, current_clock().tz, flows.calls_queue),
        call.counted,
    )
    if not due and talk is None:
        return
    marks = {"counted": call.counted | contributions.marks_of(due)}
    if talk is not None:
        marks["talk_seconds"] = talk
    records = CallRecord.__table__
    session.execute(update(records).where(records.c.call_sid == call.call_sid).values(**marks))
    add(session, due, current_clock().tz)


def callback_requested(session: Session, line: str, at: datetime) -> None:
    """A callback was asked for on ``line`` (counted with the callback kept, once)."""
    flows, tz = current_flows(), current_clock().tz
    contribution = contributions.of_callback_request(line, at, tz, flows.calls_queue)
    if contribution is not None:
        add(session, [contribution], tz)


def add(session: Session, made: Iterable[Contribution], tz: ZoneInfo) -> None:
    """Add contributions to their interval rows, creating rows as needed.

    Rows are written in one order (table, key, interval), so two transactions adding
    to the same rows wait for each other instead of deadlocking.
    """
    rows = contributions.add_up(made)
    connection = session.connection()
    for (table_name, key, interval), figures in sorted(rows.items()):
        session.execute(_upsert(connection, table_name, key, interval, figures, tz))


def _upsert(connection, table_name: str, key: str, interval: datetime, figures: dict, tz):
    table = TABLES[table_name]
    values = dict.fromkeys(FIGURES[table_name], 0)
    if LONGEST in values:
        values[LONGEST] = None
    values.update(figures)
    statement = db.insert(connection, table).values(
        interval_start=interval, day=day_of(interval, tz), **{KEY_COLUMN[table_name]: key}, **values
    )
    excluded = statement.excluded
    grown = {}
    for name in figures:
        if name == LONGEST:
            grown[name] = case(
                (table.c[name].is_(None), excluded[name]),
                (excluded[name] > table.c[name], excluded[name]),
                else_=table.c[name],
            )
        else:
            grown[name] = table.c[name] + excluded[name]
    return statement.on_conflict_do_update(
        index_elements=["interval_start", KEY_COLUMN[table_name]], set_=grown
    )
