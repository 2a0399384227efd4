"""gunicorn settings, shared by ``hotline serve`` and the Procfile
(``gunicorn --config python:hotline.gunicorn_conf "hotline:create_app()"``).

Without ``REDIS_URL`` the call state lives in an in-process store, which one
process cannot share with another: then there is exactly one worker process.
With Redis, ``WEB_CONCURRENCY`` workers. Each is a gevent worker (greenlets, so
hundreds of open event streams per process); ``HOTLINE_WORKER_CLASS=gthread``
selects threads instead, ``GUNICORN_THREADS`` of them, one per open stream.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys

log = logging.getLogger("hotline.gunicorn")


def _whole(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


SHARED_STORE = bool(os.environ.get("REDIS_URL"))

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Server-sent events (screen-pop, wallboard) hold their connection open for an hour.
# gevent workers hold hundreds of them as cheap greenlets while webhooks stay fast;
# gthread would need a thread per open stream (benchmarks/README.md has the figures).
worker_class = os.environ.get("HOTLINE_WORKER_CLASS", "gevent")
worker_connections = _whole("GUNICORN_WORKER_CONNECTIONS", 1000)
# gthread workers only (HOTLINE_WORKER_CLASS=gthread): one per open stream, plus spares.
threads = _whole("GUNICORN_THREADS", 256)
workers = _whole("WEB_CONCURRENCY", 2) if SHARED_STORE else 1
# Long enough for a slow database reconnect, short enough that a stuck worker is replaced.
timeout = 60
graceful_timeout = 20
accesslog = "-"
# gunicorn's default line and, last, the time the server took over the request (µs):
# what the benchmarks read as the server's own latency (benchmarks/README.md).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
# gunicorn 27's control socket sits at one path per user: two servers on a machine would clash.
control_socket_disable = True
# Twilio signs the public URL; behind a proxy the scheme must come from X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


# How long the master waits for the start-up migration before serving without it.
START_SECONDS = 30


# `hotline …` in a process of its own: the master never imports the app.
CLI = [sys.executable, "-c", "from hotline.cli import main; main()"]


def on_starting(server) -> None:
    """Migrate once, before any worker takes a request, in a process of its own.

    The master itself stays free of the app's imports, so that gevent workers patch
    sockets and ssl before anything has taken a reference to them. A database that
    is down does not stop the server: callers get the degraded answer, and each
    worker migrates once the database answers (``hotline.migrator``).
    """
    if not SHARED_STORE and os.environ.get("WEB_CONCURRENCY", "1") != "1":
        log.warning("REDIS_URL is unset: running one worker process, WEB_CONCURRENCY ignored")
    log_calendar(server)
    if not _ran([*CLI, "db", "upgrade"], stdout=subprocess.DEVNULL):
        log.warning(
            "could not migrate the database: serving without it (callers get the degraded "
            "answer); the workers migrate once it answers, or run `hotline db upgrade`"
        )
        return
    # Start the recurring overdue-SLA sweep in rq (one job per slot, however many start it).
    if SHARED_STORE and not _ran([*CLI, "cases", "sweep", "--schedule"]):
        log.warning("could not schedule the SLA sweep; run `hotline cases sweep --schedule`")
    # And the reports' upkeep (ended agent spells into the history, old intervals out).
    if SHARED_STORE and not _ran([*CLI, "reports", "upkeep", "--schedule"]):
        log.warning("could not schedule the reports upkeep; run `hotline reports upkeep`")


def _ran(command: list[str], **kwargs) -> bool:
    try:
        return subprocess.run(command, check=False, timeout=START_SECONDS, **kwargs).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def log_calendar(server) -> None:
    """Say at start which years the working-day calendar covers, and warn of a missing one.

    In gunicorn's own log (``server.log``): the app's loggers print warnings only. Run
    from ``on_starting``, before the socket listens: no request waits on it.
    """
    try:
        done = subprocess.run(
            [*CLI, "calendar", "check"],
            check=False,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )
    except subprocess.TimeoutExpired:
        server.log.warning("could not check the working-day calendar in time")
        return
    for line in done.stdout.splitlines():
        server.log.info("%s", line)
    for line in done.stderr.splitlines():
        server.log.warning("%s", line)


def post_fork(server, worker) -> None:
    """No wait on PostgreSQL outlasts a webhook's budget, and under gevent none holds the loop
    longer than a moment's patience.

    The wait callback (``storage.deadlines``) polls through ``select``, which the
    gevent worker patches as it starts, so psycopg2 yields to the event loop too (a
    webhook's statement after up to a millisecond in the operating system's poll).
    """
    from storage import db, deadlines

    deadlines.install(db.WEB.silence)


def post_worker_init(worker) -> None:
    """Migrate once the database answers; without Redis, run the jobs here too.

    Without Redis there is no rq worker: this (only) worker process runs the jobs itself,
    and the distribution's loop (offers, made away from the webhooks, and its sweep).
    """
    from hotline.migrator import Migrator

    Migrator(worker.wsgi).start()
    if not SHARED_STORE:
        in_process_runner(worker.wsgi).start()
        from services import distribution

        distribution.loop(worker.wsgi).register().start()
    spread_full_collections()


def worker_exit(server, worker) -> None:
    """The worker is ending (a stop, a restart): the calls' notes it holds are written now."""
    from services import call_notes

    app = getattr(worker, "wsgi", None)
    if app is not None and call_notes.EXTENSION in getattr(app, "extensions", {}):
        call_notes.of(app).close()


