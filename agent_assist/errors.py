"""How errors look to clients: the one JSON error body, error pages, refusals' HTTP statuses.

Every JSON error, from the API, the desk's scripts or the simulator, is
``{"error": {"code": "...", "message": "...", ...details}}`` with its status.
The use cases' refusals carry a ``code`` only; ``REFUSAL_STATUS`` is where a
code becomes an HTTP status.

A database or Redis that does not answer is a 503 with ``Retry-After``, never a
500: JSON for scripts, a page that reloads itself for people, and for an event
stream an ``unavailable`` event after which the browser reconnects.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, render_template, request
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from agent_assist import auth, sse
from domain.cases import PREREQUISITES
from services.exceptions import CaseRefused

log = logging.getLogger(__name__)

# A backend that does not answer: the request is refused with 503, never a 500.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
BACKEND_DOWN = (*DATABASE_DOWN, RedisError)
# Seconds a client (a page, a script) is told to wait before it asks again.
RETRY_SECONDS = 5

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


# -- a backend down ----------------------------------------------------------------------------


def unavailable(exc: Exception) -> tuple[str, str]:
    """The code and message (Chinese, then English) for a backend that did not answer."""
    if isinstance(exc, RedisError):
        return "store_unavailable", "实时数据暂时无法连接，请稍后再试 (live data is unavailable)"
    return "database_unavailable", "数据库暂时无法连接，请稍后再试 (the database is unavailable)"


def unavailable_response(exc: Exception) -> Response:
    code, message = unavailable(exc)
    return error_response(503, code, message, {"Retry-After": str(RETRY_SECONDS)})


def unavailable_stream_text(exc: Exception, retry_ms: int) -> str:
    """An event stream's last words: why it ends, and when the browser should come back."""
    code, message = unavailable(exc)
    return sse.retry(retry_ms) + sse.message(
        "unavailable", {"code": code, "message": message, "retry_ms": retry_ms}
    )


def unavailable_stream(exc: Exception, retry_ms: int) -> Response:
    # 200: a browser's EventSource gives up for good on any other status.
    return Response(
        unavailable_stream_text(exc, retry_ms),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform"},
    )


def unavailable_page(exc: Exception) -> tuple[str, int, dict]:
    _code, message = unavailable(exc)
    # A page that was asked for reloads itself; a form sent is not sent again unasked.
    retry = RETRY_SECONDS if request.method == "GET" else None
    error = ServiceUnavailable(message)
    page = render_template("desk/error.html", error=error, retry_seconds=retry)
    return page, 503, {"Retry-After": str(RETRY_SECONDS)}


def backend_errors(
    json_endpoints: frozenset[str] | None, stream_endpoints: frozenset[str] = frozenset()
):
    """An error handler for ``BACKEND_DOWN``: a stream's event, JSON for scripts, else a page.

    ``json_endpoints`` None: every view of the blueprint answers JSON (the API).
    """

    def handler(exc: Exception):
        log.error("%s for %s %s", unavailable(exc)[0], request.method, request.path)
        if request.endpoint in stream_endpoints:
            return unavailable_stream(exc, int(current_app.config["SSE_RETRY_MS"]))
        if json_endpoints is None or request.endpoint in json_endpoints or wants_json():
            return unavailable_response(exc)
        return unavailable_page(exc)

    return handler


def register_backend_errors(
    blueprint, json_endpoints: frozenset[str] | None, stream_endpoints=frozenset()
) -> None:
    handler = backend_errors(json_endpoints, stream_endpoints)
    for exception in BACKEND_DOWN:
        blueprint.register_error_handler(exception, handler)


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
