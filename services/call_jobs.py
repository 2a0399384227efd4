"""rq jobs of the telephone side: SMS links, callback dialling, reconciling.

Each job runs inside the application (the test's, or one made from the
environment in the worker process) and reads what it needs from SQL and flows.
``adapters.background`` hands them to rq, or runs them in-process without Redis.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from adapters import background, twilio_rest
from runtime import current_clock
from services import callbacks

RECONCILE_EVERY = timedelta(minutes=1)
SEND_SMS_JOB = "services.call_jobs.send_sms"


def enqueue_sms(app: Flask, to: str, body: str, dialled: str | None, ref: str) -> None:
    """Send an SMS link once per ``ref`` (the call and step that asked for it)."""
    background.enqueue(app, SEND_SMS_JOB, to, body, dialled, job_id=f"hotline-sms-{ref}")


def send_sms(to: str, body: str, dialled: str | None) -> str:
    app = background.job_app()
    with app.app_context():
        return twilio_rest.send_sms(app, to, body, dialled)


def dial_callback(callback_id: int) -> str:
    app = background.job_app()
    with app.app_context():
        return callbacks.dial(app, callback_id, current_clock().now())


def reconcile() -> dict[str, int]:
    """Re-dispatch open callbacks from SQL, then come back in a minute."""
    app = background.job_app()
    with app.app_context():
        now = current_clock().now()
        counts = callbacks.reconcile(app, now)
        schedule_reconcile(app, now + RECONCILE_EVERY)
        return counts


def schedule_reconcile(app: Flask, at: datetime | None = None) -> None:
    """Schedule a reconcile for ``at`` (default: now by the app's clock)."""
    if at is None:
        with app.app_context():
            at = current_clock().now()
    # Named by the minute: several workers starting together schedule one run.
    job_id = f"hotline-reconcile-{int(at.timestamp()) // 60}"
    background.enqueue_at(app, at, "services.call_jobs.reconcile", job_id=job_id, retry=())