# A full garbage collection walks every object the worker holds — some 330,000 once it
# has started — and answers no request for the 50–100 ms it takes. Python starts one
# after every 10 collections of the middle generation (once a quarter of the old
# objects are new since the last); 100 makes them about ten times rarer, so that a run
# of a few thousand requests seldom holds one. Young collections are left as they are.
FULL_COLLECTION_AFTER = 100


def spread_full_collections() -> None:
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)


def in_process_runner(app):
    """The runner that stands in for rq's worker and scheduler in a server without Redis.

    It keeps the recurring SLA sweep, callback reconcile and reports upkeep going (with
    Redis, ``on_starting`` and the Procfile's worker do) and runs what is due: the sweeps,
    the reconciles and the callbacks they dispatch, the upkeeps.
    """
    from adapters.background import InProcessRunner
    from services.call_jobs import schedule_reconcile
    from services.case_jobs import schedule_sweeps
    from services.report_jobs import schedule_upkeep

    minutes = int(app.config["SLA_SWEEP_MINUTES"])
    upkeep_minutes = int(app.config["REPORTS_UPKEEP_MINUTES"])
    recurring = (
        lambda: schedule_sweeps(app, minutes),
        lambda: schedule_reconcile(app),
        lambda: schedule_upkeep(app, upkeep_minutes),
    )
    return InProcessRunner(app, recurring)


# Requests one keep-alive connection may carry before the worker closes it (nginx's
# keepalive_requests). Each worker keeps the connections it accepted for as long as the
# client keeps them open, so a few busy ones — an outside system's pool, a proxy's — can
# all land on one worker: measured, one worker at 90–95 % of a core and the other at a
# quarter, and a p99 three to eight times the balanced runs'. The client reconnects, and
# the worker with time to spare is the one that accepts first, so the load evens out.
KEEPALIVE_REQUESTS = 100


def pre_request(worker, req) -> None:
    """Close an HTTP/1.1 connection after ``KEEPALIVE_REQUESTS`` requests (``Connection: close``).

    HTTP/2 numbers its streams where HTTP/1.1 counts requests, and is left as it is.
    """
    if req.version < (2, 0) and req.req_number >= KEEPALIVE_REQUESTS:
        req.must_close = True


def post_request(worker, req, environ, resp) -> None:
    """Let the other connections have their turn between two requests of one connection.

    A gevent socket yields only when a read would block. A keep-alive client that sends
    its next request before the worker reads again (wrk does; so does a busy proxy) keeps
    the greenlet running request after request while the worker's other connections wait:
    measured, 8 connections on one worker had a p50 of 0.8 ms and a p99 of 700 ms.
    """
    if worker_class == "gevent":
        import gevent

        gevent.sleep(0)
