"""Background jobs: rq with Redis, or in-process when REDIS_URL is unset.

With ``REDIS_URL`` set, jobs go to the ``hotline`` rq queue (``rq worker
--with-scheduler hotline``, Procfile), with retries, and run in the worker
process, inside the app that worker built (``hotline.worker``). Without it — the one-process
demo on the embedded store — there is no worker to hand them to: a job runs at
once, in the process that asked for it (rq's synchronous queue), and a failure
is logged instead of retried; a job scheduled for later waits in rq's scheduled
registry until the web process's ``InProcessRunner`` finds it due.

Either way a job given a ``job_id`` is not added twice: a job under that id
already in Redis (waiting, running, or kept a while after it ended) stands.
Functions may be given by import path (``"services.call_jobs.send_sms"``), as the worker
finds them.

A job's description, which rq's worker logs as it starts the job and its tools
show, is the function's name alone: rq's own default writes out the arguments,
and those are a customer's phone number for an SMS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from flask import Flask, current_app, has_app_context
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from live import store
from runtime.exceptions import HotlineError

log = logging.getLogger(__name__)

QUEUE = "hotline"
# Twilio's API or the database may be briefly unreachable: tried again, then left failed.
RETRY_INTERVALS = (10, 60, 300)
# A job in one of these states will still run: scheduling it again would run it twice.
LIVE = frozenset({JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED})
# How often the in-process runner looks for due jobs (rq's scheduler: every second).
POLL_SECONDS = 5
# Loops of this process by name (``Loop``), in the app's extensions.
LOOPS = "hotline.loops"
# A kick's rq job not begun (or not come back from a run) after this long is taken as lost:
# a new kick enqueues another.
KICK_SECONDS = 30
# How long one kicked job runs again and again before a successor takes over (``kicked_runs``).
KICKED_SECONDS = 1.0


class InProcessJob(Job):
    """A job run by the process that asked for it: nothing retries it, so its failure is logged."""

    def perform(self):
        try:
            return super().perform()
        except HotlineError as exc:
            # Expected and explained (e.g. SMS not configured in the demo): no traceback.
            log.warning("job %s not done: %s", self.func_name, exc)
            raise
        except Exception:
            log.exception("in-process job %s failed (not retried without Redis)", self.func_name)
            raise


def description(func: Callable | str) -> str:
    """What rq shows and logs for a job: the function, never its arguments."""
    name = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
    return f"{name}(…)"


def in_process(app: Flask) -> bool:
    return not app.config.get("REDIS_URL")


def queue(app: Flask) -> Queue:
    if in_process(app):
        return Queue(QUEUE, connection=store.redis(app), is_async=False, job_class=InProcessJob)
    return Queue(QUEUE, connection=store.redis(app))


def _retry(app: Flask, intervals: Sequence[int]) -> Retry | None:
    if in_process(app) or not intervals:
        return None
    return Retry(max=len(intervals), interval=list(intervals))


def _taken(q: Queue, job_id: str | None, again_if_ended: bool) -> bool:
    """Whether a job under ``job_id`` stands; an ended one is cleared if ``again_if_ended``."""
    if job_id is None:
        return False
    try:
        job = q.job_class.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        return False
    if again_if_ended and job.get_status(refresh=False) not in LIVE:
        job.delete()
        return False
    return True


def enqueue(
    app: Flask,
    func: Callable | str,
    *args,
    job_id: str | None = None,
    retry: Sequence[int] = RETRY_INTERVALS,
    **kwargs,
) -> Job | None:
    """Run ``func(*args, **kwargs)`` in the background (at once, in-process, without Redis).

    Returns the job, or None when a job under ``job_id`` already stands.
    """
    q = queue(app)
    if _taken(q, job_id, again_if_ended=False):
        return None
    with app.app_context():
        return q.enqueue_call(
            func,
            args=args,
            kwargs=kwargs,
            job_id=job_id,
            retry=_retry(app, retry),
            description=description(func),
        )


def enqueue_at(
    app: Flask,
    when: datetime,
    func: Callable | str,
    *args,
    job_id: str | None = None,
    retry: Sequence[int] = RETRY_INTERVALS,
    again_if_ended: bool = False,
) -> Job | None:
    """Schedule ``func(*args)`` for ``when``; None when a job under ``job_id`` already stands.

    ``again_if_ended``: a job under ``job_id`` that ran (or failed) without settling
    what it was for is replaced, so the work is dispatched again.
    """
    q = queue(app)
    if _taken(q, job_id, again_if_ended):
        return None
    return q.enqueue_at(
        when,
        func,
        *args,
        job_id=job_id,
        retry=_retry(app, retry),
        description=description(func),
    )


def run_due(app: Flask) -> int:
    """Run, here, the scheduled jobs due by the app's clock (rq's scheduler does it with Redis)."""
    from runtime import current_clock

    q = queue(app)
    registry = q.scheduled_job_registry
    with app.app_context():
        now = current_clock().now()
        due = registry.get_jobs_to_schedule(int(now.timestamp()))
        for job_id in due:
            registry.remove(job_id)
            try:
                job = q.job_class.fetch(job_id, connection=q.connection)
            except NoSuchJobError:
                continue
            q.enqueue_job(job)  # a synchronous queue runs it now
    return len(due)


class InProcessRunner(threading.Thread):
    """The demo's scheduler (no REDIS_URL, so no rq worker): a daemon thread in the web process.

    Every few seconds it restarts the ``recurring`` chains (each job schedules its own
    next run under an id of its slot, so this does nothing while a chain is alive, as
    the worker's maintenance does with Redis), then runs the jobs that are due.
    """

    def __init__(
        self,
        app: Flask,
        recurring: Sequence[Callable[[], object]] = (),
        every_seconds: float = POLL_SECONDS,
    ):
        super().__init__(name="hotline-jobs", daemon=True)
        self.app = app
        self.recurring = tuple(recurring)
        self.every = every_seconds
        self.stopped = threading.Event()

    def tick(self) -> int:
        for start in self.recurring:
            start()
        return run_due(self.app)

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.tick()
            except Exception:
                log.exception("in-process jobs: could not run the due jobs")


def job_app() -> Flask:
    """The app a job runs in: the worker (``hotline.worker.Worker``) or the request that ran it."""
    if not has_app_context():
        raise RuntimeError(
            "a job runs inside an app context: start workers with hotline.worker.Worker"
        )
    return current_app._get_current_object()


class Loop(threading.Thread):
    """One function run again and again in a daemon thread: at once when kicked, and timed.

    ``func(app, timed)`` runs after each ``kick()`` (kicks made while it runs make one
    more run, not one each) and every ``every`` seconds with ``timed`` true. Without
    Redis there is no rq worker, and work that must not wait inside a webhook (a call
    to Twilio's REST API) is handed to such a loop of the web process instead.
    """

    def __init__(self, app: Flask, name: str, func: Callable[[Flask, bool], object], every: float):
        super().__init__(name=f"hotline-{name}", daemon=True)
        self.app = app
        self.loop_name = name
        self.func = func
        self.every = every
        self.kicked = threading.Event()
        self.stopped = threading.Event()

    def kick(self) -> None:
        self.kicked.set()

    def stop(self) -> None:
        self.stopped.set()
        self.kicked.set()

    def register(self) -> Loop:
        """Kicks of ``name`` in this app come here from now on (``kick``)."""
        self.app.extensions.setdefault(LOOPS, {})[self.loop_name] = self
        return self

    def run(self) -> None:
        due = time.monotonic() + self.every
        while not self.stopped.is_set():
            self.kicked.wait(max(0.0, due - time.monotonic()))
            if self.stopped.is_set():
                return
            self.kicked.clear()
            timed = time.monotonic() >= due
            if timed:
                due = time.monotonic() + self.every
            try:
                self.func(self.app, timed)
            except Exception:
                log.exception("%s: a run failed", self.name)


def kick(app: Flask, name: str, func: str, flag_key: str) -> None:
    """Have ``func`` run soon, in the background: once for all kicks made before it begins.

    To this process's ``Loop`` of ``name`` if it runs one; else, with Redis, as an rq
    job (``func`` runs ``kicked_runs``), counted in ``flag_key``: only a kick with no job
    asked for or running enqueues one; a kick during a run has that job run again.
    Without either (a test, a command), nothing runs it.
    """
    loop = app.extensions.get(LOOPS, {}).get(name)
    if loop is not None:
        loop.kick()
        return
    if in_process(app):
        return
    if store.redis(app).eval(_KICKED, 1, flag_key, KICK_SECONDS) == 1:
        queue(app).enqueue_call(func, result_ttl=0, failure_ttl=3600)


def kicked_runs(app: Flask, func: str, flag_key: str, run: Callable[[], int]) -> int:
    """The body of ``kick``'s job: ``run()`` again while kicks came in during the last run.

    A kick during a run costs its sender one Redis command instead of an rq job
    (0.33 ms of a webhook's CPU), and the worker rq's bookkeeping of another job. After
    ``KICKED_SECONDS`` of runs a successor job is enqueued instead, so that the jobs
    waiting behind this one (an SMS, a callback) have their turn. Returns the sum of
    what the runs returned.
    """
    redis = store.redis(app)
    seen = int(redis.get(flag_key) or 0)
    done = 0
    ends = time.monotonic() + KICKED_SECONDS
    try:
        while True:
            done += run()
            seen = int(redis.eval(_SETTLED, 1, flag_key, seen, KICK_SECONDS))
            if not seen:
                return done
            if time.monotonic() >= ends:
                queue(app).enqueue_call(func, result_ttl=0, failure_ttl=3600)
                return done
    except Exception:
        # The next kick must enqueue a job, not wait for the count to expire.
        try:
            redis.delete(flag_key)
        except Exception:
            log.exception("%s: could not clear its kicks", func)
        raise


# One more kick; the first since none was pending (1) enqueues the job.
_KICKED = """
local kicks = redis.call('INCR', KEYS[1])
if kicks == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return kicks
"""
# After a run: no kick since ``seen`` (or none counted any more) clears the count (0);
# else the kicks now, kept for the next run.
_SETTLED = """
local kicks = redis.call('GET', KEYS[1])
if kicks == false or kicks == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return tonumber(kicks)
"""
