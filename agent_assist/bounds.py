"""Bounds on what a request to the agent side may carry: a clear 4xx for bad input, never a 500.

- The body: at most ``MAX_CONTENT_LENGTH`` bytes (config; werkzeug answers 413).
- JSON: nested at most ``MAX_JSON_DEPTH`` deep (deeper would exhaust the parser's
  recursion: a 500), else 400.
- Ids in paths: a row id fits the database's integer (``ROW_ID``, a route converter:
  anything larger matches no route, 404); a person id fits its column (``person_id``).
- Notes on cases: at most ``CASE_NOTE_MAX_LENGTH`` characters (config), checked by
  ``services.cases`` with the limit ``note_limit`` reads.
"""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import BadRequest, NotFound

from storage.models import Person

# The largest id a row may have: PostgreSQL's INTEGER; a bigger number is no row's.
ROW_ID = "int(max=2147483647)"
PERSON_ID_LENGTH = Person.__table__.c.id.type.length
MAX_JSON_DEPTH = 16


def json_body() -> object | None:
    """The request's JSON (None when it is not JSON), refused with 400 when nested too deep."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise BadRequest(f"JSON nested more than {MAX_JSON_DEPTH} deep") from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON nested more than {MAX_JSON_DEPTH} deep")
    return body


def _depth(value: object) -> int:
    deepest, level = 0, [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                level.extend((child, depth + 1) for child in item)
    return deepest


def person_id(value: str) -> str:
    """A person id from a path: one longer than any stored is nobody's (404)."""
    if not value or len(value) > PERSON_ID_LENGTH:
        raise NotFound(f'no person with id "{value[:PERSON_ID_LENGTH]}…"')
    return value


def note_limit() -> int:
    return int(current_app.config["CASE_NOTE_MAX_LENGTH"])
