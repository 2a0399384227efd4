"""The reports' recurring job: calls and ended agent spells into the history, old rows out.

Every ``REPORTS_UPKEEP_MINUTES`` (one job per slot, however many processes schedule
it): ``interval_history.fold_all`` adds the calls noted since the last fold (readers
of the reports fold too: this keeps what they find to fold small),
``agent_history.fold`` counts the spells that ended since the last run, then
``history_upkeep.prune`` deletes the intervals past ``keep_days`` and
``lockout.prune`` the failed authentication tries past their window. All are
idempotent, so a run repeated or run late does no harm. With Redis the rq worker
runs it (the Procfile's worker and ``hotline reports upkeep --schedule`` start the
chain); without, the web process's in-process runner does.
"""

from __future__ import annotations

import logging

from flask import Flask

from adapters import background
from runtime import current_clock, current_flows
from services import agent_history, history_upkeep, interval_history, lockout
from services.case_jobs import next_slot
from storage import db

log = logging.getLogger(__name__)


def upkeep() -> dict[str, int]:
    """Fold the calls and the ended spells; prune the old intervals and failed tries, now."""
    app = background.job_app()
    with app.app_context():
        session, clock = db.session(), current_clock()
        calls = interval_history.fold_all(session)
        folded = 0
        while True:
            batch = agent_history.fold(session, clock.tz)
            session.commit()
            folded += batch
            if batch < agent_history.FOLD_BATCH:
                break
        flows = current_flows()
        pruned = history_upkeep.prune(session, clock.today(), flows.reports.keep_days, clock.tz)
        # Failed authentication tries count within their window only: older ones go too.
        forgotten = lockout.prune(
            session, clock.now().timestamp(), flows.call_flow.limits.failure_window_seconds
        )
        session.commit()
    if pruned or forgotten:
        log.info(
            "reports upkeep: %d spell(s) folded, %d old row(s) pruned, %d old try(ies) forgotten",
            folded,
            pruned,
            forgotten,
        )
    return {"calls": calls, "folded": folded, "pruned": pruned, "failed_tries": forgotten}


def upkeep_and_schedule_next(every_minutes: int) -> dict[str, int]:
    done = upkeep()
    schedule_upkeep(background.job_app(), every_minutes)
    return done


def schedule_upkeep(app: Flask, every_minutes: int) -> str:
    """Schedule the next run; safe to call from every process at start (one job per slot)."""
    with app.app_context():
        now = current_clock().now()
    slot = next_slot(now, every_minutes)
    job_id = f"hotline-reports-upkeep-{slot:%Y%m%d%H%M}"
    background.enqueue_at(
        app, slot, "services.report_jobs.upkeep_and_schedule_next", every_minutes, job_id=job_id
    )
    return job_id
