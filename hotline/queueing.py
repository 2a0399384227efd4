"""Background jobs: rq with Redis, or in-process when REDIS_URL is unset.

With ``REDIS_URL`` set, jobs go to the ``hotline`` rq queue (``rq worker
--with-scheduler hotline``), with retries, and run in the worker process, which
builds its own app (``job_app``). Without it — the one-process demo on the
embedded store — there is no worker to hand them to: jobs run at once, in the
process that asked for them, and a failure is logged instead of retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app, has_app_context
from rq import Queue, Retry

from hotline import store

log = logging.getLogger(__name__)

QUEUE = "hotline"
RETRY = Retry(max=3, interval=[10, 60, 300])

_worker_app: Flask | None = None


def queue(app: Flask) -> Queue:
    return Queue(QUEUE, connection=store.redis(app))


def in_process(app: Flask) -> bool:
    return not app.config.get("REDIS_URL")


def enqueue(app: Flask, func: Callable, *args, job_id: str | None = None, **kwargs):
    """Run ``func(*args, **kwargs)`` in the background (in-process without Redis)."""
    if in_process(app):
        with app.app_context():
            try:
                return func(*args, **kwargs)
            except Exception:
                log.exception("in-process job %s failed", func.__name__)
                return None
    return queue(app).enqueue_call(func, args=args, kwargs=kwargs, retry=RETRY, job_id=job_id)


def enqueue_at(app: Flask, when: datetime, func: Callable, *args, job_id: str | None = None):
    """Schedule ``func`` for ``when``; a job already scheduled under ``job_id`` is kept."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    q = queue(app)
    if job_id is not None:
        try:
            Job.fetch(job_id, connection=q.connection)
            return None
        except NoSuchJobError:
            pass
    return q.enqueue_at(when, func, *args, job_id=job_id, retry=RETRY)


def job_app() -> Flask:
    """The app a job runs with: the current one, else one built once per worker process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from hotline import create_app

        _worker_app = create_app()
    return _worker_app
