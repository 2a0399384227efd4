"""CPU of a webhook and of an eligibility request inside the app, without gunicorn: for A/B.

The gunicorn benchmarks measure what production pays, but on this shared 2-core
machine their milliseconds move with the host by ±30 % from one minute to the next.
This one takes the server, the network and the load generator out: the app runs in
this process behind Flask's test client, and only the CPU time spent inside
``app.wsgi_app`` (``time.process_time``) is counted, per request path. Real Redis
(the benchmark database, emptied first) and the benchmark's SQLite or PostgreSQL
database are used, so every round trip's client side is in the figure; the other
side's CPU is not.

- **IVR**: ``--calls`` whole calls of ``benchmarks.callers`` (the IVR benchmark's mix),
  followed through their TwiML, signed as Twilio signs them, one after another. The
  calls' notes, which a server writes together a moment later (``services.call_notes``),
  are held and written after each run, and that CPU is added to the IVR's figure.
- **The bare endpoint** (``benchmarks.bare_endpoint``): the same signed gather posted
  ``--bare`` times; the IVR's CPU per webhook is divided by its.
- **API**: ``--requests`` eligibility requests with an agent's token, random people.

Each part runs ``--runs`` times, alternating, after a warm-up; the median run of each
is reported. Compare two commits by running each from its own folder in the same
minutes (as the README's A/B notes say).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable

import redis

from benchmarks import callers, databases, distribution_load
from benchmarks.api import insured_ids
from benchmarks.common import REDIS_URL, BenchmarkFailed, context, exit_status, median
from benchmarks.server import add_database_options
from live import keys
from simulator.softphone import Exchange, FlaskTransport, MemoryQueues


def timed(app) -> tuple[Counter, Counter]:
    """Count the CPU time spent in ``app.wsgi_app`` (and requests) per path from now on."""
    cpu, count = Counter(), Counter()
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        started = time.process_time()
        try:
            return inner(environ, start_response)
        finally:
            path = environ["PATH_INFO"]
            cpu[path] += time.process_time() - started
            count[path] += 1

    app.wsgi_app = wsgi_app
    return cpu, count


def measured(cpu: Counter, count: Counter, work: Callable[[], None]) -> dict:
    """Run ``work``; the CPU per request in it, in all and per path (ms)."""
    cpu.clear()
    count.clear()
    work()
    requests = sum(count.values())
    if not requests:
        raise BenchmarkFailed("no request was made")
    return {
        "ms": sum(cpu.values()) / requests * 1e3,
        "requests": requests,
        "paths": {path: (count[path], cpu[path] / count[path] * 1e3) for path in count},
    }


def ivr_calls(app, book: tuple[list[callers.Holder], set[str]], seed: int) -> Callable[[int], None]:
    """Whole calls of ``callers.plan`` over ``book`` (``callers.holders``), one after another."""
    transport = FlaskTransport(app.test_client())
    scripts = callers.plan(*book, seed)
    queues = MemoryQueues()

    def calls(how_many: int) -> None:
        for _ in range(how_many):
            script = next(scripts)
            exchange = Exchange(
                transport, callers.AUTH_TOKEN, base_url=callers.PUBLIC_BASE_URL, queues=queues
            )
            callers.follow(exchange.call(script.caller), script)

    return calls


def with_distribution(app, url: str, agents: int, calls: Callable[[int], None]):
    """``calls`` with the distribution running: Twilio's API configured, ``agents`` agents
    available, and after each call the dispatch job it asked for taken off the queue and
    its count of kicks settled, as by a job with nothing to offer (outside the timed
    webhooks: the rq worker's CPU is not theirs). The next caller's kick then enqueues a
    job again: the webhooks' worst case, a worker idle between two callers."""
    from simulator.softphone import RecordingTwilio

    app.config.update(
        TWILIO_ACCOUNT_SID=distribution_load.ACCOUNT_SID,
        TWILIO_HTTP_CLIENT=RecordingTwilio(),
        TWILIO_AUTH_TOKEN=callers.AUTH_TOKEN,
    )
    names = [f"inproc{secrets.token_hex(2)}-{n:02d}" for n in range(agents)]
    client = app.test_client()
    for name, token in databases.new_agents(url, names, queues="medical").items():
        response = client.post(
            "/api/agents/me/status",
            json={"status": "available"},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 200:
            raise BenchmarkFailed(f"{name} could not be made available: {response.text[:200]}")

    def distributed(how_many: int) -> None:
        from adapters import background
        from services.agent_shift import DISPATCH_JOB

        for _ in range(how_many):
            calls(1)
            background.queue(app).empty()
            with app.app_context():
                background.kicked_runs(app, DISPATCH_JOB, keys.DISPATCH_ASKED, lambda: 0)

    return distributed


def bare_posts(app) -> Callable[[int], None]:
    from benchmarks.bare_endpoint import PATH

    exchange = Exchange(
        FlaskTransport(app.test_client()), callers.AUTH_TOKEN, base_url=callers.PUBLIC_BASE_URL
    )
    phone = exchange.call("+8613900000001")
    target = exchange.url(PATH + "?step=1")

    def posts(how_many: int) -> None:
        for _ in range(how_many):
            phone.request(target, Digits="123456")  # raises on an answer that is not TwiML

    return posts


def eligibility_requests(app, url: str, seed: int) -> Callable[[int], None]:
    token = databases.new_token(url, f"bench-{secrets.token_hex(3)}")
    ids = insured_ids(url, "in-process").read_text().split()
    client, rng = app.test_client(), random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}

    def requests(how_many: int) -> None:
        for _ in range(how_many):
            response = client.get(f"/api/insureds/{rng.choice(ids)}/eligibility", headers=headers)
            if response.status_code != 200:
                raise BenchmarkFailed(f"eligibility answered {response.status_code}")

    return requests


def write_notes(app) -> float:
    """Write the calls' notes the webhooks left waiting (``services.call_notes``): CPU (ms)."""
    from services import call_notes

    started = time.process_time()
    call_notes.of(app).write()
    return (time.process_time() - started) * 1e3


def prepare(url: str, zone: str) -> tuple[dict, tuple[list[callers.Holder], set[str]]]:
    """Redis emptied, earlier failed tries forgotten, the book of callers loaded: the app's
    settings (the calls' notes held, to be written by ``write_notes``) and the book."""
    redis.Redis.from_url(REDIS_URL).flushdb()  # call states and queues of earlier runs
    databases.forget_failed_tries(url)
    os.environ.update(callers.ivr_settings(zone))
    # Loaded before the app: the book is frozen out of the collector with what exists
    # now, and the app's own objects stay in its sight, as in a server's worker.
    book = callers.holders(url)
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        **callers.ivr_settings(zone),
        "CALL_NOTES_SECONDS": 3600,  # held, then written after each run (timed)
    }
    return settings, book


