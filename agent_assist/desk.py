"""The agent desk (``/agent``): the desk page, status, the event stream and the phone token.

Server-rendered pages with a little plain JavaScript (``static/desk.js``). Every
form carries the session's CSRF token; the session cookie is HttpOnly and
SameSite=Lax. Personal data on these pages is masked; the full record is only
behind the authenticated JSON API.

The blueprint (``desk_blueprint``) also carries signing in and out (``signin``)
and the case pages (``case_pages``): importing this module registers them all.
"""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from redis import RedisError

from agent_assist import (
    agent_status,
    auth,
    bounds,
    case_pages,  # noqa: F401  (adds the case pages to bp)
    labels,
    phone,
    push,
    signin,  # noqa: F401  (adds signing in and out to bp)
)
from agent_assist.auth import signed_in
from agent_assist.desk_blueprint import bp
from agent_assist.errors import error_response, wants_json
from agent_assist.waiting import waiting_callers
from domain.agent_states import AgentState, Status
from live import store
from runtime import current_clock, current_flows
from services import agent_shift, cases
from storage import db
from storage.models import Agent


@bp.get("/")
@signed_in
def home():
    agent: Agent = g.desk_agent
    now = current_clock().now()
    flows = current_flows()
    redis = store.redis()
    try:
        status = agent_shift.get(agent.username).state
        waiting = [c.as_dict(now) for c in waiting_callers(redis, agent.queue_list, now)]
    except RedisError:
        status, waiting = AgentState(), []
        flash("实时数据暂不可用 (live data unavailable)", "error")
    mine = cases.find(db.session(), now, status="open,booked", opened_by=agent.id, limit=50)
    configured = not phone.missing_settings(current_app)
    simulator = "simulator" in current_app.blueprints
    return render_template(
        "desk/desk.html",
        agent=agent,
        status=status,
        statuses=agent_status.choices(),
        status_labels={str(k): v for k, v in agent_status.LABELS.items()},
        reason_labels=agent_status.REASON_LABELS,
        waiting=waiting,
        services=flows.programme.services,
        categories=flows.categories,
        my_cases=[cases.as_dict(c, flows, now) for c in mine],
        labels=labels.for_script(flows),
        visit_periods=labels.VISIT_PERIOD,
        note_limit=bounds.note_limit(),
        timezone=str(current_clock().tz),
        today=now.date().isoformat(),
        request_key=cases.CaseRequest(insured_id="", service="").request_key,
        phone_configured=configured,
        offer_seconds=flows.call_flow.agents.offer_seconds,
        phone_mode="twilio" if configured else "simulator" if simulator else "none",
        # Without Twilio, the simulator (HOTLINE_SIMULATOR) bridges calls to the desk.
        simulator=simulator,
    )


@bp.post("/status")
@signed_in
def set_status():
    """The desk's status form (or its script, as JSON): SPEC §6's rules, as the API's."""
    agent: Agent = g.desk_agent
    body = bounds.json_body()
    body = body if isinstance(body, dict) else {}
    value = request.form.get("status") or body.get("status")
    reason = request.form.get("reason") or body.get("reason")
    answer = agent_status.choose(agent, value, reason)
    if wants_json():
        return answer
    body = answer.get_json()
    if answer.status_code == 202:
        later = agent_status.LABELS[Status(body["next"])]
        flash(f"通话及话后处理结束后将切换为「{later}」 (after this call)", "success")
    elif answer.status_code != 200:
        flash(body["error"]["message"], "error")
    return redirect(url_for("desk.home"))


@bp.get("/events")
@auth.login_required()
def events():
    agent = auth.current_agent()
    listener = push.Listener(agent.username, tuple(agent.queue_list))
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    # The stream outlives this request: it works with the app, not the request context.
    app = current_app._get_current_object()
    body = push.stream(app, listener, last_event_id, auth.still_signed_in(app))
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
