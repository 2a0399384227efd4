"""Dispatch latency: how soon a waiting caller and an available agent become an offer.

The Procfile's processes, as production runs them: gunicorn (``WEB_CONCURRENCY``
gevent workers) and the rq worker (``hotline.worker.Worker``), on Redis and the
database; ``TWILIO_API_BASE_URL`` points at this process, which stands in for
Twilio's REST API (``Queues.json``, ``Members.json``, a Members update) and acts on it
as Twilio does (``simulator.softphone``: the dequeued caller is taken to the offer URL,
whose ``<Dial><Client>`` rings the agent's browser phone, which answers, talks and
hangs up; the agent then presses "ready now", ``POST /api/agents/me/wrap_up``).

``--agents`` agents (50) are made available; ``--callers`` callers (200) then dial in
at once (key 0 at the first question: straight to the medical queue) and are kept in
flight — each caller served is replaced by a new one — until ``--offers`` offers per
run. Each Members update the hotline sends is an offer; its latency runs from the
moment it became possible to the moment the request arrives here:

- **caller joins**: the caller's first waitUrl was requested while an agent was free
  (from just before that webhook is sent);
- **agent available**: the agent pressed "ready now" while callers were waiting (from
  just before that request is sent).

    python -m benchmarks.dispatch --database sqlite
    python -m benchmarks.dispatch --database postgresql --runs 3

Exit status: 0 both p99 < 500 ms, 1 a target missed, 2 the benchmark could not run (a
webhook refused, an agent's phone rung twice, an offer never made).
"""

# gevent first: callers, agents and the REST stand-in are greenlets on patched sockets.
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import gevent.local  # noqa: E402
import redis  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402
from sqlalchemy import text  # noqa: E402

from benchmarks import callers, databases  # noqa: E402
from benchmarks.common import (  # noqa: E402
    REDIS_URL,
    BenchmarkFailed,
    context,
    cpu_pressure_seconds,
    exit_status,
    latency_summary,
    load_average,
    median_run,
    out_dir,
    verdict,
)
from benchmarks.server import Gunicorn, add_ivr_options, start_worker  # noqa: E402
from hotline.loopback import free_port  # noqa: E402
from simulator.softphone import (  # noqa: E402
    Exchange,
    MemoryQueues,
    Softphone,
    WebhookFailed,
)
from storage.db import make_engine  # noqa: E402

TARGET_P99_MS = 500.0
ACCOUNT_SID = "AC" + "0" * 32
RUN_TIMEOUT = 300.0
JOINS, AVAILABLE = "caller joins", "agent available"


class PerGreenlet:
    """A keep-alive connection per greenlet: callers and agents post at the same time."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.local = gevent.local.local()

    def post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        if not hasattr(self.local, "http"):
            self.local.http = callers.KeepAliveTransport(self.base_url)
        return self.local.http.post(url, form, headers)


class Joins(MemoryQueues):
    """Twilio's queues, noting when each caller joins (just before its first waitUrl)."""

    def __init__(self):
        super().__init__()
        self.joined: dict[str, float] = {}

    def join(self, queue: str, phone: Softphone) -> None:
        self.joined.setdefault(phone.call_sid, time.perf_counter())
        super().join(queue, phone)


