"""The interval history in SQL: folded from the calls' records, once per call, rebuilt the same,
pruned."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from domain.contributions import AGENT_HANDLED, HANDLED, LEFT_QUEUE, OFFERED
from domain.service_level import QueueTotals
from runtime import current_flows
from services import call_records, history_upkeep, interval_history, reports
from storage import db, repository
from storage.models import AgentInterval, AuthFailure, CallRecord, QueueInterval

TZ = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, second: float = 0) -> datetime:
    whole = int(second)
    return datetime(2026, 3, day, hour, minute, whole, round((second - whole) * 1e6), tzinfo=TZ)


def noted(app, sid: str, at: datetime, **facts) -> None:
    with app.app_context():
        call_records.note(db.session(), sid, at, **facts)
        db.session().commit()


def entered(app, sid, at, queue="medical", **facts):
    noted(app, sid, at, queue=queue, line="medical", enqueued_at=at, **facts)


def answered(app, sid, entered_at, at, agent="ann"):
    with app.app_context():
        wait = (at - entered_at).total_seconds()
        call_records.answered(db.session(), sid, at, agent, wait)
        db.session().commit()


def left(app, sid, entered_at, at, result="hangup"):
    with app.app_context():
        wait = (at - entered_at).total_seconds()
        call_records.left_queue(db.session(), sid, at, result, wait)
        db.session().commit()


def ended(app, sid, at, **facts):
    with app.app_context():
        call_records.ended(db.session(), sid, at, "completed", None, **facts)
        db.session().commit()


def by_interval(app, first: date, last: date | None = None, queue="medical"):
    with app.app_context():
        rows = reports.intervals(db.session(), first, last or first, TZ, queue)
    return {start.astimezone(TZ).strftime("%d %H:%M"): totals for start, _q, totals in rows}


def day_totals(app, day: date, queue="medical") -> QueueTotals:
    with app.app_context():
        rows = reports.days(db.session(), day, day, TZ, queue)
    return rows[0][2] if rows else QueueTotals()


def folded(app) -> int:
    """Fold the records noted so far into the history, as a reader or the upkeep job would."""
    with app.app_context():
        return interval_history.fold_all(db.session())


def table_rows(app) -> dict:
    folded(app)
    with app.app_context():
        session = db.session()
        out = {}
        for model, key in ((QueueInterval, "queue"), (AgentInterval, "username")):
            table = model.__table__
            for row in session.execute(select(table)).mappings():
                values = dict(row)
                start = values.pop("interval_start")
                start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
                out[(table.name, values.pop(key), start)] = values
        session.rollback()
        return out


def marks(app, sid) -> int:
    with app.app_context():
        return db.session().get(CallRecord, sid).counted


# -- written as calls move -----------------------------------------------------------------


def test_a_call_is_offered_where_it_entered_and_answered_where_it_left(app):
    entered(app, "CA1", local(10, 10, 25))
    answered(app, "CA1", local(10, 10, 25), local(10, 10, 35))
    found = by_interval(app, date(2026, 3, 10))
    assert (found["10 10:00"].offered, found["10 10:00"].answered) == (1, 0)
    assert (found["10 10:30"].offered, found["10 10:30"].answered) == (0, 1)
    assert found["10 10:30"].wait_total_seconds == 600


def test_a_caller_still_waiting_is_offered_but_not_yet_in_the_service_level(app):
    entered(app, "CA1", local(10, 10, 0))
    found = day_totals(app, date(2026, 3, 10))
    assert (found.offered, found.answered, found.abandoned, found.service_level) == (1, 0, 0, None)


def test_answered_at_20_seconds_is_within_and_an_abandon_at_5_seconds_is_short(app):
    start = local(10, 10, 0)
    for sid, wait, how in (
        ("CA1", 20, "answer"),
        ("CA2", 20.5, "answer"),
        ("CA3", 5, "hangup"),
        ("CA4", 5.5, "hangup"),
    ):
        entered(app, sid, start)
        if how == "answer":
            answered(app, sid, start, start + timedelta(seconds=wait))
        else:
            left(app, sid, start, start + timedelta(seconds=wait))
    found = day_totals(app, date(2026, 3, 10))
    assert (found.answered, found.answered_within_sl) == (2, 1)
    assert (found.abandoned, found.short_abandons) == (1, 1)
    assert found.service_level == pytest.approx(1 / 3)
    assert found.longest_wait_seconds == 20.5


def test_replayed_webhooks_and_facts_out_of_order_count_once(app):
    start = local(10, 10, 0)
    for _ in range(3):
        ended(app, "CA1", start + timedelta(minutes=9))
        answered(app, "CA1", start, start + timedelta(seconds=12))
        entered(app, "CA1", start)
        left(app, "CA1", start, start + timedelta(minutes=9), "bridged")
        entered(app, "CA2", start)
        left(app, "CA2", start, start + timedelta(seconds=40))
        ended(app, "CA2", start + timedelta(seconds=40))
    found = day_totals(app, date(2026, 3, 10))
    assert (found.offered, found.answered, found.abandoned, found.handled) == (2, 1, 1, 1)
    assert found.handle_total_seconds == 9 * 60 - 12
    assert marks(app, "CA1") == OFFERED | LEFT_QUEUE | HANDLED | AGENT_HANDLED
    assert marks(app, "CA2") == OFFERED | LEFT_QUEUE


def test_an_answered_call_that_ends_talked_from_its_answer_to_its_end(app):
    start = local(10, 10, 0)
    entered(app, "CA1", start)
    answered(app, "CA1", start, start + timedelta(seconds=10))
    ended(app, "CA1", start + timedelta(seconds=310))
    found = day_totals(app, date(2026, 3, 10))
    assert (found.handled, found.average_handle_time) == (1, 300)
    with app.app_context():  # noted on the record by the fold that counted it
        assert db.session().get(CallRecord, "CA1").talk_seconds == 300


def test_a_talk_time_noted_first_stands_and_a_wrap_up_noted_later_joins_its_interval(app):
    start = local(10, 10, 0)
    entered(app, "CA1", start)
    answered(app, "CA1", start, start + timedelta(seconds=10))
    noted(app, "CA1", start, talk_seconds=120)
    ended(app, "CA1", start + timedelta(minutes=5))
    # The wrap-up is over an hour later (noted then): it joins the call's interval.
    noted(app, "CA1", start + timedelta(hours=1), wrap_up_seconds=45)
    noted(app, "CA1", start + timedelta(hours=1), wrap_up_seconds=45)
    found = by_interval(app, date(2026, 3, 10))
    assert list(found) == ["10 10:00"]
    assert (found["10 10:00"].handled, found["10 10:00"].average_handle_time) == (1, 165)
    with app.app_context():
        rows = db.session().scalars(select(AgentInterval)).all()
        assert [(r.username, r.handled, r.talk_seconds, r.wrap_up_seconds) for r in rows] == [
            ("ann", 1, 120, 45)
        ]


# -- the day's last interval and midnight ---------------------------------------------------


def test_a_call_leaving_at_23_59_59_is_in_23_30_and_at_midnight_in_the_next_days_first(app):
    entered(app, "CA1", local(10, 23, 59))
    answered(app, "CA1", local(10, 23, 59), local(10, 23, 59, 59))
    entered(app, "CA2", local(10, 23, 59, 50))
    answered(app, "CA2", local(10, 23, 59, 50), local(11, 0, 0))
    found = by_interval(app, date(2026, 3, 10), date(2026, 3, 11))
    assert (found["10 23:30"].offered, found["10 23:30"].answered) == (2, 1)
    assert (found["11 00:00"].offered, found["11 00:00"].answered) == (0, 1)
    assert day_totals(app, date(2026, 3, 10)).answered == 1
    assert day_totals(app, date(2026, 3, 11)).answered == 1


def test_a_call_across_midnight_counts_on_each_day_what_happened_that_day(app):
    entered(app, "CA1", local(10, 23, 50))
    answered(app, "CA1", local(10, 23, 50), local(11, 0, 5))
    ended(app, "CA1", local(11, 0, 35))
    before, after = day_totals(app, date(2026, 3, 10)), day_totals(app, date(2026, 3, 11))
    assert (before.offered, before.answered, before.handled) == (1, 0, 0)
    assert (after.offered, after.answered, after.handled) == (0, 1, 1)
    assert after.answered_within_sl == 0 and after.service_level == 0.0
    with app.app_context():
        days = reports.days(db.session(), date(2026, 3, 10), date(2026, 3, 11), TZ)
    assert [(day.isoformat(), queue) for day, queue, _ in days] == [
        ("2026-03-10", "medical"),
        ("2026-03-11", "medical"),
    ]


# -- folded off the webhook ----------------------------------------------------------------


def pending(app, sid) -> bool:
    with app.app_context():
        return db.session().get(CallRecord, sid).pending


def test_noting_a_fact_writes_no_interval_row_until_the_record_is_folded(app):
    entered(app, "CA1", local(10, 10, 0))
    with app.app_context():
        assert db.session().scalars(select(QueueInterval)).all() == []
    assert pending(app, "CA1") and marks(app, "CA1") == 0
    assert folded(app) == 1
    assert not pending(app, "CA1") and marks(app, "CA1") == OFFERED
    assert folded(app) == 0
    assert day_totals(app, date(2026, 3, 10)).offered == 1


def test_a_fact_noted_after_a_fold_is_the_next_folds_and_adds_only_what_it_made_due(app):
    start = local(10, 10, 0)
    entered(app, "CA1", start)
    assert folded(app) == 1
    left(app, "CA1", start, start + timedelta(seconds=40))
    entered(app, "CA1", start)  # a replayed webhook: nothing new
    assert pending(app, "CA1")
    assert folded(app) == 1
    found = day_totals(app, date(2026, 3, 10))
    assert (found.offered, found.abandoned) == (1, 1)
    assert marks(app, "CA1") == OFFERED | LEFT_QUEUE


def test_a_fold_takes_a_batch_at_a_time_oldest_first(app):
    for i in range(5):
        entered(app, f"CA{i}", local(10, 10, i))
    with app.app_context():
        session = db.session()
        assert interval_history.fold(session, batch=2) == 2
        session.commit()
    assert [pending(app, f"CA{i}") for i in range(5)] == [False, False, True, True, True]
    assert day_totals(app, date(2026, 3, 10)).offered == 5


def test_a_rebuild_of_records_not_yet_folded_marks_them_so_the_fold_adds_them_once(app, runner):
    entered(app, "CA1", local(10, 10))
    answered(app, "CA1", local(10, 10), local(10, 10, 1))
    # Across midnight: its end (handled) falls on the 11th, outside the days rebuilt.
    entered(app, "CA2", local(10, 23, 50))
    answered(app, "CA2", local(10, 23, 50), local(10, 23, 55))
    ended(app, "CA2", local(11, 0, 10))
    result = runner.invoke(
        args=["reports", "rebuild", "--from", "2026-03-10", "--to", "2026-03-10"]
    )
    assert result.exit_code == 0, result.output
    assert marks(app, "CA1") == OFFERED | LEFT_QUEUE
    assert marks(app, "CA2") == OFFERED | LEFT_QUEUE  # handled on the 11th: the fold's
    assert folded(app) == 2
    before, after = day_totals(app, date(2026, 3, 10)), day_totals(app, date(2026, 3, 11))
    assert (before.offered, before.answered, before.handled) == (2, 2, 0)
    assert (after.offered, after.answered, after.handled) == (0, 0, 1)


# -- two processes at once -----------------------------------------------------------------


def twice_at_once(app, work) -> list:
    """``work()`` in two threads at once, each in an app context of its own: what each gave."""
    barrier = threading.Barrier(2)
    errors, results = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                results.append(work())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_the_same_fact_noted_by_two_processes_at_once_counts_once(app):
    start = local(10, 10, 0)
    entered(app, "CA1", start)

    def leave():
        call_records.left_queue(db.session(), "CA1", start + timedelta(seconds=30), "hangup", 30)
        db.session().commit()

    twice_at_once(app, leave)
    assert day_totals(app, date(2026, 3, 10)).abandoned == 1


def test_two_folds_at_once_count_each_call_once(app):
    start = local(10, 10, 0)
    for i in range(40):
        entered(app, f"CA{i}", start)
        left(app, f"CA{i}", start, start + timedelta(seconds=30))

    def fold():
        session = db.session()
        claimed = interval_history.fold(session, batch=25)
        session.commit()
        return claimed

    assert sum(twice_at_once(app, fold)) <= 40
    found = day_totals(app, date(2026, 3, 10))
    assert (found.offered, found.abandoned) == (40, 40)


# -- rebuilt from the records --------------------------------------------------------------

WAYS_OUT = st.sampled_from(["answer", "hangup", "leave", "queue-full", None])


@st.composite
def histories(draw):
    """Calls on 10–11 March: when each entered, how and when it left, talk and wrap-up."""
    calls = []
    for i in range(draw(st.integers(min_value=1, max_value=12))):
        entered_at = local(10, 22) + timedelta(seconds=draw(st.integers(0, 3 * 3600)))
        way = draw(WAYS_OUT)
        wait = draw(st.floats(min_value=0, max_value=900, allow_nan=False))
        talk = draw(st.none() | st.integers(0, 1800))
        wrap = draw(st.none() | st.integers(0, 300))
        queue = draw(st.sampled_from(["medical", "policy"]))
        calls.append((f"CA{i}", entered_at, way, wait, talk, wrap, queue))
    return calls


def play(app, calls, replays: int) -> None:
    for _ in range(replays):
        for sid, entered_at, way, wait, talk, wrap, queue in calls:
            entered(app, sid, entered_at, queue=queue)
            out = entered_at + timedelta(seconds=wait)
            if way == "answer":
                answered(app, sid, entered_at, out, agent=f"agent-{queue}")
                if talk is not None:
                    noted(app, sid, out, talk_seconds=talk)
                ended(app, sid, out + timedelta(seconds=talk or 60))
                if wrap is not None:
                    noted(app, sid, out, wrap_up_seconds=wrap)
            elif way is not None:
                left(app, sid, entered_at, out, way)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=histories(), replays=st.integers(1, 2))
def test_a_rebuild_from_the_records_writes_what_the_calls_wrote_as_they_moved(app, calls, replays):
    with app.app_context():
        session = db.session()
        for model in (QueueInterval, AgentInterval, CallRecord):
            session.execute(delete(model))
        session.commit()
    play(app, calls, replays)
    written = table_rows(app)
    with app.app_context():
        from runtime import current_flows

        history_upkeep.rebuild(
            db.session(), date(2026, 3, 9), date(2026, 3, 12), current_flows(), TZ
        )
        db.session().commit()
    rebuilt = table_rows(app)
    assert rebuilt.keys() == written.keys()
    for key, values in written.items():
        assert rebuilt[key] == pytest.approx(values), key


def test_a_rebuild_replaces_only_the_days_asked_for(app, runner):
    entered(app, "CA1", local(10, 10))
    entered(app, "CA2", local(11, 10))
    assert folded(app) == 2
    with app.app_context():
        session = db.session()
        session.execute(delete(QueueInterval))
        session.commit()
    result = runner.invoke(
        args=["reports", "rebuild", "--from", "2026-03-11", "--to", "2026-03-11"]
    )
    assert result.exit_code == 0, result.output
    assert "1 queue and 0 agent interval row(s) from 2 call record(s)" in result.output
    assert day_totals(app, date(2026, 3, 10)).offered == 0
    assert day_totals(app, date(2026, 3, 11)).offered == 1


def test_a_rebuild_refuses_a_period_that_ends_before_it_starts(runner):
    result = runner.invoke(
        args=["reports", "rebuild", "--from", "2026-03-11", "--to", "2026-03-10"]
    )
    assert result.exit_code != 0 and "must not be before --from" in result.output


# -- kept 400 days -------------------------------------------------------------------------


def test_pruning_keeps_the_last_keep_days_days_today_included(app):
    today = date(2026, 3, 10)
    for day in (today - timedelta(days=400), today - timedelta(days=399), today):
        at = datetime.combine(day, datetime.min.time(), tzinfo=TZ) + timedelta(hours=10)
        entered(app, f"CA{day}", at)
    folded(app)
    with app.app_context():
        gone = history_upkeep.prune(db.session(), today, 400, TZ)
        db.session().commit()
    assert gone == 1
    assert day_totals(app, today - timedelta(days=400)).offered == 0
    assert day_totals(app, today - timedelta(days=399)).offered == 1
    assert day_totals(app, today).offered == 1


def test_the_upkeep_job_prunes_and_reports_what_it_did(app, runner, clock):
    entered(app, "CA-old", local(10, 10) - timedelta(days=500))
    result = runner.invoke(args=["reports", "upkeep"])
    assert result.exit_code == 0, result.output
    assert "1 call record(s) folded, 0 spell(s) counted, 1 old interval row(s) pruned." in (
        result.output
    )


def test_the_upkeep_job_forgets_failed_tries_past_their_window(app, runner, clock):
    with app.app_context():
        window = current_flows().call_flow.limits.failure_window_seconds
    now = clock.now().timestamp()
    tries = [
        {"kind": repository.FAILED_HOLDER, "subject": "P1", "attempt": a, "at": at}
        for a, at in (("CA1:2", now - window - 1), ("CA2:2", now - window + 60))
    ]
    with app.app_context():
        repository.record_failures(db.session(), tries)
        db.session().commit()
    result = runner.invoke(args=["reports", "upkeep"])
    assert result.exit_code == 0, result.output
    assert "1 failed authentication try(ies) past their window forgotten." in result.output
    with app.app_context():
        kept = db.session().scalars(select(AuthFailure.attempt)).all()
    assert kept == ["CA2:2"]
