"""The agent desk (``/agent``): sign-in, status, live queue, screen-pop, eligibility, cases.

Server-rendered pages with a little plain JavaScript (``static/desk.js``). Every
form carries the session's CSRF token; the session cookie is HttpOnly and
SameSite=Lax. Personal data on these pages is masked; the full record is only
behind the authenticated JSON API.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from redis import RedisError
from werkzeug.exceptions import HTTPException

from agent_assist import auth, csrf, phone, push
from agent_assist.errors import error_response, page_errors, wants_json
from agent_assist.waiting import waiting_callers
from domain.cases import ANCHORS, Milestone
from domain.dates import iso_date
from domain.masking import mask_name
from domain.usage import Party
from live import keys, presence, store
from runtime import current_clock, current_flows
from services import accounts, case_jobs, cases
from services.exceptions import CaseRefused, UnknownAgent, UnknownCase
from storage import db
from storage.models import Agent, Person

log = logging.getLogger(__name__)

bp = Blueprint(
    "desk", __name__, url_prefix="/agent", template_folder="templates", static_folder="static"
)

# Paths under /agent that answer JSON (scripts and EventSource), not pages.
JSON_ENDPOINTS = frozenset({"desk.events", "desk.token"})
SIGNIN_LIMIT = 10
SIGNIN_WINDOW_SECONDS = 15 * 60
STEP_LABELS = {
    Milestone.CONTACTED: "已联系客户 Contacted",
    Milestone.MATERIALS_COMPLETE: "资料齐全 Materials complete",
    Milestone.FEEDBACK_GIVEN: "已反馈安排结果 Feedback given",
    Milestone.CONFIRMED: "需求已确认 Confirmed",
    Milestone.BOOKED: "预约成功 Booked",
    Milestone.RESCHEDULED: "改期 Rescheduled",
    Milestone.CONSULTATION_HELD: "已会诊 Consultation held",
    Milestone.REPORT_ISSUED: "已出具报告 Report issued",
    Milestone.COMPLETED: "已完成 Completed",
    Milestone.CANCELLED: "取消 Cancelled",
    Milestone.NO_SHOW: "未应约 No-show",
}
# What each deadline counts from (flows/services.toml ``anchor``), as the desk names it.
ANCHOR_LABELS = {
    anchor: {Milestone.REQUESTED: "受理 Request", **STEP_LABELS}[milestone]
    for anchor, milestone in ANCHORS.items()
}


@bp.before_request
def _protect() -> None:
    csrf.check()


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"csrf_token": csrf.token, "anchor_labels": ANCHOR_LABELS}


def signed_in(view):
    """Pages for signed-in agents; anyone else is sent to the sign-in form."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        agent = auth.current_agent()
        if agent is None:
            return redirect(url_for("desk.signin", next=request.full_path.rstrip("?")))
        g.desk_agent = agent
        return view(*args, **kwargs)

    return wrapped


# -- signing in and out ---------------------------------------------------------------


@bp.get("/signin")
def signin():
    agent = auth.current_agent()
    if agent is not None:
        return redirect(landing(agent))
    return render_template("desk/signin.html", next=_safe_next(request.args.get("next")))


@bp.post("/signin")
def signin_submit():
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    target = _safe_next(request.form.get("next"))
    if _too_many_attempts(username):
        return (
            render_template(
                "desk/signin.html",
                next=target,
                username=username,
                error="尝试次数过多，请 15 分钟后再试 (too many attempts; try again later)",
            ),
            429,
        )
    agent = None
    try:
        agent = accounts.find_agent(db.session(), username)
    except UnknownAgent:
        agent = None
    if agent is None or not accounts.check_password(agent, password):
        # One message for both: a wrong username must not be told apart from a wrong password.
        return (
            render_template(
                "desk/signin.html",
                next=target,
                username=username,
                error="用户名或密码错误 (wrong username or password)",
            ),
            401,
        )
    _forget_attempts(username)
    session.clear()
    session[auth.SESSION_KEY] = agent.id
    session.permanent = True
    csrf.rotate()
    log.info("agent %s signed in", agent.username)
    return redirect(target or landing(agent))


