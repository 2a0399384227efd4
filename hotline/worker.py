"""The rq worker of the Procfile: jobs run inside an app, and the callback reconcile keeps going.

``rq worker --with-scheduler --worker-class hotline.worker.Worker hotline``: the
worker builds the app once from the environment (``REDIS_URL`` names the Redis of
``--url``) and runs every job inside its context, so the jobs read the flows, the
clock, SQL and Redis like a request does. A reconcile is scheduled as the worker
starts, each run schedules the next a minute later, and the worker's periodic
maintenance starts the chain again should Redis have lost it (a restart without
persistence). Callbacks kept in SQL are therefore dialled even if Redis forgot
every job.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import rq
from flask import Flask, current_app, has_app_context

from services import call_jobs

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


class WithoutArguments(logging.Filter):
    """rq logs a failed job's arguments as extra fields of its error line (for a JSON log,
    say): for an SMS, a customer's phone number. The line itself stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("arguments", "kwargs"):
            record.__dict__.pop(name, None)
        return True


WITHOUT_ARGUMENTS = WithoutArguments()


class Worker(rq.Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = worker_app()
        # The work horse logs to the same logger object (rq.worker), filter included.
        self.log.addFilter(WITHOUT_ARGUMENTS)

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)

    def work(self, *args, **kwargs):
        call_jobs.schedule_reconcile(self.app, datetime.now(UTC))
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        call_jobs.schedule_reconcile(self.app, datetime.now(UTC))
