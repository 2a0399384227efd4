"""The interval history in SQL (SPEC §7): the call records folded into half-hour rows.

A webhook notes facts on its own call's record (``services.call_records.note``), which
marks the record pending; it writes no interval row. Every call adds to the same few
rows (this half hour, this queue): written from the webhooks, under load, those rows
made every call wait for the others' commits. ``fold`` adds, from the records
pending, what their facts made due (``domain.contributions``) and not yet counted,
marks it counted on each record and clears its pending flag, in one transaction: a
contribution is added once however often a fact is noted again or folds run (two
folds claim different records: the claim skips a record another holds). Whoever
reads the history folds first (``services.reports``), and the reports' upkeep job
folds every few minutes, so the figures read are whole at every moment.

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

from sqlalchemy import Table, bindparam, case, func, select, text, true, update
from sqlalchemy.orm import Session

from domain import contributions
from domain.contributions import AGENT, QUEUE, Contribution
from domain.intervals import day_of
from domain.service_level import LONGEST
from runtime import current_clock, current_flows
from services import call_notes
from storage.models import AgentInterval, CallRecord, QueueInterval
from storage.prepared import Prepared, insert

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
# The same words as the partial index ``ix_call_records_pending``, so it is used.
PENDING = RECORDS.c.pending == true()
# Records claimed per transaction: a webhook noting a fact on a record being folded
# waits for that transaction, so it is kept short (a few tens of ms on PostgreSQL).
FOLD_BATCH = 500
# A record's marks, and its talk time when the fold worked it out (first value wins).
_MARK = (
    update(RECORDS)
    .where(RECORDS.c.call_sid == bindparam("sid"))
    .values(
        counted=bindparam("counted", type_=RECORDS.c.counted.type),
        talk_seconds=func.coalesce(
            RECORDS.c.talk_seconds, bindparam("talk", type_=RECORDS.c.talk_seconds.type)
        ),
    )
)
# The statement adding to one row, by the row's shape (which table, which figures):
# each compiled once (``storage.prepared``): building statements anew for every row
# cost more than running them.
_UPSERTS: dict[tuple[str, tuple[str, ...]], Prepared] = {}


def fold(session: Session, batch: int = FOLD_BATCH) -> int:
    """Add what the pending records made due to the history; how many records were folded.

    At most ``batch`` records, oldest first; the caller commits. A webhook noting a
    fact on a record being folded waits for this transaction, then marks it pending
    again: its fact is the next fold's.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The order every writer of the history takes its locks in (a rebuild holds both).
        session.execute(text("LOCK TABLE queue_intervals, agent_intervals IN ROW EXCLUSIVE MODE"))
    due = (
        select(RECORDS.c.call_sid)
        .where(PENDING)
        .order_by(RECORDS.c.started_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    claimed = session.execute(
        update(RECORDS)
        .where(RECORDS.c.call_sid.in_(due.scalar_subquery()), PENDING)
        .values(pending=False)
        .returning(*(RECORDS.c[name] for name in CALL_FIELDS))
    ).all()
    if not claimed:
        return 0
    flows, tz = current_flows(), current_clock().tz
    made, marks = [], []
    for record in claimed:
        call = CallFacts(*record)
        due_now = contributions.of_call(
            call, flows.reports.rules, tz, flows.calls_queue, call.counted
        )
        talk = contributions.talk_of(call) if call.talk_seconds is None else None
        if due_now or talk is not None:
            made.extend(due_now)
            marks.append(
                {
                    "sid": call.call_sid,
                    "counted": call.counted | contributions.marks_of(due_now),
                    "talk": talk,
                }
            )
    if marks:
        session.execute(_MARK, marks)
    add(session, made, tz)
    return len(claimed)


def fold_all(session: Session) -> int:
    """Fold every pending record, committing each batch; how many were folded.

    This process's call notes not yet written are written first (``call_notes``): what
    the reports then read includes every call noted here before they looked.
    """
    call_notes.written()
    folded = 0
    while True:
        done = fold(session)
        session.commit()
        folded += done
        if done < FOLD_BATCH:
            return folded


def callback_requested(session: Session, line: str, at: datetime) -> None:
    """A callback was asked for on ``line`` (counted with the callback kept, once)."""
    flows, tz = current_flows(), current_clock().tz
    contribution = contributions.of_callback_request(line, at, tz, flows.calls_queue)
    if contribution is not None:
        add(session, [contribution], tz)


def add(session: Session, made: Iterable[Contribution], tz: ZoneInfo) -> None:
    """Add contributions to their interval rows, creating rows as needed.

    Rows are written in one order (table, key, interval), so two transactions adding
    to the same rows wait for each other instead of deadlocking; one statement per row
    (a fold adds up its calls first: hundreds of calls, a few rows).
    """
    connection = session.connection()
    for (table_name, key, interval), figures in sorted(contributions.add_up(made).items()):
        names = tuple(sorted(figures))
        shape = (table_name, names)
        upsert = _UPSERTS.get(shape)
        if upsert is None:
            upsert = _UPSERTS[shape] = Prepared(lambda dialect, s=shape: _upsert(dialect, *s))
        params = {
            "interval_start": interval,
            "day": day_of(interval, tz),
            KEY_COLUMN[table_name]: key,
            **figures,
        }
        upsert.execute(connection, params)


def _upsert(dialect, table_name: str, figures: tuple[str, ...]):
    """Add ``figures`` to a row; the other figures of a new row are 0."""
    table = TABLES[table_name]
    written = ("interval_start", "day", KEY_COLUMN[table_name], *figures)
    statement = insert(dialect, table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in written}
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