class Shift:
    """One run: callers kept in flight, agents answering, offers timed as they arrive."""

    def __init__(self, server: Gunicorn, tokens: dict[str, str], args, seed: int):
        self.server = server
        self.tokens = tokens
        self.args = args
        self.rng = random.Random(seed)
        self.queues = Joins()
        self.exchange = Exchange(
            PerGreenlet(server.base),
            callers.AUTH_TOKEN,
            base_url=callers.PUBLIC_BASE_URL,
            account_sid=ACCOUNT_SID,
            queues=self.queues,
        )
        # Every moment each agent became available (perf_counter).
        self.free_log: dict[str, list[float]] = defaultdict(list)
        self.offers: list[tuple[float, str, str]] = []  # (arrived, call SID, agent)
        self.errors: list[str] = []
        self.callers_started = 0
        self.calls: list[gevent.Greenlet] = []
        self.api_ms: list[float] = []
        self.stopping = False

    # -- the agents --------------------------------------------------------------------

    def api(self, agent: str, path: str, body: dict) -> tuple[int, str]:
        return self.server.post_json(path, body, self.tokens[agent])

    def make_available(self, agent: str) -> None:
        self.free_log[agent].append(time.perf_counter())
        status, body = self.api(agent, "/api/agents/me/status", {"status": "available"})
        if status != 200:
            raise BenchmarkFailed(f"{agent} could not be made available: {body[:200]}")

    def ready_now(self, agent: str) -> None:
        began = time.perf_counter()
        self.free_log[agent].append(began)
        status, body = self.api(agent, "/api/agents/me/wrap_up", {"action": "end"})
        self.api_ms.append((time.perf_counter() - began) * 1e3)
        if status != 200:
            raise BenchmarkFailed(f"{agent}'s ready now failed: {body[:200]}")

    # -- Twilio's REST API ---------------------------------------------------------------

    def rest(self, environ, start_response):
        """Twilio's queue resources, answered from (and acting on) the exchange's queues."""
        arrived = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        body = environ["wsgi.input"].read().decode() if method == "POST" else ""
        form = {k: v[0] for k, v in parse_qs(body).items()}
        parts = path.split("/Accounts/", 1)[-1].removesuffix(".json").split("/")[1:]
        if not parts or parts[0] != "Queues":
            status, answer = 404, {"code": 20404, "message": "not served here", "status": 404}
        elif self.stopping and method == "POST":
            # The run is over: the callers left are hanging up, as if they just had.
            status, answer = 400, {"code": 21218, "message": "not in the queue", "status": 400}
        else:
            status, answer = self.exchange.answer_rest(method, parts, form)
        if status == 200 and method == "POST":
            phone, url = self.exchange.redirects.pop()
            agent = parse_qs(urlsplit(url).query)["agent"][0]
            self.offers.append((arrived, phone.call_sid, agent))
            self.calls.append(gevent.spawn(self.twilio_takes, phone, url, agent))
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
        start_response(f"{status} {reason}", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    def twilio_takes(self, phone: Softphone, url: str, agent: str) -> None:
        """Twilio dequeues the caller to the offer; the agent answers, talks, hangs up."""
        try:
            # Twilio acts on the call once its waitUrl has been answered: the caller's
            # greenlet is done with the phone.
            phone.settled.wait(30)
            phone.redirected(url)
            browser = self.exchange.browser(agent)
            if browser.incoming is not phone:
                raise BenchmarkFailed(f"the offer to {agent} did not ring their phone")
            gevent.sleep(self.rng.uniform(0.1, 0.4))  # the agent clicks "accept"
            browser.accept()
            gevent.sleep(self.rng.uniform(*self.args.talk))
            browser.hang_up(talked=2)
            gevent.sleep(self.rng.uniform(0.1, 0.3))
            self.ready_now(agent)
            if not self.stopping:
                gevent.spawn(self.caller)
        except Exception as exc:
            self.errors.append(f"{agent} / {phone.call_sid}: {exc!r}")
            if len(self.errors) <= 3:
                traceback.print_exc()

    # -- the callers -----------------------------------------------------------------------

    def caller(self) -> None:
        self.callers_started += 1
        phone = self.exchange.call(f"+86139{self.rng.randrange(10**8):08d}")
        phone.settled = gevent.event.Event()
        try:
            phone.dial()
            phone.press("0")  # a person, please: the medical queue
            if phone.queue is None and phone.dialing is None:
                raise BenchmarkFailed(f"the caller did not reach the queue: {phone.heard[-2:]}")
        except Exception as exc:
            self.errors.append(f"caller {phone.call_sid}: {exc!r}")
            if len(self.errors) <= 3:
                traceback.print_exc()
        finally:
            phone.settled.set()

    # -- one run ----------------------------------------------------------------------------

    def run(self, rest_port: int) -> dict:
        server = WSGIServer(("127.0.0.1", rest_port), self.rest, log=None)
        server.start()
        try:
            for agent in self.tokens:
                self.make_available(agent)
            gevent.sleep(1)  # every agent free, nobody waiting
            started = time.perf_counter()
            load = load_average()
            pressure = cpu_pressure_seconds()
            for _ in range(self.args.callers):
                gevent.spawn(self.caller)
                gevent.sleep(self.args.spread / self.args.callers)
            deadline = time.monotonic() + RUN_TIMEOUT
            while len(self.offers) < self.args.offers and time.monotonic() < deadline:
                if self.errors:
                    raise BenchmarkFailed(f"{len(self.errors)} error(s): {self.errors[0]}")
                gevent.sleep(0.2)
            self.stopping = True
            elapsed = time.perf_counter() - started
            if len(self.offers) < self.args.offers:
                raise BenchmarkFailed(
                    f"only {len(self.offers)} offers in {RUN_TIMEOUT:.0f} s "
                    f"({self.callers_started} callers)"
                )
            found = self.latencies(elapsed, load)
            if pressure is not None:
                found["pressure"] = (cpu_pressure_seconds() - pressure) / elapsed
            return found
        finally:
            self.stopping = True
            self.drain()
            server.stop(timeout=1)

    def drain(self) -> None:
        """The run is over: calls end, waiting callers hang up, every agent goes offline."""
        gevent.joinall(self.calls, timeout=60)
        for phone in [p for waiting in self.queues.values() for p in list(waiting)]:
            try:
                phone.hang_up()
            except Exception as exc:
                print(f"  (a waiting caller's hang-up failed: {exc!r})", flush=True)
        if self.errors:
            print(f"  (winding down: {len(self.errors)} error(s), first: {self.errors[0]})")
        for agent in self.tokens:
            self.api(agent, "/api/agents/me/status", {"status": "offline"})

    def latencies(self, elapsed: float, load: str) -> dict:
        """Each offer's latency from the moment it became possible, by what made it so."""
        samples: dict[str, list[float]] = {JOINS: [], AVAILABLE: []}
        offered = set()
        for arrived, call_sid, agent in sorted(self.offers):
            if call_sid in offered:
                raise BenchmarkFailed(f"caller {call_sid} was offered twice")
            offered.add(call_sid)
            joined = self.queues.joined[call_sid]
            free = max((t for t in self.free_log[agent] if t <= arrived), default=None)
            if free is None:
                raise BenchmarkFailed(f"{agent} was offered a call before being available")
            kind = JOINS if joined >= free else AVAILABLE
            samples[kind].append((arrived - max(joined, free)) * 1e3)
        out = {
            "offers": len(self.offers),
            "offers_per_s": len(self.offers) / elapsed,
            "load": load,
            "ready_now_ms": latency_summary(self.api_ms),
        }
        for kind, values in samples.items():
            if not values:
                raise BenchmarkFailed(f"no {kind} offers to time")
            out[kind] = {**latency_summary(values), "n": len(values)}
        return out


def start(args, rest_port: int) -> tuple[Gunicorn, subprocess.Popen, str]:
    """Empty the benchmark Redis, load the database, start gunicorn and the rq worker."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    url, _ = databases.with_feed(args.database, args.people, args.seed, args.reuse)
    databases.forget_failed_tries(url)
    sign_off_earlier_agents(url)
    zone = args.tz or callers.open_zone()
    settings = {
        **callers.ivr_settings(zone),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{rest_port}",
    }
    log = out_dir() / f"gunicorn-dispatch-{args.database}.log"
    server = Gunicorn(url, args.workers, None, args.gunicorn_arg or [], log, env=settings)
    worker = start_worker(url, settings, f"dispatch-{args.database}")
    try:
        server.wait_ready("/api/cases", expect=401)
    except BaseException:
        worker.terminate()
        server.stop()
        raise
    return server, worker, url


def sign_off_earlier_agents(url: str) -> None:
    """Agents of an earlier run (a reused database) end their shift: with Redis emptied,
    the sweep would otherwise put their last states back from the SQL log."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE agent_state_log SET ended_at = :now WHERE ended_at IS NULL"),
                {"now": datetime.now(UTC)},
            )
    finally:
        engine.dispose()


