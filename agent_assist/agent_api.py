"""Agents' states in the JSON API (SPEC §6), on the API blueprint (``/api/...``).

- ``GET /api/agents/me`` → ``{"username", "status", "since", "next", "reason", "queues",
  "call_sid"}`` (with ``wrap_up_until`` while wrapping up);
- ``POST /api/agents/me/status {"status": "available"|"break"|"offline", "reason"?}`` →
  200 with the state, or 202 ``{"status": current, "next": asked, ...}`` while a call
  holds the agent (the change is taken when the call and its wrap-up are over);
- ``POST /api/agents/me/wrap_up {"action": "end"|"extend"}`` — ready now, or more time (once);
- ``GET /api/agents[?status=S]`` (supervisors) → ``{"agents": [...], "counts": {...}}``:
  the same object for every account of the ``agent`` role, and how many are in each state.

Requests riding on the session cookie must carry the CSRF token (``X-CSRF-Token``).
"""

from __future__ import annotations

from flask import request
from redis import RedisError

from agent_assist import agent_status, auth, dashboard
from agent_assist.api import ApiError, bp, check_csrf, json_object
from domain import agent_states as rules
from live import store
from runtime import current_clock, current_flows
from services import accounts, agent_shift
from storage import db


@bp.get("/agents/me")
@auth.login_required()
def me():
    agent = auth.current_agent()
    if agent.role != accounts.AGENT:
        return agent_status.not_an_agent()
    try:
        found = agent_shift.get(agent.username)
    except RedisError:
        return agent_status.unavailable()
    return found.as_dict(current_clock().now())


@bp.post("/agents/me/status")
@auth.login_required()
def my_status():
    check_csrf()
    body = json_object()
    return agent_status.choose(auth.current_agent(), body.get("status"), body.get("reason"))


@bp.post("/agents/me/wrap_up")
@auth.login_required()
def my_wrap_up():
    check_csrf()
    agent = auth.current_agent()
    if agent.role != accounts.AGENT:
        return agent_status.not_an_agent()
    action = json_object().get("action")
    actions = {"end": agent_shift.end_wrap_up, "extend": agent_shift.extend_wrap_up}
    if action not in actions:
        raise ApiError(422, "invalid_action", 'action: "end" (ready now) or "extend" (more time)')
    try:
        done = actions[action](agent.username)
    except rules.Refused as refusal:
        return agent_status.refused(refusal)
    except RedisError:
        return agent_status.unavailable()
    return agent_status.shown(done)


@bp.get("/agents")
@auth.login_required(accounts.SUPERVISOR)
def agents():
    now = current_clock().now()
    try:
        found = dashboard.agents(db.session(), store.redis(), current_flows(), now)
    except RedisError:
        raise ApiError(503, "store_unavailable", "agent status cannot be read right now") from None
    wanted = request.args.get("status")
    if wanted:
        found["agents"] = [a for a in found["agents"] if a["status"] == wanted]
    return {**found, "as_of": now.isoformat()}