def run(args) -> int:
    url, _ = databases.with_feed(args.database, args.people, args.seed, args.reuse)
    zone = args.tz or callers.open_zone()
    settings, book = prepare(url, zone)
    from benchmarks.bare_endpoint import create_app as create_bare
    from hotline import create_app

    try:
        app = create_app(settings)
        bare = create_bare()
        parts = {
            "ivr": (app, ivr_calls(app, book, args.seed), args.calls),
        }
        if args.distribution:
            # A second app of its own (settings differ), its calls alternated with the first's.
            spread = create_app(dict(settings))
            calls = ivr_calls(spread, book, args.seed + 1)
            parts["ivr+d"] = (
                spread,
                with_distribution(spread, url, args.agents, calls),
                args.calls,
            )
        parts |= {
            "bare": (bare, bare_posts(bare), args.bare),
            "api": (app, eligibility_requests(app, url, args.seed), args.requests),
        }
        counters = {name: timed(target) for name, (target, _, _) in parts.items()}
        for _name, (_, work, how_many) in parts.items():
            work(max(1, how_many // 10))  # warm-up: caches, pools, compiled statements
        runs: dict[str, list[dict]] = {name: [] for name in parts}
        write_notes(app)
        for _ in range(args.runs):
            for name, (target, work, how_many) in parts.items():
                run = measured(*counters[name], lambda w=work, n=how_many: w(n))
                if name.startswith("ivr"):
                    run["notes_ms"] = write_notes(target) / run["requests"]
                    run["ms"] += run["notes_ms"]
                runs[name].append(run)
    finally:
        if not args.keep_database and args.database == "postgresql":
            databases.drop(url)

    print(
        f"in process · {args.database} · {args.people} people · HOTLINE_TZ={zone} · "
        f"{args.runs} runs of {args.calls} calls, {args.bare} bare posts, "
        f"{args.requests} eligibility requests"
    )
    for name in parts:
        figures = ", ".join(f"{r['ms']:.3f}" for r in runs[name])
        print(f"  {name:5s} CPU per request in wsgi_app (ms), runs: {figures}")
    ivr = median([r["ms"] for r in runs["ivr"]])
    bare_ms = median([r["ms"] for r in runs["bare"]])
    api = median([r["ms"] for r in runs["api"]])
    notes = ", ".join(f"{r['notes_ms']:.3f}" for r in runs["ivr"])
    print(f"    of which the calls' notes, written together after each run: {notes}")
    print_paths(runs["ivr"][-1]["paths"])
    print(context())
    print(
        f"median: IVR webhook {ivr:.3f} ms ÷ bare endpoint {bare_ms:.3f} ms = {ivr / bare_ms:.2f}× "
        f"(in process: no gunicorn, no network); eligibility request {api:.3f} ms"
    )
    if "ivr+d" in runs:
        spread = median([r["ms"] for r in runs["ivr+d"]])
        both = zip(runs["ivr"], runs["ivr+d"], strict=True)
        pairs = ", ".join(f"{d['ms'] / plain['ms']:.3f}" for plain, d in both)
        print_paths(runs["ivr+d"][-1]["paths"], "with the distribution: ")
        print(
            f"with the distribution running ({args.agents} agents available): IVR webhook "
            f"{spread:.3f} ms, {spread / ivr:.3f}× without (run by run: {pairs})"
        )
    return 0


def print_paths(paths: dict, label: str = "") -> None:
    """A run's requests and CPU per path, the most requested first."""
    for path, (n, ms) in sorted(paths.items(), key=lambda item: -item[1][0]):
        print(f"    {label}{path:22s} {n:6d} requests  {ms:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_options(parser)
    parser.add_argument("--calls", type=int, default=300, help="IVR calls per run")
    parser.add_argument("--bare", type=int, default=3000, help="bare endpoint posts per run")
    parser.add_argument("--requests", type=int, default=3000, help="API requests per run")
    parser.add_argument("--runs", type=int, default=3)
    distribution_load.add_options(
        parser,
        "also the IVR's calls with the distribution running (--agents available), "
        "alternated with those without: the webhooks' own share of its cost",
    )
    args = parser.parse_args(argv)
    return exit_status(run, args)


if __name__ == "__main__":
    sys.exit(main())
