"""Finding customers and their history, on the API blueprint (``/api/people``), for agents.

- ``GET /api/people?q=…``: people by name (characters or pinyin), phone (any form,
  or the last six digits), policy number or id (``services.people``), masked, capped;
- ``GET /api/people/ID/history``: their calls, callbacks and cases, newest first
  (``services.contact_history``), each call with its outcome.

Codes stay codes here, with the flows' names beside services and lines; the desk
shows every code in words (``agent_assist.labels``).
"""

from __future__ import annotations

from flask import request

from agent_assist import bounds
from agent_assist.api import ApiError, bp
from agent_assist.auth import login_required
from runtime import current_clock, current_flows
from services import contact_history, people
from services.exceptions import SearchRefused
from storage import db
from storage.exceptions import UnknownPerson


@bp.get("/people")
@login_required()
def search_people():
    try:
        found = people.search(db.session(), request.args.get("q"))
    except SearchRefused as exc:
        raise ApiError(400, exc.code, exc.message) from None
    return found.as_dict()


@bp.get("/people/<person_id>/history")
@login_required()
def person_history(person_id: str):
    try:
        return contact_history.of_person(
            db.session(), current_flows(), current_clock().now(), bounds.person_id(person_id)
        )
    except UnknownPerson:
        raise ApiError(404, "unknown_person", f'no person with id "{person_id}"') from None
