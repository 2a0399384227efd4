"""JSON API for cases and queues, on the API blueprint (``/api/...``).

- ``POST /api/cases`` opens a case (``Idempotency-Key`` header or ``request_key``:
  the same key twice is the same case, answered 200 instead of 201);
- ``GET /api/cases?sla=at_risk|overdue|due_today|on_track|pending|met&status=&insured_id=``;
- ``GET /api/cases/ID``; ``POST /api/cases/ID/steps`` records a milestone;
- ``GET /api/queues`` (supervisors): today's figures per queue (``agent_assist.dashboard``).

Agents' states are in ``agent_assist.agent_api``.

Agents list the cases they opened, or those of one insured person they ask for by
``insured_id``, and may open any case by id; supervisors list every case. Requests
riding on the session cookie must carry the CSRF token (``X-CSRF-Token``); Bearer
requests need none.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, jsonify, request
from redis import RedisError

from agent_assist import auth, bounds, dashboard
from agent_assist.api import ApiError, bp, check_csrf, json_object
from agent_assist.errors import refusal_status
from domain.dates import iso_date
from live import store
from runtime import current_clock, current_flows
from services import accounts, case_jobs, cases
from services.exceptions import CaseRefused, UnknownCase
from storage import db

SUPERVISOR = accounts.SUPERVISOR


def _date(body: dict, name: str) -> date | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    day = iso_date(value)
    if day is not None:
        return day
    raise ApiError(400, "invalid_date", f'{name}: "{value}" is not a date (YYYY-MM-DD)')


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"invalid_{name}", f"{name} must be a string")
    return value.strip() or None


def _refused(exc: CaseRefused) -> ApiError:
    return ApiError(refusal_status(exc), exc.code, exc.message, reason=exc.reason)


@bp.post("/cases")
@auth.login_required()
def create_case():
    check_csrf()
    body = json_object()
    agent = auth.current_agent()
    confirmed = body.get("critical_illness_confirmed", False)
    if not isinstance(confirmed, bool):
        raise ApiError(400, "invalid_critical_illness_confirmed", "must be true or false")
    case_request = cases.CaseRequest(
        insured_id=_text(body, "insured_id") or "",
        service=_text(body, "service") or "",
        critical_illness_confirmed=confirmed,
        hospital=_text(body, "hospital"),
        doctor=_text(body, "doctor"),
        visit_on=_date(body, "visit_on"),
        visit_period=_text(body, "visit_period"),
        contact_phone=_text(body, "contact_phone"),
        call_sid=_text(body, "call_sid"),
        notes=_text(body, "notes") or "",
    )
    if not case_request.insured_id or not case_request.service:
        raise ApiError(400, "missing_fields", "insured_id and service are required")
    key = request.headers.get("Idempotency-Key") or _text(body, "request_key")
    if key:
        case_request.request_key = key
    try:
        case, created = cases.open_case(
            db.session(),
            current_flows(),
            current_clock().now(),
            agent.id,
            case_request,
            bounds.note_limit(),
        )
    except CaseRefused as exc:
        raise _refused(exc) from None
    case = cases.get(db.session(), case.id)
    data = cases.as_dict(case, current_flows(), current_clock().now(), full=True, events=True)
    return data, 201 if created else 200


@bp.get("/cases")
@auth.login_required()
def list_cases():
    agent = auth.current_agent()
    insured_id = request.args.get("insured_id") or None
    if insured_id is not None and len(insured_id) > bounds.PERSON_ID_LENGTH:
        raise ApiError(400, "invalid_insured_id", "insured_id: not a person id (too long)")
    opened_by = None
    if agent.role != SUPERVISOR and insured_id is None:
        opened_by = agent.id
    if request.args.get("mine") in ("1", "true"):
        opened_by = agent.id
    try:
        limit = min(500, max(1, int(request.args.get("limit", 200))))
    except ValueError:
        raise ApiError(400, "invalid_limit", "limit must be a whole number") from None
    now = current_clock().now()
    try:
        found = cases.find(
            db.session(),
            now,
            sla_filter=request.args.get("sla") or None,
            status=request.args.get("status") or None,
            insured_id=insured_id,
            opened_by=opened_by,
            limit=limit,
        )
    except CaseRefused as exc:
        raise _refused(exc) from None
    flows = current_flows()
    return {"cases": [cases.as_dict(c, flows, now) for c in found], "as_of": now.isoformat()}


@bp.get(f"/cases/<{bounds.ROW_ID}:case_id>")
@auth.login_required()
def get_case(case_id: int):
    case = _readable(case_id)
    return cases.as_dict(case, current_flows(), current_clock().now(), full=True, events=True)


@bp.post(f"/cases/<{bounds.ROW_ID}:case_id>/steps")
@auth.login_required()
def record_step(case_id: int):
    check_csrf()
    body = json_object()
    _readable(case_id)
    milestone = _text(body, "milestone")
    if not milestone:
        raise ApiError(400, "missing_fields", "milestone is required")
    step = cases.CaseStep(
        milestone=milestone,
        on=_date(body, "on"),
        visit_on=_date(body, "visit_on"),
        visit_period=_text(body, "visit_period"),
        by=_text(body, "by"),
        note=_text(body, "note") or "",
    )
    try:
        case, changed = case_jobs.record_step(
            current_app._get_current_object(),
            db.session(),
            current_flows(),
            current_clock().now(),
            auth.current_agent().id,
            case_id,
            step,
        )
    except UnknownCase:
        raise ApiError(404, "unknown_case", f"no case {case_id}") from None
    except CaseRefused as exc:
        raise _refused(exc) from None
    data = cases.as_dict(case, current_flows(), current_clock().now(), full=True, events=True)
    data["changed"] = changed
    return data


def _readable(case_id: int):
    """The case by id: any signed-in agent may work on any case (follow-ups change hands)."""
    try:
        case = cases.get(db.session(), case_id)
    except UnknownCase:
        raise ApiError(404, "unknown_case", f"no case {case_id}") from None
    return case


@bp.get("/queues")
@auth.login_required(SUPERVISOR)
def queues():
    """Today's figures per queue (SPEC §5: a list; each entry starts name, line, waiting, ...)."""
    flows, now = current_flows(), current_clock().now()
    try:
        found = dashboard.board(db.session(), store.redis(), flows, now)
    except RedisError:
        raise ApiError(503, "store_unavailable", "queue figures cannot be read right now") from None
    return jsonify(dashboard.queues(flows, now, found))
