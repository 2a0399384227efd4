"""Jobs of the agent side: the booking confirmation SMS and the overdue-SLA sweep.

``record_step`` is how a step is recorded from a view: a new booking enqueues
its confirmation SMS. Both jobs are idempotent, so rq's retries and a job enqueued twice do no harm:
- the SMS is claimed in the database before it is sent and its Twilio message
  SID recorded after, so one case gets one confirmation;
- the sweep only flags deadlines not flagged yet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from adapters import background, twilio_rest
from domain.cases import Milestone
from flows import Flows
from runtime import current_clock, current_flows
from services import cases, defaults
from storage import db
from storage.models import Case

log = logging.getLogger(__name__)

# A claim older than this is taken to belong to a run that died before sending.
CLAIM_TIMEOUT = timedelta(minutes=10)
PERIOD_NAMES = {"am": "上午", "pm": "下午"}


def record_step(
    app: Flask,
    db_session: Session,
    flows: Flows,
    now: datetime,
    agent_id: int | None,
    case_id: int,
    step: cases.CaseStep,
) -> tuple[Case, bool]:
    """Record ``step`` (``cases.record``); a booking newly recorded texts the customer.

    The text is a job: the step stands whether or not the SMS can be sent.
    """
    limit = app.config.get("CASE_NOTE_MAX_LENGTH", defaults.CASE_NOTE_MAX_LENGTH)
    case, changed = cases.record(db_session, flows, now, agent_id, case_id, step, limit)
    if changed and step.milestone == Milestone.BOOKED.value:
        background.enqueue(app, send_booking_confirmation, case.id)
    return case, changed


def confirmation_text(case: Case, flows) -> str:
    service = flows.programme.service(case.service)
    rule = service.usage
    when = ""
    if case.visit_on:
        when = f"{case.visit_on.month}月{case.visit_on.day}日"
        when += PERIOD_NAMES.get(case.visit_period or "", "")
    where = f"，{case.hospital}" if case.hospital else ""
    line = flows.line("medical").phone
    if rule.counted_when_booked:
        terms = "预约成功即视为服务已使用，不可取消"
    elif rule.cancel_notice_working_days:
        terms = (
            f"如需取消或改期，请至少提前{rule.cancel_notice_working_days}个工作日来电，"
            "否则视为服务已使用"
        )
    else:
        terms = "如需取消请来电"
    booked = f"已预约成功：{when}{where}" if when or where else "已预约成功"
    return f"【重疾管家】您的{service.name}{booked}。{terms}。服务热线{line}。"


def send_booking_confirmation(case_id: int) -> str | None:
    """Text the customer that case ``case_id`` is booked; returns the message SID.

    Sent once: a second run finds the SID (or a live claim) and sends nothing.
    """
    app = background.job_app()
    with app.app_context():
        session = db.session()
        case = session.get(Case, case_id)
        if case is None or case.confirmation_sid:
            return case.confirmation_sid if case else None
        if not case.contact_phone:
            log.warning("case %s has no contact phone: no booking confirmation sent", case_id)
            return None
        missing = twilio_rest.missing_for_sms(app)
        if missing:
            log.warning("case %s: SMS not configured (%s), not sent", case_id, ", ".join(missing))
            return None
        now = current_clock().local()
        claimed = session.execute(
            update(Case)
            .where(
                Case.id == case_id,
                Case.confirmation_sid.is_(None),
                or_(
                    Case.confirmation_claimed_at.is_(None),
                    Case.confirmation_claimed_at < now - CLAIM_TIMEOUT,
                ),
            )
            .values(confirmation_claimed_at=now)
        ).rowcount
        session.commit()
        if not claimed:
            log.info("case %s: confirmation already being sent by another run", case_id)
            return None
        try:
            sid = twilio_rest.send_sms(
                app, case.contact_phone, confirmation_text(case, current_flows())
            )
        except Exception:
            # Let a retry send it: release the claim, then fail the job for rq to retry.
            session.rollback()
            session.execute(
                update(Case).where(Case.id == case_id).values(confirmation_claimed_at=None)
            )
            session.commit()
            raise
        session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(confirmation_sid=sid, confirmation_sent_at=current_clock().local())
        )
        session.commit()
        return sid


def sweep_overdue_cases() -> int:
    """Flag the deadlines that passed unmet; returns how many were newly flagged."""
    app = background.job_app()
    with app.app_context():
        flagged = cases.sweep_overdue(db.session(), current_clock().now())
    if flagged:
        log.warning("SLA sweep: %d deadline(s) newly overdue", flagged)
    return flagged


def sweep_and_schedule_next(every_minutes: int) -> int:
    """The recurring sweep: sweep now, then schedule the next run (one job per slot)."""
    flagged = sweep_overdue_cases()
    schedule_sweeps(background.job_app(), every_minutes)
    return flagged


def schedule_sweeps(app, every_minutes: int) -> str:
    """Schedule the next recurring sweep; safe to call from every process at start.

    One job per slot, however many ask. Without Redis only the web process's
    runner (``gunicorn_conf.in_process_runner``) can run it.
    """
    with app.app_context():
        now = current_clock().now()
    slot = next_slot(now, every_minutes)
    job_id = f"hotline-sla-sweep-{slot:%Y%m%d%H%M}"
    background.enqueue_at(app, slot, sweep_and_schedule_next, every_minutes, job_id=job_id)
    return job_id


def next_slot(now: datetime, every_minutes: int) -> datetime:
    """The next whole multiple of ``every_minutes`` past midnight after ``now``."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = int((now - midnight).total_seconds() // 60)
    return midnight + timedelta(minutes=(elapsed // every_minutes + 1) * every_minutes)