def landing(agent: Agent) -> str:
    """Where signing in leads: supervisors to their dashboard, agents to the desk."""
    if agent.role == accounts.SUPERVISOR:
        return url_for("supervisor.home")
    return url_for("desk.home")


@bp.post("/signout")
def signout():
    agent = auth.current_agent()
    if agent is not None:
        try:
            presence.change(store.redis(), agent.username, presence.Status.OFFLINE, _now())
        except RedisError:
            log.warning("could not set %s offline on sign-out", agent.username)
    session.clear()
    return redirect(url_for("desk.signin"))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an absolute or scheme-relative URL (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def _too_many_attempts(username: str) -> bool:
    key = keys.SIGNIN_ATTEMPTS.format(username=username.lower()[:64])
    try:
        redis = store.redis()
        attempts = redis.incr(key)
        if attempts == 1:
            redis.expire(key, SIGNIN_WINDOW_SECONDS)
    except RedisError:
        return False  # the lock-out is a safeguard; passwords are still checked
    return attempts > SIGNIN_LIMIT


def _forget_attempts(username: str) -> None:
    with contextlib.suppress(RedisError):
        store.redis().delete(keys.SIGNIN_ATTEMPTS.format(username=username.lower()[:64]))


# -- the desk -------------------------------------------------------------------------


@bp.get("/")
@signed_in
def home():
    agent: Agent = g.desk_agent
    now = _now()
    flows = current_flows()
    redis = store.redis()
    try:
        status = presence.get(redis, agent.username)
        waiting = [c.as_dict(now) for c in waiting_callers(redis, agent.queue_list, now)]
    except RedisError:
        status, waiting = presence.AgentStatus(agent.username, presence.Status.OFFLINE, None), []
        flash("实时数据暂不可用 (live data unavailable)", "error")
    mine = cases.find(db.session(), now, status="open,booked", opened_by=agent.id, limit=50)
    return render_template(
        "desk/desk.html",
        agent=agent,
        status=status,
        statuses=list(presence.Status),
        status_labels=presence.LABELS,
        waiting=waiting,
        services=flows.programme.services,
        categories=flows.categories,
        tiers={t.code: t.name for t in flows.programme.tiers},
        my_cases=[cases.as_dict(c, flows, now) for c in mine],
        request_key=cases.CaseRequest(insured_id="", service="").request_key,
        phone_configured=not phone.missing_settings(current_app),
        # Without Twilio, the simulator (HOTLINE_SIMULATOR) bridges calls to the desk.
        simulator="simulator" in current_app.blueprints,
    )


@bp.post("/status")
@signed_in
def set_status():
    agent: Agent = g.desk_agent
    value = request.form.get("status") or (request.get_json(silent=True) or {}).get("status")
    try:
        status = presence.Status(value)
    except ValueError:
        message = f"status: one of {', '.join(presence.Status)}"
        if wants_json():
            return error_response(422, "invalid_status", message)
        flash(message, "error")
        return redirect(url_for("desk.home"))
    try:
        result = presence.change(store.redis(), agent.username, status, _now())
    except RedisError:
        if wants_json():
            return error_response(503, "store_unavailable", "status cannot be saved right now")
        flash("状态暂时无法保存 (status cannot be saved right now)", "error")
        return redirect(url_for("desk.home"))
    if wants_json():
        return jsonify(result.as_dict())
    return redirect(url_for("desk.home"))


@bp.get("/events")
@auth.login_required()
def events():
    agent = auth.current_agent()
    listener = push.Listener(agent.username, tuple(agent.queue_list))
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    # The stream outlives this request: it works with the app, not the request context.
    body = push.stream(current_app._get_current_object(), listener, last_event_id)
    return Response(
        body,
        mimetype="text/event-stream",
        headers={
            "Cache-Control": "no-cache, no-transform",
            # nginx and similar proxies buffer responses unless told not to.
            "X-Accel-Buffering": "no",
        },
    )


@bp.get("/token")
@auth.login_required()
def token():
    agent = auth.current_agent()
    missing = phone.missing_settings(current_app)
    if missing:
        return error_response(
            503,
            "phone_not_configured",
            "the browser phone is not configured on this server "
            f"(set {', '.join(missing)}); the desk works without it",
        )
    return jsonify(phone.access_token(current_app, agent.username))


# -- cases --------------------------------------------------------------------------------


@bp.post("/cases")
@signed_in
def case_submit():
    agent: Agent = g.desk_agent
    form = request.form
    try:
        visit_on = _form_date(form.get("visit_on"), "visit_on")
    except CaseRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("desk.home"))
    case_request = cases.CaseRequest(
        insured_id=(form.get("insured_id") or "").strip(),
        service=(form.get("service") or "").strip(),
        critical_illness_confirmed=form.get("critical_illness_confirmed") in ("1", "on", "true"),
        hospital=(form.get("hospital") or "").strip() or None,
        doctor=(form.get("doctor") or "").strip() or None,
        visit_on=visit_on,
        visit_period=form.get("visit_period") or None,
        contact_phone=(form.get("contact_phone") or "").strip() or None,
        call_sid=(form.get("call_sid") or "").strip() or None,
        notes=(form.get("notes") or "").strip(),
    )
    if form.get("request_key"):
        case_request.request_key = form["request_key"][:64]
    try:
        case, created = cases.open_case(
            db.session(), current_flows(), _now(), agent.id, case_request
        )
    except CaseRefused as exc:
        flash(f"未能受理 (refused): {exc.message}", "error")
        return redirect(url_for("desk.home"))
    flash(
        f"已受理 case #{case.id}" if created else f"case #{case.id} was already recorded",
        "success",
    )
    return redirect(url_for("desk.case_page", case_id=case.id))


