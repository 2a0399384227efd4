"""The interval history as JSON or CSV (SPEC §7), on the API blueprint; supervisors only.

- ``GET /api/reports/intervals?from=YYYY-MM-DD&to=YYYY-MM-DD[&queue=Q][&format=csv]``
  — per queue per half hour, ordered by interval then queue;
- ``GET /api/reports/days?…`` — the same summed per local day (``day`` for
  ``interval_start``);
- ``GET /api/reports/agents?from&to[&format=csv]`` — per agent over the days.

``from`` and ``to`` are local days, both included (default: today), at most
``keep_days`` apart. Only intervals something happened in are listed. The CSV has
the JSON's columns in the same order under a header row, UTF-8, quoted where needed;
a text cell that a spreadsheet would run as a formula (= + - @) is prefixed with '.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Response, jsonify, request

from agent_assist import auth
from agent_assist.api import ApiError, bp, day_param
from runtime import current_clock, current_flows
from services import accounts, reports
from storage import db

FORMATS = ("json", "csv")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/reports/intervals")
@auth.login_required(accounts.SUPERVISOR)
def report_intervals():
    first, last, queue, form = _asked()
    tz = current_clock().tz
    rows = reports.interval_rows(reports.intervals(db.session(), first, last, tz, queue), tz)
    return _answer(rows, reports.INTERVAL_COLUMNS, form, f"intervals-{first}-{last}")


@bp.get("/reports/days")
@auth.login_required(accounts.SUPERVISOR)
def report_days():
    first, last, queue, form = _asked()
    rows = reports.day_rows(reports.days(db.session(), first, last, current_clock().tz, queue))
    return _answer(rows, reports.DAY_COLUMNS, form, f"days-{first}-{last}")


@bp.get("/reports/agents")
@auth.login_required(accounts.SUPERVISOR)
def report_agents():
    first, last, _queue, form = _asked(queue_allowed=False)
    clock = current_clock()
    rows = reports.agents(db.session(), first, last, clock.tz, clock.now())
    return _answer(rows, reports.AGENT_COLUMNS, form, f"agents-{first}-{last}")


def _asked(queue_allowed: bool = True) -> tuple[date, date, str | None, str]:
    """The period, queue and format asked for, checked."""
    flows, today = current_flows(), current_clock().today()
    first, last = day_param("from", today), day_param("to", today)
    if last < first:
        raise ApiError(400, "invalid_range", "to must not be before from")
    keep = flows.reports.keep_days
    if last - first >= timedelta(days=keep):
        raise ApiError(400, "range_too_long", f"at most {keep} days (the history kept)")
    queue = request.args.get("queue") or None
    if queue is not None and (not queue_allowed or flows.queue(queue) is None):
        raise ApiError(400, "unknown_queue", f'no queue "{queue}"')
    form = request.args.get("format") or "json"
    if form not in FORMATS:
        raise ApiError(400, "invalid_format", f"format must be one of: {', '.join(FORMATS)}")
    return first, last, queue, form


def _answer(rows: list[dict], columns: tuple[str, ...], form: str, name: str):
    if form == "json":
        return jsonify(rows)
    return Response(
        csv_text(rows, columns),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="hotline-{name}.csv"'},
    )


def csv_text(rows: list[dict], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in columns])
    return out.getvalue()


def _cell(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
