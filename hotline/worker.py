"""The rq worker of the Procfile: jobs run inside an app, and the callback reconcile keeps going.

``rq worker --with-scheduler --worker-class hotline.worker.Worker hotline``: the
worker builds the app once from the environment (``REDIS_URL`` names the Redis of
``--url``) and runs every job inside its context, so the jobs read the flows, the
clock, SQL and Redis like a request does. A reconcile is scheduled as the worker
starts, each run schedules the next a minute later, and the worker's periodic
maintenance starts the chain again should Redis have lost it (a restart without
persistence). Callbacks kept in SQL are therefore dialled even if Redis forgot
every job. The reports' upkeep (``services.report_jobs``) is kept going the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

import rq
from flask import Flask, current_app, has_app_context

from services import call_jobs, report_jobs

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

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)

    def work(self, *args, **kwargs):
        self._keep_chains_going()
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        self._keep_chains_going()

    def _keep_chains_going(self) -> None:
        call_jobs.schedule_reconcile(self.app, datetime.now(UTC))
        report_jobs.schedule_upkeep(self.app, int(self.app.config["REPORTS_UPKEEP_MINUTES"]))