@bp.get("/cases/<int:case_id>")
@signed_in
def case_page(case_id: int):
    try:
        case = cases.get(db.session(), case_id)
    except UnknownCase:
        return render_template("desk/not_found.html", what=f"case #{case_id}"), 404
    insured = db.session().get(Person, case.insured_id)
    flows = current_flows()
    return render_template(
        "desk/case.html",
        agent=g.desk_agent,
        case=cases.as_dict(case, flows, _now(), events=True),
        insured_name=mask_name(insured.name) if insured else "",
        steps=STEP_LABELS,
        parties=list(Party),
        today=current_clock().today().isoformat(),
    )


@bp.post("/cases/<int:case_id>/steps")
@signed_in
def case_step(case_id: int):
    form = request.form
    try:
        step = cases.CaseStep(
            milestone=form.get("milestone") or "",
            on=_form_date(form.get("on"), "on"),
            visit_on=_form_date(form.get("visit_on"), "visit_on"),
            visit_period=form.get("visit_period") or None,
            by=form.get("by") or None,
            note=(form.get("note") or "").strip(),
        )
        _case, changed = case_jobs.record_step(
            current_app._get_current_object(),
            db.session(),
            current_flows(),
            _now(),
            g.desk_agent.id,
            case_id,
            step,
        )
    except UnknownCase:
        return render_template("desk/not_found.html", what=f"case #{case_id}"), 404
    except CaseRefused as exc:
        flash(f"未能记录 (refused): {exc.message}", "error")
        return redirect(url_for("desk.case_page", case_id=case_id))
    flash("已记录 (recorded)" if changed else "already recorded", "success")
    return redirect(url_for("desk.case_page", case_id=case_id))


def _form_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    day = iso_date(value)
    if day is None:
        raise CaseRefused("invalid_date", f"{name}: {value!r} is not a date")
    return day


# -- helpers ---------------------------------------------------------------------------------


def _now():
    return current_clock().now()


bp.register_error_handler(HTTPException, page_errors(JSON_ENDPOINTS))
