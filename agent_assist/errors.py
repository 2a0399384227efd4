"""How errors look to clients: the one JSON error body, error pages, refusals' HTTP statuses.

Every JSON error, from the API, the desk's scripts or the simulator, is
``{"error": {"code": "...", "message": "...", ...details}}`` with its status.
The use cases' refusals carry a ``code`` only; ``REFUSAL_STATUS`` is where a
code becomes an HTTP status.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from agent_assist import auth
from domain.cases import PREREQUISITES
from services.exceptions import CaseRefused

# A refused case request or step answers 422 (the rules refuse it), unless its code is here.
REFUSAL_STATUS = {
    # A malformed list query.
    "invalid_sla_filter": 400,
    "invalid_status": 400,
    # A field too long or malformed (services.cases' shape checks).
    **{
        f"invalid_{field}": 400
        for field in ("notes", "note", "hospital", "doctor", "call_sid", "request_key")
    },
    "unknown_insured": 404,
    "request_key_reused": 409,
    # The case's history does not allow the step (domain.cases, domain.usage).
    "out_of_order": 409,
    "case_closed": 409,
    "not_requested": 409,
    "already_requested": 409,
    "already_booked": 409,
    "not_booked": 409,
    "no_visit_date": 409,
    "reschedule_not_allowed": 409,
    "visit_not_yet": 409,
    "unknown_step": 409,
    **{f"not_{needed}": 409 for needed in PREREQUISITES.values()},
}


def refusal_status(refusal: CaseRefused) -> int:
    return REFUSAL_STATUS.get(refusal.code, 422)


def error_response(status: int, code: str, message: str, headers=None, **details) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **details}})
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def http_error_response(exc: HTTPException, keep: tuple[str, ...] = ("www-authenticate",)):
    """An HTTP error (``abort``, 401, 404, ...) as the JSON body, with the headers in ``keep``."""
    headers = {k: v for k, v in exc.get_headers() if k.lower() in keep}
    return error_response(exc.code or 500, http_code(exc), exc.description or exc.name, headers)


def http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def page_errors(json_endpoints: frozenset[str]):
    """An error handler for a blueprint of pages: JSON for its scripts, a page for people.

    401 on a page leads to the sign-in form (and back); ``json_endpoints`` (event
    streams, fetch targets) and clients asking for JSON get the API's error body.
    """

    def handler(exc: HTTPException):
        if request.endpoint in json_endpoints or wants_json():
            return http_error_response(exc)
        if exc.code == 401:
            return auth.to_signin()
        return render_template("desk/error.html", error=exc), exc.code or 500

    return handler


def unrouted(app: Flask, prefix: str, handler) -> None:
    """Send 404s and 405s of URLs under ``prefix`` that no view matched to ``handler``.

    No view matched, so no blueprint's handler runs: one app-level handler looks the
    path's prefix up, for the API (JSON) and the desk (pages) alike; other paths keep
    Flask's own answer.
    """
    handlers = app.extensions.setdefault("hotline.unrouted", {})
    handlers[prefix] = handler

    def dispatch(exc: HTTPException):
        for known, chosen in handlers.items():
            if request.path == known or request.path.startswith(f"{known}/"):
                return chosen(exc)
        return exc

    app.register_error_handler(404, dispatch)
    app.register_error_handler(405, dispatch)
