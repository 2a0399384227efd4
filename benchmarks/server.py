"""The web process under test: gunicorn exactly as the Procfile starts it, on loopback.

``gunicorn --config python:hotline.gunicorn_conf "hotline:create_app()"`` with
``REDIS_URL`` set (so ``WEB_CONCURRENCY`` worker processes run) on a free port,
its access log in ``benchmarks/out/``; the CPU time its processes use is read
from ``/proc`` so that a benchmark can report CPU per request. Every benchmark
that times the server over HTTP starts it through here.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
from pathlib import Path

import redis

from benchmarks import callers, databases
from benchmarks.common import REDIS_URL, BenchmarkFailed, out_dir, tool
from hotline.loopback import LocalServer, ServerFailed

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU time of one process so far (0 when it is gone); ``children``: with
    that of the children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def process_wait_seconds(pid: int) -> float:
    """Time the process's threads were ready to run but waited for a core (run queue)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(task.read_text().split()[1])  # nanoseconds
    return total / 1e9


class Gunicorn(LocalServer):
    """The Procfile's web process on a free loopback port (``hotline.loopback``).

    ``env`` adds settings to the environment the Procfile would have (e.g. the
    Twilio auth token and public URL the IVR's signatures are checked against).
    ``app``: ``app`` and ``config`` of another app to serve (``hotline.loopback``).
    """

    def __init__(
        self,
        url: str,
        workers: int,
        threads: int | None,
        extra: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        **app,
    ):
        environment = databases.hotline_env(
            url, REDIS_URL=REDIS_URL, WEB_CONCURRENCY=str(workers), **(env or {})
        )
        if threads:
            environment["GUNICORN_THREADS"] = str(threads)
        super().__init__(environment, log, extra, **app)

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        return super().get(path, {"Authorization": f"Bearer {token}"} if token else None)

    def post_json(self, path: str, body: dict, token: str) -> tuple[int, str]:
        """An API request with a Bearer token, on a connection of its own (a browser tab's)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(
                "POST",
                path,
                body=json.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def wait_ready(
        self, path: str, token: str | None = None, expect: int = 200, timeout: float = 60
    ) -> None:
        """Until ``GET path`` answers ``expect`` (any other answer fails the benchmark)."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            status, body = super().wait_ready(path, headers, timeout)
        except ServerFailed as exc:
            raise BenchmarkFailed(str(exc)) from None
        if status != expect:
            raise BenchmarkFailed(f"GET {path}: {status} {body[:300]!r}")

    def cpu_by_process(self) -> dict[int, float]:
        """User + system CPU time used so far by the master and by each live worker."""
        return {pid: process_cpu_seconds(pid) for pid in self.processes()}

    def wait_seconds(self) -> float:
        """Time the server's processes waited for a core so far: what a shared machine adds."""
        return sum(process_wait_seconds(pid) for pid in self.processes())

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master and its live workers."""
        return sum(self.cpu_by_process().values())


def start_worker(url: str, settings: dict[str, str], label: str) -> subprocess.Popen:
    """The Procfile's rq worker (with its scheduler) on the benchmark Redis and ``url``."""
    log = (out_dir() / f"worker-{label}.log").open("wb")
    return subprocess.Popen(
        [
            tool("rq"),
            *("worker", "--with-scheduler", "--worker-class", "hotline.worker.Worker"),
            *("--url", REDIS_URL, "hotline"),
        ],
        env=databases.hotline_env(url, REDIS_URL=REDIS_URL, **settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_ivr(args, label: str, env: dict[str, str] | None = None) -> tuple[Gunicorn, str, str]:
    """Empty the benchmark Redis, load the database, start gunicorn for the IVR.

    ``env``: settings beside the IVR's own. Returns the server, the database URL and
    the HOTLINE_TZ it runs in.
    """
    redis.Redis.from_url(REDIS_URL).flushdb()  # queues and call states of earlier runs
    url, _ = databases.with_feed(args.database, args.people, args.seed, args.reuse)
    databases.forget_failed_tries(url)
    zone = args.tz or callers.open_zone()
    log = out_dir() / f"gunicorn-{label}-{args.database}.log"
    extra = args.gunicorn_arg or []
    settings = {**callers.ivr_settings(zone), **(env or {})}
    server = Gunicorn(url, args.workers, None, extra, log, env=settings)
    try:
        server.wait_ready("/api/cases", expect=401)  # up, and refusing the unauthenticated
    except BaseException:
        server.stop()
        raise
    return server, url, zone


def start_bare(args, url: str, zone: str) -> Gunicorn:
    """The yardstick (``benchmarks.bare_endpoint``) under the IVR's gunicorn settings."""
    log = out_dir() / f"gunicorn-bare-{args.database}.log"
    server = Gunicorn(
        url,
        args.workers,
        None,
        args.gunicorn_arg or [],
        log,
        env=callers.ivr_settings(zone),
        app="benchmarks.bare_endpoint:create_app()",
        config="python:benchmarks.bare_endpoint",
    )
    try:
        server.wait_ready("/", expect=404)
    except BaseException:
        server.stop()
        raise
    return server


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """The options of the benchmarks that call the IVR: the database, the feed, the zone."""
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", choices=databases.KINDS, default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tz",
        help="HOTLINE_TZ for the server (default: Asia/Shanghai when every line is open for "
        "the next hour, else a zone where it is about noon)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database that already holds this feed"
    )
    parser.add_argument("--keep-database", action="store_true", help="do not drop hotline_bench")


def add_ivr_options(parser: argparse.ArgumentParser) -> None:
    """The options both IVR benchmarks take for the database and the server."""
    add_database_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument(
        "--gunicorn-arg",
        action="append",
        help="extra gunicorn option, e.g. --gunicorn-arg=--access-logformat='%%(r)s %%(D)s' "
        "(repeatable)",
    )
