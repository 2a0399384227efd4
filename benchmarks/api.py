"""The eligibility API under gunicorn, as the Procfile runs it, loaded by wrk on loopback.

A feed of ``--people`` people (2.5 policies each) is generated and loaded with
``hotline import``; an agent is added for a token; gunicorn serves
``hotline:create_app()`` with ``--config python:hotline.gunicorn_conf`` and
REDIS_URL set (so ``WEB_CONCURRENCY`` workers run, 2 by default); wrk sends
``GET /api/insureds/<random insured id>/eligibility`` over keep-alive
connections. After a warm-up, ``--runs`` runs of ``--duration`` seconds; the run
with the median requests/s is reported.

    python -m benchmarks.api --people 100000 --database sqlite
    python -m benchmarks.api --people 100000 --database postgresql

Exit status: 0 targets met, 1 a target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from benchmarks import databases
from benchmarks.common import (
    BenchmarkFailed,
    context,
    exit_status,
    load_average,
    median_run,
    out_dir,
    verdict,
)
from benchmarks.server import Gunicorn
from storage.db import make_engine

TARGET_RPS = 1000
TARGET_P99_MS = 20.0
LUA = Path(__file__).resolve().parent / "wrk" / "eligibility.lua"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def insured_ids(url: str, kind: str) -> Path:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            ids = connection.scalars(
                text("SELECT DISTINCT insured_id FROM policies ORDER BY insured_id")
            ).all()
    finally:
        engine.dispose()
    path = out_dir() / f"ids-{kind}.txt"
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> dict:
    def find(pattern: str) -> re.Match:
        match = re.search(pattern, output)
        if match is None:
            raise BenchmarkFailed(f"wrk output has no {pattern!r}:\n{output}")
        return match

    result = {
        "rps": float(find(r"Requests/sec:\s+([\d.]+)").group(1)),
        "requests": int(find(r"(\d+) requests in").group(1)),
        "p50": milliseconds(find(r"\n\s+50%\s+(\S+)").group(1)),
        "p75": milliseconds(find(r"\n\s+75%\s+(\S+)").group(1)),
        "p90": milliseconds(find(r"\n\s+90%\s+(\S+)").group(1)),
        "p99": milliseconds(find(r"\n\s+99%\s+(\S+)").group(1)),
        "non_2xx": 0,
        "socket_errors": 0,
    }
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result["socket_errors"] = sum(int(n) for n in match.groups())
    return result


def wrk(
    base: str, ids: Path, token: str, threads: int, connections: int, seconds: int, rate: float
) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LUA),
        base,
        "--",
        str(ids),
        token,
        f"{rate / threads:.3f}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchmarkFailed(f"wrk failed ({done.returncode}): {done.stderr}")
    return parse_wrk(done.stdout)


def check_answer(server: Gunicorn, insured_id: str, token: str) -> None:
    """The server must answer the real thing, not an error, before it is timed."""
    status, body = server.get(f"/api/insureds/{insured_id}/eligibility", token)
    document = json.loads(body)
    if status != 200 or document.get("insured_id") != insured_id or "services" not in document:
        raise BenchmarkFailed(f"unexpected answer for {insured_id}: {status} {body[:300]!r}")
    status, _ = server.get(f"/api/insureds/{insured_id}/eligibility", "not-a-token")
    if status != 401:
        raise BenchmarkFailed(f"a bad token got {status}, not 401")


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise BenchmarkFailed(
            "wrk is not installed: `apt-get install -y wrk` (Debian), or pass --install-wrk"
        )


def run(args) -> int:
    if args.install_wrk and shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    require_wrk()
    url, policies = databases.with_feed(args.database, args.people, args.seed, args.reuse)
    token = databases.new_token(url, f"bench-{secrets.token_hex(3)}")
    ids = insured_ids(url, args.database)
    first = ids.read_text(encoding="utf-8").split("\n", 1)[0]
    log = out_dir() / f"gunicorn-{args.database}.log"
    server = Gunicorn(url, args.workers, args.threads, args.gunicorn_arg or [], log)
    try:
        server.wait_ready(f"/api/insureds/{first}/eligibility", token)
        check_answer(server, first, token)
        description = (
            f"GET /api/insureds/<id>/eligibility · {args.database} · {args.people} people, "
            f"{policies} policies · gunicorn {args.workers} workers"
            f"{f' × {args.threads} threads' if args.threads else ''}"
            f"{' ' + ' '.join(args.gunicorn_arg) if args.gunicorn_arg else ''}"
            f" · wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s"
            f" · {f'{args.rate:.0f} requests/s offered' if args.rate else 'as fast as answered'}"
        )
        print(description)
        load = (server.base, ids, token, args.wrk_threads, args.connections)
        wrk(*load, args.warmup, args.rate)
        runs = []
        for number in range(1, args.runs + 1):
            before = load_average()
            cpu, started = server.cpu_by_process(), time.perf_counter()
            result = wrk(*load, args.duration, args.rate)
            elapsed = time.perf_counter() - started
            # Per process: wrk's few keep-alive connections stay with the worker that
            # accepted them, so one worker may take most of the load (and the tail).
            used = [s - cpu.get(pid, 0.0) for pid, s in server.cpu_by_process().items()]
            # Server CPU per request does not depend on what else the machine runs,
            # so it compares changes even when requests/s are too noisy to.
            result["cpu_ms"] = sum(used) / max(1, result["requests"]) * 1e3
            shares = ", ".join(f"{seconds / elapsed:.0%}" for seconds in used)
            result["load"] = before
            runs.append(result)
            print(
                f"  run {number}: {result['rps']:8.0f} req/s  p50 {result['p50']:6.2f} ms  "
                f"p90 {result['p90']:6.2f} ms  p99 {result['p99']:6.2f} ms  "
                f"server CPU {result['cpu_ms']:.2f} ms/req (master, workers: {shares} of a core)  "
                f"non-2xx {result['non_2xx']}  socket errors {result['socket_errors']}  "
                f"(load before: {before})",
                flush=True,
            )
    finally:
        server.stop()
        if not args.keep_database and args.database == "postgresql":
            databases.drop(url)

    failed = [r for r in runs if r["non_2xx"] or r["socket_errors"]]
    if failed:
        raise BenchmarkFailed(f"{len(failed)} run(s) had non-2xx answers or socket errors")
    best = median_run(runs, "rps")
    print(context())
    rps_ok = best["rps"] >= TARGET_RPS
    p99_ok = best["p99"] < TARGET_P99_MS
    print(
        f"median run: {best['rps']:.0f} req/s (target ≥ {TARGET_RPS}: {verdict(rps_ok)}), "
        f"p50 {best['p50']:.2f} ms, p99 {best['p99']:.2f} ms "
        f"(target < {TARGET_P99_MS:.0f} ms: {verdict(p99_ok)}); "
        f"server CPU {best['cpu_ms']:.2f} ms per request"
    )
    return 0 if rps_ok and p99_ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", choices=databases.KINDS, default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: the config's)")
    parser.add_argument(
        "--gunicorn-arg",
        action="append",
        help="extra gunicorn option, e.g. --gunicorn-arg=--worker-class=sync (repeatable)",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGET_RPS * 1.1,
        help="requests/s offered in all (0: as fast as answered, closed loop); default 10%% "
        "above the target, so that the rate reached tests it and the latency is the latency "
        "at that load",
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds before the timed runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database that already holds this feed"
    )
    parser.add_argument("--keep-database", action="store_true", help="do not drop hotline_bench")
    parser.add_argument("--install-wrk", action="store_true", help="apt-get install wrk if missing")
    args = parser.parse_args(argv)
    return exit_status(run, args)


if __name__ == "__main__":
    sys.exit(main())
