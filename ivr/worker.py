"""The rq worker of the Procfile: keeps the callback reconcile running.

``rq worker --with-scheduler --worker-class ivr.worker.Worker hotline``: a
reconcile is scheduled as the worker starts, each run schedules the next a
minute later, and the worker's periodic maintenance starts the chain again
should Redis have lost it (a restart without persistence). Callbacks kept in
SQL are therefore dialled even if Redis forgot every job.

The jobs, and this schedule, reach Redis through the app built from the
environment (``hotline.queueing.job_app``): ``REDIS_URL`` names the Redis of ``--url``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import rq

from hotline import queueing
from ivr import jobs


class Worker(rq.Worker):
    def work(self, *args, **kwargs):
        jobs.schedule_reconcile(queueing.job_app(), datetime.now(UTC))
        return super().work(*args, **kwargs)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        jobs.schedule_reconcile(queueing.job_app(), datetime.now(UTC))
