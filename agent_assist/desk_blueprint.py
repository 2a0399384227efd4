"""The desk's blueprint (``/agent``) and what all its pages share.

Its views are in ``desk`` (the desk, status, streams), ``signin`` and
``case_pages``. Every unsafe request riding on the session cookie carries the
session's CSRF token; errors are pages for people and JSON for scripts.
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from agent_assist import csrf
from agent_assist.errors import page_errors, register_backend_errors
from domain.cases import ANCHORS, Milestone

bp = Blueprint(
    "desk", __name__, url_prefix="/agent", template_folder="templates", static_folder="static"
)

# Paths under /agent that answer JSON (scripts and EventSource), not pages.
JSON_ENDPOINTS = frozenset({"desk.events", "desk.token"})
# The event stream: with a backend down it answers an event, and the browser comes back.
STREAM_ENDPOINTS = frozenset({"desk.events"})
STEP_LABELS = {
    Milestone.CONTACTED: "已联系客户 Contacted",
    Milestone.MATERIALS_COMPLETE: "资料齐全 Materials complete",
    Milestone.FEEDBACK_GIVEN: "已反馈安排结果 Feedback given",
    Milestone.CONFIRMED: "需求已确认 Confirmed",
    Milestone.BOOKED: "预约成功 Booked",
    Milestone.RESCHEDULED: "改期 Rescheduled",
    Milestone.CONSULTATION_HELD: "已会诊 Consultation held",
    Milestone.REPORT_ISSUED: "已出具报告 Report issued",
    Milestone.COMPLETED: "已完成 Completed",
    Milestone.CANCELLED: "取消 Cancelled",
    Milestone.NO_SHOW: "未应约 No-show",
}
# What each deadline counts from (flows/services.toml ``anchor``), as the desk names it.
ANCHOR_LABELS = {
    anchor: {Milestone.REQUESTED: "受理 Request", **STEP_LABELS}[milestone]
    for anchor, milestone in ANCHORS.items()
}


@bp.before_request
def _protect() -> None:
    csrf.check()


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"csrf_token": csrf.token, "anchor_labels": ANCHOR_LABELS}


bp.register_error_handler(HTTPException, page_errors(JSON_ENDPOINTS))
register_backend_errors(bp, JSON_ENDPOINTS, STREAM_ENDPOINTS)