def report(number: int, run: dict) -> None:
    parts = []
    for kind in (JOINS, AVAILABLE):
        found = run[kind]
        parts.append(
            f"{kind}: n {found['n']:3d} p50 {found['p50']:6.1f} ms p99 {found['p99']:6.1f} ms "
            f"max {found['max']:6.1f} ms"
        )
    api = run["ready_now_ms"]
    print(
        f"  run {number}: {run['offers']} offers ({run['offers_per_s']:.1f}/s) | "
        + " | ".join(parts)
        + f" | ready-now request p50 {api['p50']:.0f} ms p99 {api['p99']:.0f} ms"
        + (f", CPU pressure {run['pressure']:.0%}" if run.get("pressure") is not None else "")
        + f"  (load before: {run['load']})",
        flush=True,
    )


def run(args) -> int:
    rest_port = free_port()
    server, worker, url = start(args, rest_port)
    try:
        prefix = f"acd{secrets.token_hex(2)}"
        names = [f"{prefix}-{n:02d}" for n in range(args.agents)]
        tokens = databases.new_agents(url, names, queues="medical")
        print(
            f"dispatch latency · {args.database} · gunicorn {args.workers} workers + rq worker · "
            f"{args.agents} agents · {args.callers} callers in flight · talk "
            f"{args.talk[0]:g}–{args.talk[1]:g} s",
            flush=True,
        )
        runs = []
        for number in range(1, args.runs + 1):
            shift = Shift(server, tokens, args, seed=args.seed + number)
            result = shift.run(rest_port)
            runs.append(result)
            report(number, result)
            gevent.sleep(1)
    finally:
        worker.terminate()
        worker.wait(20)
        server.stop()
        if not args.keep_database and args.database == "postgresql":
            databases.drop(url)

    print(context())
    ok = True
    for kind in (JOINS, AVAILABLE):
        best = _median(runs, kind)
        met = best[kind]["p99"] < TARGET_P99_MS
        ok = ok and met
        print(
            f"median run (by {kind} p99): {kind}: p50 {best[kind]['p50']:.1f} ms, "
            f"p99 {best[kind]['p99']:.1f} ms over {best[kind]['n']} offers "
            f"(target < {TARGET_P99_MS:.0f} ms: {verdict(met)})"
        )
    return 0 if ok else 1


def _median(runs: list[dict], kind: str) -> dict:
    keyed = [{**r, "key": r[kind]["p99"]} for r in runs]
    return median_run(keyed, "key")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_ivr_options(parser)
    parser.set_defaults(people=2000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--callers", type=int, default=200, help="callers kept in flight")
    parser.add_argument("--offers", type=int, default=400, help="offers timed per run")
    parser.add_argument(
        "--spread", type=float, default=20.0, help="seconds over which the first callers dial"
    )
    parser.add_argument(
        "--talk",
        type=float,
        nargs=2,
        default=(5.0, 15.0),
        metavar=("MIN", "MAX"),
        help="seconds each call lasts once answered (uniform)",
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    return exit_status(run, args, WebhookFailed)


if __name__ == "__main__":
    sys.exit(main())
