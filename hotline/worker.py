"""The rq worker of the Procfile: jobs run inside an app; the reconcile and the sweep keep going.

``rq worker --with-scheduler --worker-class hotline.worker.Worker hotline``: the
worker builds the app once from the environment (``REDIS_URL`` names the Redis of
``--url``) and runs every job inside its context, so the jobs read the flows, the
clock, SQL and Redis like a request does. A reconcile is scheduled as the worker
starts, each run schedules the next a minute later, and the worker's periodic
maintenance starts the chain again should Redis have lost it (a restart without
persistence). Callbacks kept in SQL are therefore dialled even if Redis forgot
every job. The distribution's sweep (``services.distribution``) is kept going alike.

The distribution's jobs are short, frequent and waited for by callers: the worker
runs them itself instead of forking a work horse for each (forking costs more than
the job). Its SQL connections are therefore never handed on to a forked horse: each
horse drops the pool it inherited.
"""

from __future__ import annotations

from datetime import UTC, datetime

import rq
from flask import Flask, current_app, has_app_context
from rq.worker import WorkerStatus

from services import call_jobs, distribution
from storage import db

# Seconds between two checks that the recurring jobs are still scheduled.
KEEP_GOING_SECONDS = 30
# Jobs run in the worker's own process (see above).
INLINE = frozenset({distribution.DISPATCH_JOB, distribution.SWEEP_JOB})

_app: Flask | None = None


def worker_app() -> Flask:
    """The app jobs run in: the current one (a test's), else one built once per process."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from hotline import create_app

        _app = create_app()
    return _app


class Worker(rq.Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = worker_app()
        # Maintenance restarts the chains Redis may have lost: often enough that the
        # distribution's sweep (and the waiting lists' check) resumes within a minute.
        self.maintenance_interval = min(self.maintenance_interval, KEEP_GOING_SECONDS)

    @property
    def dequeue_timeout(self) -> int:
        # An idle worker wakes this often, so maintenance is looked at even without jobs.
        return min(super().dequeue_timeout, KEEP_GOING_SECONDS)

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)

    def execute_job(self, job, queue):
        if job.func_name not in INLINE:
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)
        return None

    def main_work_horse(self, *args, **kwargs):
        # A forked horse must not use the parent's open database connections.
        db.engine(self.app).dispose(close=False)
        return super().main_work_horse(*args, **kwargs)

    def work(self, *args, **kwargs):
        self._keep_going()
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self._keep_going()

    def _keep_going(self) -> None:
        call_jobs.schedule_reconcile(self.app, datetime.now(UTC))
        distribution.schedule_sweep(self.app)
