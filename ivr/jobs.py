"""rq jobs of the telephone side: SMS links, callback dialling, reconciling.

Each job runs inside the application (the test's, or one made from the
environment in the worker process) and reads what it needs from SQL and flows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job

from domain.masking import mask_phone
from hotline import store
from ivr import callbacks, rest

log = logging.getLogger(__name__)

# Twilio's API may be briefly unreachable: an SMS is tried again, then left failed.
SMS_RETRY = Retry(max=3, interval=[10, 60, 300])
RECONCILE_EVERY = timedelta(minutes=1)
_app: Flask | None = None


@contextmanager
def application() -> Iterator[Flask]:
    """The app to run in: the current one, or one built once per worker process."""
    global _app
    if has_app_context():
        yield current_app._get_current_object()
        return
    if _app is None:
        from hotline import create_app

        _app = create_app()
    with _app.app_context():
        yield _app


def enqueue_sms(redis, to: str, body: str, from_: str | None, ref: str) -> None:
    """Send an SMS link once per ``ref`` (the call and step that asked for it)."""
    job_id = f"hotline-sms-{ref}"
    if Job.exists(job_id, connection=redis):
        return
    callbacks.rq_queue(redis).enqueue(
        "ivr.jobs.send_sms", to, body, from_, job_id=job_id, retry=SMS_RETRY
    )


def send_sms(to: str, body: str, from_: str | None) -> str:
    with application() as app:
        sender = from_ or app.config.get("TWILIO_CALLER_ID")
        message = rest.client(app).messages.create(to=to, from_=sender, body=body)
        log.info("SMS link sent to %s (%s)", mask_phone(to), message.sid)
        return message.sid


def dial_callback(callback_id: int) -> str:
    from hotline import current_clock

    with application() as app:
        return callbacks.dial(app, callback_id, current_clock().now())


def reconcile() -> dict[str, int]:
    """Re-dispatch open callbacks from SQL, then come back in a minute."""
    from hotline import current_clock

    with application() as app:
        now = current_clock().now()
        counts = callbacks.reconcile(app, now)
        schedule_reconcile(store.redis(), now + RECONCILE_EVERY)
        return counts


def schedule_reconcile(redis, at) -> None:
    # Named by the minute: several workers starting together schedule one run.
    jid = f"hotline-reconcile-{int(at.timestamp()) // 60}"
    try:
        Job.fetch(jid, connection=redis)
    except NoSuchJobError:
        callbacks.rq_queue(redis).enqueue_at(at, "ivr.jobs.reconcile", job_id=jid)
