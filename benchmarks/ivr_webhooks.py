"""IVR webhooks under gunicorn: whole simulated calls, 200 at once, replayed on loopback.

A database of ``--people`` people loaded from a generated feed; gunicorn as the
Procfile runs it (2 gevent workers, REDIS_URL = the benchmark Redis, which is
emptied first, TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL set); then
``--calls-concurrent`` calls in progress at once, each a whole call followed
through its TwiML by ``simulator.softphone`` with Twilio's signatures: greeting, six
digits, the name spoken, menus, a service, the queue, a waitUrl request or two,
hang-up and status callback; some key wrong digits first, some ask 权益查询 first.
Calls pause between requests so that ``--rate`` webhook requests/s are offered.

    python -m benchmarks.ivr_webhooks --database sqlite
    python -m benchmarks.ivr_webhooks --database postgresql --runs 5 --duration 30

Exit status: 0 targets met, 1 a target missed, 2 the benchmark could not run
(including any webhook answered with a non-200 or TwiML a softphone cannot follow).
"""

# gevent first: the load generator's greenlets need patched sockets before requests
# (imported by twilio) takes references to them.
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections import defaultdict  # noqa: E402

import gevent  # noqa: E402

from benchmarks import callers, databases  # noqa: E402
from benchmarks.common import (  # noqa: E402
    BenchmarkFailed,
    context,
    cpu_pressure_seconds,
    latency_summary,
    load_average,
    median_run,
    own_cpu_seconds,
    verdict,
)
from benchmarks.server import Gunicorn, add_ivr_options, start_ivr  # noqa: E402
from simulator.softphone import Exchange, WebhookFailed  # noqa: E402

TARGET_RPS = 500
TARGET_P99_MS = 30.0


def check_one_call(base: str, script: callers.CallScript) -> None:
    """One call on its own first: it must reach a queue, or the figures mean nothing."""
    exchange = Exchange(
        callers.TimedTransport(base, []), callers.AUTH_TOKEN, base_url=callers.PUBLIC_BASE_URL
    )
    phone = exchange.call(script.caller)
    outcome = callers.follow(phone, script)
    if not outcome.startswith("queued:"):
        raise BenchmarkFailed(f"a call to a queue ended {outcome!r}: heard {phone.heard[-3:]}")


def measure(load: callers.CallLoad, server: Gunicorn, duration: float) -> dict:
    """One run: ``duration`` seconds of load, then the calls in progress hang up."""
    before = load_average()
    server_cpu, client_cpu = server.cpu_by_process(), own_cpu_seconds()
    waited, pressure = server.wait_seconds(), cpu_pressure_seconds()
    started = time.perf_counter()
    load.start()
    gevent.sleep(duration)
    window_end = time.perf_counter()
    load.stop()
    ended = time.perf_counter()
    # Per process too: keep-alive connections stay with the worker that accepted them,
    # so one worker may get more of the load than the other.
    by_process = [
        seconds - server_cpu.get(pid, 0.0) for pid, seconds in server.cpu_by_process().items()
    ]
    server_cpu = sum(by_process)
    client_cpu = own_cpu_seconds() - client_cpu
    waited = server.wait_seconds() - waited
    if pressure is not None:
        pressure = (cpu_pressure_seconds() - pressure) / (ended - started)
    timed = [s for s in load.samples if started <= s.started < window_end]
    if not timed:
        raise BenchmarkFailed("no webhook was answered")
    by_kind = defaultdict(list)
    for sample in timed:
        by_kind[sample.kind].append(sample.ms)
    everything = len(load.samples)
    return {
        "rps": len(timed) / (window_end - started),
        "requests": len(timed),
        **latency_summary([s.ms for s in timed]),
        "kinds": {k: (len(v), latency_summary(v)) for k, v in sorted(by_kind.items())},
        "non_200": sum(1 for s in load.samples if s.status != 200),
        "errors": list(load.errors),
        "calls": load.calls,
        "outcomes": dict(load.outcomes),
        "server_cpu_ms": server_cpu / everything * 1e3,
        "client_cpu_ms": client_cpu / everything * 1e3,
        "client_cpu_share": client_cpu / (ended - started),
        "server_wait_ms": waited / everything * 1e3,
        "pressure": pressure,
        "server_cpu_shares": [seconds / (ended - started) for seconds in by_process],
        "load": before,
    }


