"""The supervisor dashboard (``/supervisor``): queues per line, agents, callbacks, cases at risk.

A server-rendered page that a small script keeps live from ``/supervisor/events``
(server-sent events): a ``snapshot`` event whenever the figures differ from the
last one sent, looked at every ``SUPERVISOR_REFRESH_SECONDS``, and a ``checked``
event (the server's time) every ``SSE_HEARTBEAT_SECONDS`` while nothing changes, so
the page can say when its figures were last known to be current. Each look costs a
fixed number of Redis operations (``agent_assist.dashboard``); the cases at risk,
an SQL query, are looked at every ``SUPERVISOR_CASES_SECONDS`` only.

Supervisors only: an agent gets 403 from the page, the stream and the JSON API.
Customers' names are masked; agent usernames (staff) are shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from functools import wraps

from flask import Blueprint, Response, abort, current_app, flash, g, render_template
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from agent_assist import agent_status, auth, dashboard, errors, push
from agent_assist.errors import page_errors, register_backend_errors
from live import store
from runtime import current_clock, current_flows
from services import accounts
from storage import db

log = logging.getLogger(__name__)

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor", template_folder="templates")

STREAM_ENDPOINTS = frozenset({"supervisor.events"})
bp.register_error_handler(HTTPException, page_errors(STREAM_ENDPOINTS))
register_backend_errors(bp, STREAM_ENDPOINTS, STREAM_ENDPOINTS)


def supervisors_only(view):
    """Signed-in supervisors; others signed in get 403, anyone else the sign-in form."""

    @wraps(view)
    def checked(*args, **kwargs):
        if g.desk_agent.role != accounts.SUPERVISOR:
            abort(403, "the dashboard is for supervisors")
        return view(*args, **kwargs)

    return auth.signed_in(checked)


def snapshot(app, cases: list[dict] | None = None) -> dict:
    """Everything the dashboard shows, now; ``cases`` reuses a recent list of cases at risk."""
    with app.app_context():
        flows, now = current_flows(), current_clock().now()
        redis, session = store.redis(), db.session()
        board = dashboard.board(session, redis, flows, now)
        agents = dashboard.agents(session, redis, flows, now)
        supervisors = dashboard.supervisors(session, redis, now)
        if cases is None:
            cases = dashboard.cases_at_risk(session, flows, now)
        session.rollback()  # a long stream must not hold a transaction open
    for person in (*agents["agents"], *supervisors):
        # Figures that move every second would make every look a change: the page counts
        # the seconds from "since" itself (occupancy is on the reports page).
        for moving in ("seconds", "call_seconds", "occupancy_today"):
            person.pop(moving, None)
    return {
        "server_time": now.isoformat(),
        "queues": dashboard.queues(flows, now, board),
        "lines": dashboard.lines(flows, now, board),
        "agents": agents["agents"],
        "agent_counts": agents["counts"],
        "supervisors": supervisors,
        "cases": cases,
        "calendar_notice": dashboard.calendar_notice(flows, now.date()),
    }


@bp.get("/")
@supervisors_only
def home():
    app = current_app._get_current_object()
    try:
        data = snapshot(app)
    except (RedisError, SQLAlchemyError):
        log.exception("dashboard figures unavailable")
        flash("实时数据暂不可用 (live data unavailable)", "error")
        data = None
    config = app.config
    return render_template(
        "supervisor/dashboard.html",
        agent=g.desk_agent,
        data=data,
        # From the flows and the clock alone: shown even when the live figures are not.
        calendar_notice=dashboard.calendar_notice(current_flows(), current_clock().today()),
        rules=current_flows().reports.rules,
        # Past this many seconds without a snapshot or a check, the page says it is stale.
        stale_after=2 * float(config["SSE_HEARTBEAT_SECONDS"])
        + 2 * float(config["SUPERVISOR_REFRESH_SECONDS"]),
        status_labels={str(status): label for status, label in agent_status.LABELS.items()},
        reason_labels=agent_status.SHORT_REASONS,
    )


@bp.get("/events")
@auth.login_required(accounts.SUPERVISOR)
def events():
    app = current_app._get_current_object()
    body = stream(app, auth.still_signed_in(app))
    return Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )


def stream(app, signed_in=None) -> Iterator[str]:
    """Snapshots as they change; with ``signed_in``, only while the sign-in holds."""
    watch = push.SignInWatch(app, signed_in)
    config = app.config
    refresh = float(config["SUPERVISOR_REFRESH_SECONDS"])
    cases_every = float(config["SUPERVISOR_CASES_SECONDS"])
    heartbeat = float(config["SSE_HEARTBEAT_SECONDS"])
    ends = time.monotonic() + float(config["SSE_MAX_SECONDS"])
    yield f"retry: {int(config['SSE_RETRY_MS'])}\n\n"
    sent = None
    cases, cases_read = None, float("-inf")
    beat = time.monotonic()
    while time.monotonic() < ends:
        if watch.ended():
            yield push.message("signed_out", push.SIGNED_OUT)
            return
        try:
            if time.monotonic() - cases_read >= cases_every:
                cases, cases_read = None, time.monotonic()
            data = snapshot(app, cases)
        except (RedisError, SQLAlchemyError) as exc:
            log.exception("dashboard stream interrupted")
            yield errors.unavailable_stream_text(exc, int(config["SSE_RETRY_MS"]))
            return
        cases = data["cases"]
        compared = {k: v for k, v in data.items() if k != "server_time"}
        if compared != sent:
            sent = compared
            yield push.message("snapshot", data)
            beat = time.monotonic()
        elif time.monotonic() - beat >= heartbeat:
            # Nothing changed: say when it was last looked at (the page's "last updated"),
            # which also keeps proxies from closing an idle stream.
            yield push.message("checked", {"server_time": data["server_time"]})
            beat = time.monotonic()
        time.sleep(refresh)
