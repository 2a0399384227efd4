"""The desk's case pages (``/agent/cases``), on the desk's blueprint: open, show, record a step.

Plain forms: a refusal comes back as a flashed message on the page it came from.
The insured person's name is masked; the full record is only behind the JSON API.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, g, redirect, render_template, request, url_for

from agent_assist import bounds, labels
from agent_assist.auth import signed_in
from agent_assist.desk_blueprint import STEP_LABELS, bp
from domain.dates import iso_date
from domain.masking import mask_name
from domain.usage import Party
from runtime import current_clock, current_flows
from services import case_jobs, cases
from services.exceptions import CaseRefused, UnknownCase
from storage import db
from storage.models import Agent, Person


@bp.post("/cases")
@signed_in
def case_submit():
    agent: Agent = g.desk_agent
    form = request.form
    try:
        visit_on = _form_date(form.get("visit_on"), "visit_on")
    except CaseRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("desk.home"))
    case_request = cases.CaseRequest(
        insured_id=(form.get("insured_id") or "").strip(),
        service=(form.get("service") or "").strip(),
        critical_illness_confirmed=form.get("critical_illness_confirmed") in ("1", "on", "true"),
        hospital=(form.get("hospital") or "").strip() or None,
        doctor=(form.get("doctor") or "").strip() or None,
        visit_on=visit_on,
        visit_period=form.get("visit_period") or None,
        contact_phone=(form.get("contact_phone") or "").strip() or None,
        call_sid=(form.get("call_sid") or "").strip() or None,
        notes=(form.get("notes") or "").strip(),
    )
    if form.get("request_key"):
        case_request.request_key = form["request_key"][:64]
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
        flash(f"未能受理：{exc.message}", "error")
        return redirect(url_for("desk.home"))
    flash(
        f"已受理服务单 #{case.id}" if created else f"服务单 #{case.id} 已受理过（未重复记录）",
        "success",
    )
    return redirect(url_for("desk.case_page", case_id=case.id))


@bp.get(f"/cases/<{bounds.ROW_ID}:case_id>")
@signed_in
def case_page(case_id: int):
    try:
        case = cases.get(db.session(), case_id)
    except UnknownCase:
        return _not_found(case_id)
    insured = db.session().get(Person, case.insured_id)
    return render_template(
        "desk/case.html",
        agent=g.desk_agent,
        case=cases.as_dict(case, current_flows(), current_clock().now(), events=True),
        insured_name=mask_name(insured.name) if insured else "",
        steps=STEP_LABELS,
        parties=list(Party),
        visit_periods=labels.VISIT_PERIOD,
        note_limit=bounds.note_limit(),
        today=current_clock().today().isoformat(),
    )


@bp.post(f"/cases/<{bounds.ROW_ID}:case_id>/steps")
@signed_in
def case_step(case_id: int):
    form = request.form
    try:
        step = cases.CaseStep(
            milestone=form.get("milestone") or "",
            on=_form_date(form.get("on"), "on"),
            visit_on=_form_date(form.get("visit_on"), "visit_on"),
            visit_period=form.get("visit_period") or None,
            by=form.get("by") or None,
            note=(form.get("note") or "").strip(),
        )
        _case, changed = case_jobs.record_step(
            current_app._get_current_object(),
            db.session(),
            current_flows(),
            current_clock().now(),
            g.desk_agent.id,
            case_id,
            step,
        )
    except UnknownCase:
        return _not_found(case_id)
    except CaseRefused as exc:
        flash(f"未能记录：{exc.message}", "error")
        return redirect(url_for("desk.case_page", case_id=case_id))
    flash("已记录" if changed else "已记录过（未重复记录）", "success")
    return redirect(url_for("desk.case_page", case_id=case_id))


def _not_found(case_id: int):
    return render_template("desk/not_found.html", what=f"服务单 #{case_id}"), 404


def _form_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    day = iso_date(value)
    if day is None:
        raise CaseRefused("invalid_date", f"{name}: {value!r} is not a date")
    return day