def report(number: int, run: dict) -> None:
    shares = ", ".join(f"{share:.0%}" for share in run["server_cpu_shares"])
    pressure = "" if run["pressure"] is None else f"  CPU pressure {run['pressure']:.0%}"
    print(
        f"  run {number}: {run['rps']:6.0f} req/s  p50 {run['p50']:6.2f} ms  "
        f"p90 {run['p90']:6.2f} ms  p99 {run['p99']:6.2f} ms  max {run['max']:7.1f} ms  "
        f"calls {run['calls']}  non-200 {run['non_200']}  errors {len(run['errors'])}  "
        f"(load before: {run['load']})\n"
        f"         server CPU {run['server_cpu_ms']:.2f} ms/req (master, workers: {shares} "
        f"of a core), waited for a core {run['server_wait_ms']:.2f} ms/req; "
        f"load generator CPU {run['client_cpu_ms']:.2f} ms/req "
        f"({run['client_cpu_share']:.0%} of a core){pressure}",
        flush=True,
    )


def report_kinds(run: dict) -> None:
    print("  per webhook (median run):")
    for name, (count, figures) in run["kinds"].items():
        print(
            f"    {name:<14} {count:7d}  p50 {figures['p50']:6.2f} ms  "
            f"p99 {figures['p99']:6.2f} ms  max {figures['max']:7.1f} ms"
        )
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(run["outcomes"].items()))
    print(f"  calls by outcome: {outcomes}")


def run(args) -> int:
    server, url, zone = start_ivr(args, "ivr")
    try:
        people, suffixes = callers.holders(url)
        scripts = callers.plan(people, suffixes, args.seed)
        print(
            f"IVR webhooks · {args.database} · {args.people} people "
            f"({len(people)} policyholders with a phone) · gunicorn {args.workers} workers · "
            f"{args.calls_concurrent} calls at once, {args.rate:g} requests/s offered · "
            f"HOTLINE_TZ={zone}",
            flush=True,
        )
        check_one_call(server.base, next(scripts))

        def load() -> callers.CallLoad:
            return callers.CallLoad(
                server.base, scripts, args.calls_concurrent, args.rate, seed=args.seed
            )

        if args.warmup:
            warm = load()
            warm.start()
            gevent.sleep(args.warmup)
            warm.stop()
            if warm.errors:
                raise BenchmarkFailed(f"warm-up: {warm.errors[0]}")
        runs = []
        for number in range(1, args.runs + 1):
            result = measure(load(), server, args.duration)
            runs.append(result)
            report(number, result)
            if result["errors"] or result["non_200"]:
                raise BenchmarkFailed(
                    f"run {number}: {len(result['errors'])} call(s) failed, "
                    f"{result['non_200']} non-200 answer(s); first: "
                    f"{(result['errors'] or ['-'])[0]} (server log: {server.log})"
                )
    finally:
        server.stop()
        if not args.keep_database and args.database == "postgresql":
            databases.drop(url)

    best = median_run(runs, "p99")
    report_kinds(best)
    print(context())
    rps_ok = best["rps"] >= TARGET_RPS
    p99_ok = best["p99"] < TARGET_P99_MS
    print(
        f"median run (by p99): {best['rps']:.0f} req/s (target ≥ {TARGET_RPS}: "
        f"{verdict(rps_ok)}), p50 {best['p50']:.2f} ms, p90 {best['p90']:.2f} ms, "
        f"p99 {best['p99']:.2f} ms (target < {TARGET_P99_MS:.0f} ms: {verdict(p99_ok)}); "
        f"server CPU {best['server_cpu_ms']:.2f} ms per request; "
        f"load generator {best['client_cpu_ms']:.2f} ms per request"
    )
    return 0 if rps_ok and p99_ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ivr_options(parser)
    parser.add_argument("--calls-concurrent", type=int, default=200)
    parser.add_argument(
        "--rate",
        type=float,
        default=550,
        help="webhook requests/s offered in all (0: no pauses, as fast as answered); "
        "default 10%% above the target, so that the rate reached tests it",
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before the timed runs")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (BenchmarkFailed, WebhookFailed) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except Exception:  # e.g. the server refused connections: could not measure, not a miss
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
