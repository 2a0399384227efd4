"""The desk's blueprint (``/agent``) and what all its pages share.

Its views are in ``desk`` (the desk, status, streams), ``signin`` and
``case_pages``. Every unsafe request riding on the session cookie carries the
session's CSRF token; errors are pages for people and JSON for scripts.
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from agent_assist import csrf, labels
from agent_assist.errors import page_errors, register_backend_errors, unrouted
from domain.cases import ANCHORS, Milestone

bp = Blueprint(
    "desk", __name__, url_prefix="/agent", template_folder="templates", static_folder="static"
)

# Paths under /agent that answer JSON (scripts and EventSource), not pages.
JSON_ENDPOINTS = frozenset({"desk.events", "desk.token"})
# The event stream: with a backend down it answers an event, and the browser comes back.
STREAM_ENDPOINTS = frozenset({"desk.events"})
# The steps an agent records on a case, in the order the form lists them.
STEP_LABELS = {
    milestone: labels.MILESTONE[milestone]
    for milestone in (
        Milestone.CONTACTED,
        Milestone.MATERIALS_COMPLETE,
        Milestone.FEEDBACK_GIVEN,
        Milestone.CONFIRMED,
        Milestone.BOOKED,
        Milestone.RESCHEDULED,
        Milestone.CONSULTATION_HELD,
        Milestone.REPORT_ISSUED,
        Milestone.COMPLETED,
        Milestone.CANCELLED,
        Milestone.NO_SHOW,
    )
}
# What each deadline counts from (flows/services.toml ``anchor``), as the desk names it.
ANCHOR_LABELS = {anchor: labels.MILESTONE[milestone] for anchor, milestone in ANCHORS.items()}


@bp.before_request
def _protect() -> None:
    csrf.check()


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"csrf_token": csrf.token, "anchor_labels": ANCHOR_LABELS}


for _name, _filter in labels.FILTERS.items():
    bp.add_app_template_filter(_filter, _name)

bp.register_error_handler(HTTPException, page_errors(JSON_ENDPOINTS))
register_backend_errors(bp, JSON_ENDPOINTS, STREAM_ENDPOINTS)


@bp.record_once
def _pages_for_unrouted_desk_paths(state) -> None:
    # /agent/cases/<an id no row can have> matches no route: still the desk's 404 page.
    unrouted(state.app, bp.url_prefix, page_errors(JSON_ENDPOINTS))
