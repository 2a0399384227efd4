"""The supervisors' history: reading 400 days of it, and what writing it costs a webhook.

Two measurements, in process (the app with the Flask test client, the bench database
and the bench Redis):

1. **Reports over 400 days × 4 queues.** The interval tables are filled with 400 days
   of half hours for the four shipped queues (every interval busy) and 12 agents'
   working hours, then ``/api/reports/…`` and the reports page are asked for as a
   supervisor would, each ``--requests`` times per run; the run with the median p99 is
   shown. Target: the days report over 400 days answers in < 200 ms (p99).
2. **Interval writes per call-ending webhook.** ``POST /ivr/status`` (completed) for
   calls an agent answered — the call-ending webhook with the most history to write: the
   talk time worked out and the call counted handled for its queue and its agent — and
   the Enqueue action of callers hanging up in the queue. The webhook only marks the
   record pending; the history's work is ``interval_history.fold``, run after each
   block: its CPU per call (every statement it sends included), beside the webhook's
   own CPU and, on PostgreSQL, the database backends' CPU for each. Target: < 0.2 ms of
   CPU per call for the history.

    python -m benchmarks.reports                       # PostgreSQL
    python -m benchmarks.reports --database sqlite --runs 3
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import make_url

from benchmarks import databases
from benchmarks.common import (
    REDIS_URL,
    BenchmarkFailed,
    context,
    latency_summary,
    load_average,
    median,
    median_run,
    verdict,
)

DATABASE = "hotline_bench_reports"
TARGET_REPORT_MS = 200.0
TARGET_WRITE_MS = 0.2
DAYS = 400
QUEUES = ("medical", "medical-callback", "policy", "policy-callback")
AGENTS = 12
AUTH_TOKEN = "benchmark-auth-token"
BASE_URL = "https://hotline.example.com"


def fill(app, days: int, seed: int = 7) -> tuple[int, int]:
    """400 days of history ending today: every interval of every queue, agents 08:00–22:00."""
    from domain.intervals import day_of, intervals_of
    from runtime import current_clock
    from storage import db
    from storage.models import AgentInterval, QueueInterval

    rng = random.Random(seed)
    with app.app_context():
        tz, today = current_clock().tz, current_clock().today()
        queue_rows, agent_rows = [], []
        for back in range(days):
            for start in intervals_of(today - timedelta(days=back), tz):
                day = day_of(start, tz)
                for queue in QUEUES:
                    answered = rng.randrange(0, 40)
                    queue_rows.append(
                        {
                            "interval_start": start,
                            "queue": queue,
                            "day": day,
                            "offered": answered + rng.randrange(0, 6),
                            "answered": answered,
                            "answered_within_sl": rng.randrange(0, answered + 1),
                            "abandoned": rng.randrange(0, 4),
                            "short_abandons": rng.randrange(0, 3),
                            "left_for_callback": rng.randrange(0, 2),
                            "failed": 0,
                            "callbacks_requested": rng.randrange(0, 2),
                            "callbacks_completed": rng.randrange(0, 2),
                            "wait_total_seconds": answered * rng.uniform(2, 60),
                            "longest_wait_seconds": rng.uniform(0, 300),
                            "handled": answered,
                            "handle_total_seconds": answered * rng.uniform(120, 400),
                        }
                    )
                local_hour = start.astimezone(tz).hour
                if 8 <= local_hour < 22:
                    for agent in range(AGENTS):
                        handled = rng.randrange(0, 6)
                        agent_rows.append(
                            {
                                "interval_start": start,
                                "username": f"agent{agent:02d}",
                                "day": day,
                                "handled": handled,
                                "talk_seconds": handled * rng.uniform(100, 300),
                                "wrap_up_seconds": handled * 30.0,
                                "missed_offers": rng.randrange(0, 2),
                                "state_available_seconds": rng.uniform(0, 600),
                                "state_break_seconds": rng.uniform(0, 300),
                                "state_offered_seconds": rng.uniform(0, 60),
                                "state_on_call_seconds": rng.uniform(600, 1200),
                                "state_wrap_up_seconds": rng.uniform(0, 200),
                            }
                        )
        connection = db.session().connection()
        for table, rows in (
            (QueueInterval.__table__, queue_rows),
            (AgentInterval.__table__, agent_rows),
        ):
            for i in range(0, len(rows), 10_000):
                connection.execute(table.insert(), rows[i : i + 10_000])
        db.session().commit()
    return len(queue_rows), len(agent_rows)


def make_app(url: str):
    import redis as redis_lib

    from hotline import create_app
    from storage import schema
    from storage.db import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    return create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "benchmark",
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_BASE_URL": BASE_URL,
        }
    )


def supervisor_headers(app) -> dict[str, str]:
    from runtime import current_clock
    from services import accounts
    from storage import db

    with app.app_context():
        session = db.session()
        boss = accounts.add_agent(session, "boss", "supervisor", ["medical"], list(QUEUES))
        token = accounts.issue_token(session, boss, current_clock().now())
        session.commit()
    return {"Authorization": f"Bearer {token}"}


# -- 1. reading ----------------------------------------------------------------------------


def report_requests(app) -> list[tuple[str, str, bool, bool]]:
    """(name, path, is the target, is heavy: timed a few times only) of every report timed."""
    from runtime import current_clock

    with app.app_context():
        today = current_clock().today()
    year = f"from={today - timedelta(days=DAYS - 1)}&to={today}"
    month = f"from={today - timedelta(days=30)}&to={today}"
    return [
        (f"days, {DAYS} days × 4 queues (JSON)", f"/api/reports/days?{year}", True, False),
        (
            f"days, {DAYS} days × 4 queues (CSV)",
            f"/api/reports/days?{year}&format=csv",
            False,
            False,
        ),
        (
            "intervals, 1 day × 4 queues",
            f"/api/reports/intervals?from={today}&to={today}",
            False,
            False,
        ),
        (
            "intervals, 31 days × 4 queues (CSV)",
            f"/api/reports/intervals?{month}&format=csv",
            False,
            False,
        ),
        (f"intervals, {DAYS} days × 4 queues", f"/api/reports/intervals?{year}", False, True),
        (f"agents, {DAYS} days × {AGENTS} agents", f"/api/reports/agents?{year}", False, False),
        ("reports page, 1 day", f"/supervisor/reports?from={today}&to={today}", False, False),
        (f"reports page, {DAYS} days", f"/supervisor/reports?{year}", False, False),
    ]


def time_reports(app, headers, requests: int, runs: int) -> list[dict]:
    client = app.test_client()
    page_client = app.test_client()
    with page_client.session_transaction() as session:
        from agent_assist import auth
        from services import accounts
        from storage import db

        with app.app_context():
            boss = accounts.find_agent(db.session(), "boss")
            # A session as signing in makes it (its generation: sessions that end, issue 10).
            session[auth.SESSION_KEY] = boss.id
            session[auth.GENERATION_KEY] = boss.session_generation
    results = []
    for name, path, target, heavy in report_requests(app):
        by_cookie = path.startswith("/supervisor")
        asker = page_client if by_cookie else client
        ask_headers = {} if by_cookie else headers
        for _ in range(3):  # warm: compiled statements, the database's cache
            response = asker.get(path, headers=ask_headers)
            if response.status_code != 200:
                raise BenchmarkFailed(f"{path} answered {response.status_code}")
        per_run = []
        for _ in range(runs):
            samples = []
            for _ in range(min(requests, 3) if heavy else requests):
                started = time.perf_counter()
                response = asker.get(path, headers=ask_headers)
                samples.append((time.perf_counter() - started) * 1000)
                size = len(response.get_data())
            per_run.append({**latency_summary(samples), "bytes": size})
        chosen = median_run(per_run, "p99")
        results.append({"name": name, "target": target, **chosen, "runs": per_run})
        print(
            f"  {name:<38} p50 {chosen['p50']:7.1f} ms  p99 {chosen['p99']:7.1f} ms  "
            f"max {chosen['max']:7.1f} ms  {chosen['bytes'] / 1024:8.0f} KiB",
            flush=True,
        )
    return results


# -- 2. writing ----------------------------------------------------------------------------


def backend_cpu(app) -> float | None:
    """CPU seconds so far of the PostgreSQL backends serving this database (local server)."""
    from sqlalchemy import text

    from storage import db

    with app.app_context():
        if db.engine().dialect.name != "postgresql":
            return None
        pids = (
            db.session()
            .scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
            .all()
        )
        db.session().rollback()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    import os

    return ticks / os.sysconf("SC_CLK_TCK")


def answered_calls(app, count: int, prefix: str) -> list[str]:
    """Calls an agent took out of the medical queue, not ended yet."""
    from runtime import current_clock
    from services import call_records
    from storage import db

    sids = []
    with app.app_context():
        session, now = db.session(), current_clock().now()
        for i in range(count):
            sid = f"CA{prefix}{i:06d}"
            entered = now - timedelta(minutes=10)
            call_records.note(
                session, sid, entered, queue="medical", line="medical", enqueued_at=entered
            )
            call_records.answered(session, sid, entered + timedelta(seconds=15), "agent00", 15)
            sids.append(sid)
            if i % 500 == 499:
                session.commit()
        session.commit()
    return sids


def waiting_calls(app, count: int, prefix: str) -> list[str]:
    """Callers in the medical queue (their records only: the board is not needed)."""
    from runtime import current_clock
    from services import call_records
    from storage import db

    sids = []
    with app.app_context():
        session, now = db.session(), current_clock().now()
        for i in range(count):
            sid = f"CA{prefix}{i:06d}"
            call_records.note(session, sid, now, queue="medical", line="medical", enqueued_at=now)
            sids.append(sid)
        session.commit()
    return sids


def time_webhooks(app, path: str, forms: list[dict]) -> dict:
    """CPU of this process and of the database per webhook, then per call of the fold."""
    from services import interval_history
    from simulator.softphone import Exchange, FlaskTransport
    from storage import db

    exchange = Exchange(FlaskTransport(app.test_client()), AUTH_TOKEN, base_url=BASE_URL)
    db_before = backend_cpu(app)
    started = time.process_time()
    for form in forms:
        status, body = exchange.post(f"{BASE_URL}{path}", form)
        if status != 200:
            raise BenchmarkFailed(f"{path} answered {status}: {body[:200]}")
    cpu = time.process_time() - started
    db_between = backend_cpu(app)
    with app.app_context():
        started = time.process_time()
        folded = interval_history.fold_all(db.session())
        fold_cpu = time.process_time() - started
    db_after = backend_cpu(app)
    n = len(forms)
    if folded != n:
        raise BenchmarkFailed(f"the fold found {folded} records, not the {n} calls noted")
    return {
        "cpu_ms": cpu * 1000 / n,
        "fold_ms": fold_cpu * 1000 / n,
        "db_ms": None if db_before is None else (db_between - db_before) * 1000 / n,
        "db_fold_ms": None if db_before is None else (db_after - db_between) * 1000 / n,
    }


def time_writes(app, calls: int, blocks: int) -> dict[str, dict]:
    """Per scenario: median CPU per webhook, and per call of the fold, over ``blocks``."""
    from services import interval_history
    from storage import db

    scenarios = {
        "answered call ends (POST /ivr/status)": (
            answered_calls,
            "/ivr/status",
            lambda sid: {
                "CallSid": sid,
                "CallStatus": "completed",
                "CallDuration": "615",
                "From": "+8613900000000",
                "To": "+864006058056",
            },
        ),
        "caller hangs up in the queue (Enqueue action)": (
            waiting_calls,
            "/ivr/queue/done?line=medical",
            lambda sid: {"CallSid": sid, "QueueResult": "hangup", "QueueTime": "40"},
        ),
    }
    out = {}
    per_block = max(1, calls // blocks)
    for name, (prepare, path, form) in scenarios.items():
        done = []
        for block in range(blocks):
            sids = prepare(app, per_block, f"{len(out)}{block}")
            with app.app_context():  # what preparing them made due: not this webhook's
                interval_history.fold_all(db.session())
            done.append(time_webhooks(app, path, [form(sid) for sid in sids]))
        summary = {
            "webhook_ms": median([b["cpu_ms"] for b in done]),
            "fold_ms": median([b["fold_ms"] for b in done]),
            "fold_min_ms": min(b["fold_ms"] for b in done),
            "db_ms": None if done[0]["db_ms"] is None else median([b["db_ms"] for b in done]),
            "db_fold_ms": (
                None if done[0]["db_ms"] is None else median([b["db_fold_ms"] for b in done])
            ),
        }
        out[name] = summary
        db_part = (
            ""
            if summary["db_ms"] is None
            else f"; database {summary['db_ms']:.3f} ms per webhook, "
            f"{summary['db_fold_ms']:.3f} ms per call folded"
        )
        print(
            f"  {name}\n    process CPU per webhook {summary['webhook_ms']:.3f} ms "
            f"(the history is not written there: the record is marked pending)\n"
            f"    the history's work, in interval_history.fold: {summary['fold_ms']:.3f} ms "
            f"per call (least block {summary['fold_min_ms']:.3f}){db_part}",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=databases.KINDS, default="postgresql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20, help="requests per report per run")
    parser.add_argument("--calls", type=int, default=2000, help="webhooks per scenario")
    parser.add_argument("--blocks", type=int, default=8, help="alternating on/off blocks")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)

    print(context(), flush=True)
    url = databases.url_for(args.database, "reports")
    if args.database == "postgresql":
        # A database of its own: other benchmarks create and drop hotline_bench.
        url = make_url(url).set(database=DATABASE).render_as_string(hide_password=False)
    try:
        databases.create_empty(url)
        app = make_app(url)
        started = time.perf_counter()
        queue_rows, agent_rows = fill(app, DAYS)
        if args.database == "postgresql":
            from storage import db

            with app.app_context(), db.engine().connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM (ANALYZE)"
                )
        print(
            f"{args.database}: {queue_rows} queue and {agent_rows} agent interval rows "
            f"({DAYS} days) written in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        headers = supervisor_headers(app)
        print(f"reports ({args.requests} requests × {args.runs} runs, median run by p99):")
        reports = time_reports(app, headers, args.requests, args.runs)
        print(f"interval writes ({args.calls} webhooks per scenario, in {args.blocks} blocks):")
        writes = time_writes(app, args.calls, args.blocks)
        with app.app_context():
            from storage import db

            db.engine().dispose()
    except BenchmarkFailed as exc:
        print(f"could not measure: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep_database:
            databases.drop(url)

    (target_report,) = [r for r in reports if r["target"]]
    read_ok = target_report["p99"] < TARGET_REPORT_MS
    # The history's own work, timed where it happens (the fold, every statement it sends
    # included), per call.
    write_cost = max(w["fold_ms"] for w in writes.values())
    write_ok = write_cost < TARGET_WRITE_MS
    print(f"load average at the end: {load_average()}")
    print(
        f"{target_report['name']}: p99 {target_report['p99']:.1f} ms "
        f"vs < {TARGET_REPORT_MS:.0f} ms: {verdict(read_ok)}"
    )
    print(
        f"interval writes: {write_cost:.3f} ms CPU per call folded (the costlier scenario) "
        f"vs < {TARGET_WRITE_MS} ms: {verdict(write_ok)}"
    )
    return 0 if read_ok and write_ok else 1


if __name__ == "__main__":
    sys.exit(main())
