"""The interval history in SQL (SPEC §7), written as calls enter and leave queues and end.

Every fact noted on a call record (``services.call_records.note``) returns, from the
note's own upsert, what the record now knows and which of its contributions
(``domain.contributions``) were already made; those that became due are added here, in
the same transaction: an ``UPDATE`` marks them on the record and an upsert per interval
row adds them, all in one round trip on PostgreSQL. A retried webhook or a replayed
event finds them marked and adds nothing; two processes noting facts of one call take
turns on its row (the note's upsert holds it until commit), so each contribution is made
once. No scan: statements by primary key for the call that changed, whatever the
history holds, compiled once per process.

A callback asked for is counted here too (``callback_requested``), in the transaction
that keeps the callback.

The rules (``flows/reports.toml``, the call flow's service level) and the zone are the
running app's; ``hotline reports rebuild`` (``services.history_upkeep``) writes the
same rows again from the records, by the same rules.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, case, update
from sqlalchemy.orm import Session

from domain import contributions
from domain.contributions import AGENT, QUEUE, Contribution
from domain.intervals import day_of, utc
from domain.service_level import LONGEST
from runtime import current_clock, current_flows
from storage.models import AgentInterval, CallRecord, QueueInterval
from storage.prepared import Batch, insert

TABLES: dict[str, Table] = {
    QUEUE: QueueInterval.__table__,
    AGENT: AgentInterval.__table__,
}
KEY_COLUMN = {QUEUE: "queue", AGENT: "username"}
# Every figure column of each table (0 in a new row; the longest wait: none yet).
FIGURES = {
    name: tuple(
        c.name for c in table.columns if c.name not in ("interval_start", "day", KEY_COLUMN[name])
    )
    for name, table in TABLES.items()
}
# The facts the contributions are made of, and the marks of those already made.
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
CallFacts = namedtuple("CallFacts", CALL_FIELDS)
RECORDS = CallRecord.__table__
# The statements of a write, by their shape: whether the call's marks (and a talk time)
# are set, and which figures of which rows are added. A handful of shapes cover every
# call; each is compiled once (``storage.prepared``) and runs in one round trip on
# PostgreSQL: building statements anew for every call cost more than running them.
_BATCHES: dict[tuple, Batch] = {}
MARKS, MARKS_AND_TALK = "marks", "marks and talk"


def call_noted(session: Session, call: CallFacts) -> None:
    """Add what ``call`` (its record as the note's upsert left it) newly makes due.

    Called in the note's transaction, after its upsert, which holds the record's row
    until commit: the marks it returned are the latest. A call answered and ended with
    no talk time noted talked from its answer to its end: that is noted on the record
    too (first value wins, as for any fact).
    """
    talk = None
    if call.answered_at is not None and call.ended_at is not None and call.talk_seconds is None:
        talk = max(0, round((utc(call.ended_at) - utc(call.answered_at)).total_seconds()))
        call = call._replace(talk_seconds=talk)
    flows, tz = current_flows(), current_clock().tz
    due = contributions.of_call(call, flows.reports.rules, tz, flows.calls_queue, call.counted)
    if not due and talk is None:
        return
    params = {"sid": call.call_sid, "counted": call.counted | contributions.marks_of(due)}
    if talk is not None:
        params["talk"] = talk
    _write(session.connection(), MARKS if talk is None else MARKS_AND_TALK, params, due, tz)


def callback_requested(session: Session, line: str, at: datetime) -> None:
    """A callback was asked for on ``line`` (counted with the callback kept, once)."""
    flows, tz = current_flows(), current_clock().tz
    contribution = contributions.of_callback_request(line, at, tz, flows.calls_queue)
    if contribution is not None:
        add(session, [contribution], tz)


def add(session: Session, made: Iterable[Contribution], tz: ZoneInfo) -> None:
    """Add contributions to their interval rows, creating rows as needed.

    Row by row (a fold adds hundreds): one statement per kind of row, not one per batch.
    """
    connection = session.connection()
    for row, figures in sorted(contributions.add_up(made).items()):
        table_name, key, interval = row
        _write(connection, None, {}, [Contribution(0, table_name, key, interval, figures)], tz)


def _write(connection, marks: str | None, params: dict, made, tz: ZoneInfo) -> None:
    """Set the call's marks (``marks``: which update, if any) and add ``made``, together.

    Rows are written in one order (table, key, interval), so two transactions adding
    to the same rows wait for each other instead of deadlocking. A call's few rows make
    a shape among a bounded few (ways out × handled or not), each compiled once.
    """
    rows = []
    for i, ((table_name, key, interval), figures) in enumerate(
        sorted(contributions.add_up(made).items())
    ):
        rows.append((table_name, tuple(sorted(figures))))
        params[f"r{i}_interval_start"] = interval
        params[f"r{i}_day"] = day_of(interval, tz)
        params[f"r{i}_{KEY_COLUMN[table_name]}"] = key
        for name, value in figures.items():
            params[f"r{i}_{name}"] = value
    shape = (marks, tuple(rows))
    batch = _BATCHES.get(shape)
    if batch is None:
        batch = _BATCHES[shape] = Batch(lambda dialect: _statements(dialect, *shape))
    batch.execute(connection, params)


def _statements(dialect, marks: str | None, rows) -> list:
    out = []
    if marks is not None:
        values = {"counted": bindparam("counted", type_=RECORDS.c.counted.type)}
        if marks == MARKS_AND_TALK:
            values["talk_seconds"] = bindparam("talk", type_=RECORDS.c.talk_seconds.type)
        out.append(update(RECORDS).where(RECORDS.c.call_sid == bindparam("sid")).values(values))
    for i, (table_name, figures) in enumerate(rows):
        out.append(_upsert(dialect, i, table_name, figures))
    return out


def _upsert(dialect, i: int, table_name: str, figures: tuple[str, ...]):
    """Add ``figures`` to row ``i`` of the write; the other figures of a new row are 0."""
    table = TABLES[table_name]
    written = ("interval_start", "day", KEY_COLUMN[table_name], *figures)
    statement = insert(dialect, table).values(
        {name: bindparam(f"r{i}_{name}", type_=table.c[name].type) for name in written}
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
