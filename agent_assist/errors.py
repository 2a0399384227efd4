"""How errors look to clients: the one JSON error body, and error pages.

Every JSON error, from the API, the desk's scripts or the simulator, is
``{"error": {"code": "...", "message": "...", ...details}}`` with its status.
"""

from __future__ import annotations

from flask import Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from agent_assist import auth


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
