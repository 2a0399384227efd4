"""The agent and supervisor JSON API (SPEC §5): ``/api/...``, Bearer token or session cookie.

Errors are JSON too: ``{"error": {"code": "...", "message": "..."}}``
(``agent_assist.errors``) with the matching status (400 bad input, 401 no valid
token, 404 unknown id, 503 the database or Redis is unreachable) — a desk script never
has to parse an HTML page.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request
from werkzeug.exceptions import HTTPException, InternalServerError

from agent_assist import bounds, csrf
from agent_assist.auth import login_required
from agent_assist.errors import (
    error_response,
    http_error_response,
    register_backend_errors,
    unrouted,
)
from domain.dates import iso_date
from runtime import current_clock, current_flows
from storage import db, repository
from storage.exceptions import UnknownPerson

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    """A request the API refuses, with the status and the code clients branch on."""

    def __init__(self, status: int, code: str, message: str, **details):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # Extra fields clients may branch on, e.g. ``reason`` of a refused case.
        self.details = {k: v for k, v in details.items() if v is not None}


def check_csrf() -> None:
    """A change riding on the desk's session cookie must carry its CSRF token (Bearer need not)."""
    try:
        csrf.check()
    except csrf.CSRFError:
        raise ApiError(
            403,
            "csrf_token_missing",
            "a request signed in by cookie must send the X-CSRF-Token header",
        ) from None


def json_object() -> dict:
    """The request's body as a JSON object (bounded in depth), or a 400 saying it is not one."""
    body = bounds.json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def day_param(name: str, default: date) -> date:
    value = request.args.get(name)
    if not value:
        return default
    day = iso_date(value)
    if day is not None:
        return day
    raise ApiError(400, "invalid_date", f'{name}: "{value}" is not a date (YYYY-MM-DD)')


@bp.get("/insureds/<insured_id>/eligibility")
@db.reads_only
@login_required()
def eligibility(insured_id: str):
    on = day_param("on", current_clock().today())
    if len(insured_id) > bounds.PERSON_ID_LENGTH:
        raise ApiError(404, "unknown_insured", "no insured person with so long an id")
    try:
        result = repository.eligibility(db.session(), current_flows().programme, insured_id, on)
    except UnknownPerson:
        raise ApiError(
            404, "unknown_insured", f'no insured person with id "{insured_id}"'
        ) from None
    return {"insured_id": insured_id, **result.as_dict()}


# -- errors --------------------------------------------------------------------


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, **exc.details)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return http_error_response(exc, keep=("www-authenticate", "allow"))


register_backend_errors(bp, json_endpoints=None)


@bp.errorhandler(InternalServerError)
def _internal_error(exc: InternalServerError):
    return error_response(500, "internal_error", "something went wrong; it has been logged")


@bp.record_once
def _json_errors_for_unrouted_api_paths(state) -> None:
    unrouted(state.app, bp.url_prefix, _http_error)
