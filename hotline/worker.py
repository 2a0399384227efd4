"""The rq worker of the Procfile: jobs run inside an app; the reconcile and the sweep keep going.

``rq worker --with-scheduler --worker-class hotline.worker.Worker hotline``: the
worker builds the app once from the environment (``REDIS_URL`` names the Redis of
``--url``) and runs every job inside its context, so the jobs read the flows, the
clock, SQL and Redis like a request does. A reconcile is scheduled as the worker
starts, each run schedules the next a minute later, and the worker's periodic
maintenance starts the chain again should Redis have lost it (a restart without
persistence). Callbacks kept in SQL are therefore dialled even if Redis forgot
every job. The reports' upkeep (``services.report_jobs``) is kept going the same way.

Redis restarting under a running worker must not stop the callbacks: rq's
scheduler process dies with the connection, and rq looks after it only at its
maintenance, every ten minutes by default. Here the maintenance comes round every
``MAINTENANCE_SECONDS`` whatever the command line says (the worker listens for
jobs that long at a time, then looks), restarts the scheduler, and re-arms the
reconcile; a Redis error on the way is logged and the worker carries on. So
after a Redis restart or flush every due callback is dialled within a minute or
so. The distribution's sweep (``services.distribution``) is kept going alike.

The distribution's jobs and the calls' SMS links are short (a few Redis commands, one
request to Twilio with its time-out), frequent and waited for by callers: the worker
runs them itself instead of forking a work horse for each (an SMS job cost 68 ms of
CPU with its horse, 4.8 ms run here), and outlives Redis failing under one, as it
outlives a horse's. rq's time-out still bounds each (an alarm in this process). Its SQL
connections are therefore never handed on to a forked horse: each horse drops the
pool it inherited.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import rq
from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from rq.worker import WorkerStatus

from services import call_jobs, distribution, report_jobs
from storage import db, deadlines

log = logging.getLogger(__name__)

# How often the worker looks after rq's scheduler and the recurring chains (the callback
# reconcile, the distribution's sweep, the reports' upkeep), at most.
MAINTENANCE_SECONDS = 15
# Jobs run in the worker's own process (see above).
INLINE = frozenset({distribution.DISPATCH_JOB, distribution.SWEEP_JOB, call_jobs.SEND_SMS_JOB})

_app: Flask | None = None


def worker_app() -> Flask:
    """The app jobs run in: the current one (a test's), else one built once per process."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from hotline import create_app

        # Jobs may run long statements (a sweep over every case).
        _app = create_app({"DATABASE_BUDGET": "batch"})
    return _app


class WithoutArguments(logging.Filter):
    """rq logs a failed job's arguments as extra fields of its error line (for a JSON log,
    say): for an SMS, a customer's phone number. The line itself stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("arguments", "kwargs"):
            record.__dict__.pop(name, None)
        return True


WITHOUT_ARGUMENTS = WithoutArguments()


class PromptStop:
    """An rq worker whose pubsub thread (commands such as ``rq`` stopping a job) stops at once.

    rq's thread waits up to 60 s at a time for a message, and once the worker has
    unsubscribed, for a subscription; redis-py 8.2's ``stop()`` now waits for the thread,
    so a worker's teardown took up to a minute whenever the thread went back to waiting
    before it was told to stop (often, on a busy machine). Here it waits a second at a time.
    """

    pubsub_wait_seconds = 1.0

    def subscribe(self):
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=self.pubsub_wait_seconds,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


class Worker(PromptStop, rq.Worker):
    # Waiting for a Redis that is down: look again every few seconds, not every minute.
    max_connection_wait_time = 8.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = worker_app()
        # The work horse logs to the same logger object (rq.worker), filter included.
        self.log.addFilter(WITHOUT_ARGUMENTS)
        if self.app is _app:
            # The worker process of its own (not a test's app): no job waits on a silent
            # database for ever. Not in a process that imports feeds: COPY needs none.
            deadlines.install(db.BATCH.silence)
        self.maintenance_interval = min(self.maintenance_interval, MAINTENANCE_SECONDS)

    @property
    def dequeue_timeout(self) -> int:
        # rq listens for up to worker_ttl - 15 s (405 s) between two looks at maintenance.
        return min(super().dequeue_timeout, MAINTENANCE_SECONDS)

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)

    def execute_job(self, job, queue):
        if job.func_name not in INLINE:
            return super().execute_job(job, queue)
        try:
            execution = self.prepare_execution(job)
            self.perform_job(job, queue, execution)
            self.set_state(WorkerStatus.IDLE)
        except RedisError as exc:
            # Redis went away during the job's bookkeeping (its result, its registries),
            # which rq does in the process that runs the job: in a forked horse that would
            # end the horse; here it would end the worker. The loop waits for Redis instead,
            # as it does to dequeue; a job left started is rq's maintenance's to clean up.
            log.warning("job %s (%s): Redis unavailable as it ran (%s)", job.id, job.func_name, exc)
        return None

    def main_work_horse(self, *args, **kwargs):
        # A forked horse must not use the parent's open database connections.
        db.engine(self.app).dispose(close=False)
        return super().main_work_horse(*args, **kwargs)

    def work(self, *args, **kwargs):
        self.keep_reconciling()
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self):
        try:
            # Also starts rq's scheduler again if its process has died.
            super().run_maintenance_tasks()
        except RedisError as exc:
            log.warning("worker maintenance: Redis unavailable (%s)", exc)
        self.keep_reconciling()

    def keep_reconciling(self) -> None:
        """Re-arm the recurring chains now unless they are alive (a lost chain starts again).

        The callback reconcile (due this minute), the distribution's sweep, the reports'
        upkeep.
        """
        try:
            call_jobs.schedule_reconcile(self.app, datetime.now(UTC))
            distribution.schedule_sweep(self.app)
            report_jobs.schedule_upkeep(self.app, int(self.app.config["REPORTS_UPKEEP_MINUTES"]))
        except RedisError as exc:
            log.warning("could not schedule the callback reconcile yet (%s)", exc)

    # rq leaves its loop (and the process) on a Redis error outside its wait for jobs:
    # these three come round between jobs; a Redis that is down is waited for there.

    def set_state(self, state, pipeline=None):
        try:
            return super().set_state(state, pipeline)
        except RedisError as exc:  # rq's monitoring alone reads it: written again next time
            log.warning("worker state: Redis unavailable (%s)", exc)

    def check_for_suspension(self, *args, **kwargs):
        try:
            return super().check_for_suspension(*args, **kwargs)
        except RedisError as exc:
            log.warning("worker: Redis unavailable (%s); waiting for it", exc)

    def heartbeat(self, *args, **kwargs):
        try:
            return super().heartbeat(*args, **kwargs)
        except RedisError as exc:
            log.warning("worker heartbeat: Redis unavailable (%s)", exc)
