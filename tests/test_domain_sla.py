"""Service-level deadlines (SPEC §2 "Service-level deadlines", manual 服务流程).

Working days are counted from the next working day; the boundaries chosen are
weekends, 调休 working weekends, National Day 2024/2025, New Year and Spring Festival 2026.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from domain_fixtures import d, loaded, programme

from domain.cases import Milestone
from domain.sla import SlaState, due, if_requested, most_urgent, schedule

CALENDAR = loaded().working_days


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def dues(code: str, **anchors: str):
    moments = {anchor: at(value) for anchor, value in anchors.items()}
    return {item.key: item for item in schedule(programme().service(code), moments, CALENDAR)}


def due_days(code: str, **anchors: str) -> dict[str, str | None]:
    return {
        key: item.due_on.isoformat() if item.due_on else None
        for key, item in dues(code, **anchors).items()
    }


# -- contact the customer within 1 working day (care_planner 4) -------------------------


@pytest.mark.parametrize(
    ("requested", "contact_by"),
    [
        ("2025-03-12 10:00", "2025-03-13"),  # Wednesday -> Thursday
        ("2025-03-14 21:59", "2025-03-17"),  # Friday night -> Monday
        ("2025-03-15 09:00", "2025-03-17"),  # Saturday -> Monday
        ("2025-09-26 10:00", "2025-09-28"),  # Friday -> the 调休 Sunday
        ("2025-09-30 10:00", "2025-10-09"),  # eve of National Day 2025 -> after it
        ("2025-10-05 10:00", "2025-10-09"),  # inside the holiday
        ("2025-10-10 10:00", "2025-10-11"),  # Friday -> the 调休 Saturday
        ("2025-12-31 10:00", "2026-01-04"),  # New Year 2026 -> the 调休 Sunday
        ("2026-02-13 10:00", "2026-02-14"),  # Friday -> the 调休 Saturday
        ("2026-02-14 10:00", "2026-02-24"),  # the 调休 Saturday -> after Spring Festival
        ("2026-02-20 10:00", "2026-02-24"),  # inside Spring Festival 2026
    ],
)
@pytest.mark.parametrize(
    "code",
    [
        "outpatient_booking",
        "inpatient_fast_track",
        "surgery_fast_track",
        "nursing_carer",
        "transport",
        "second_opinion",
        "mdt",
    ],
)
def test_the_customer_is_contacted_within_one_working_day_of_the_request(
    code, requested, contact_by
):
    assert due_days(code, request=requested)["contact"] == contact_by


@pytest.mark.parametrize(
    ("requested", "by"),
    [
        ("2025-03-12 10:00", "2025-03-18"),  # Thu, Fri, Mon, Tue
        ("2025-09-30 10:00", "2025-10-13"),  # 10-09, 10-10, 10-11 (调休), 10-13
        ("2026-02-11 10:00", "2026-02-24"),  # 02-12, 02-13, 02-14 (调休), 02-24
    ],
)
def test_the_care_planner_makes_contact_within_four_working_days(requested, by):
    assert due_days("care_planner", request=requested)["contact"] == by


def test_the_follow_up_record_is_made_within_one_working_day():
    assert due_days("rehab_followup", request="2024-09-30 15:00")["record"] == "2024-10-08"


# -- escort: respond within one hour, holidays or not --------------------------------------


@pytest.mark.parametrize(
    ("requested", "respond_by"),
    [
        ("2025-10-01 10:15", "2025-10-01 11:15"),
        ("2026-02-17 21:30", "2026-02-17 22:30"),
        ("2025-03-15 23:30", "2025-03-16 00:30"),
    ],
)
def test_an_escort_request_is_answered_within_the_hour(requested, respond_by):
    item = dues("escort", request=requested)["respond"]
    assert item.due_at == at(respond_by)
    assert item.due_on == at(respond_by).date()


# -- after complete materials: feedback in 3 wd, booking in 5 or 10 wd -------------------


@pytest.mark.parametrize(
    ("code", "materials", "feedback", "booking"),
    [
        ("outpatient_booking", "2025-03-12 16:00", "2025-03-17", "2025-03-19"),
        ("outpatient_booking", "2025-09-30 16:00", "2025-10-11", "2025-10-14"),
        ("outpatient_booking", "2026-02-12 09:00", "2026-02-24", "2026-02-26"),
        ("inpatient_fast_track", "2026-02-12 09:00", "2026-02-24", "2026-03-04"),
        ("surgery_fast_track", "2025-09-26 09:00", "2025-09-30", "2025-10-16"),
    ],
)
def test_feedback_and_booking_run_from_complete_materials(code, materials, feedback, booking):
    found = due_days(code, request="2025-01-02 09:00", materials_complete=materials)
    assert (found["feedback"], found["booking"]) == (feedback, booking)


def test_mdt_doctors_are_booked_within_one_working_day_of_complete_materials():
    found = due_days("mdt", request="2025-09-25 09:00", materials_complete="2025-09-26 17:00")
    assert (found["doctors"], found["feedback"]) == ("2025-09-28", "2025-09-30")


@pytest.mark.parametrize("code", ["second_opinion", "mdt"])
@pytest.mark.parametrize(
    ("consultation", "report"),
    [("2024-09-30 15:00", "2024-10-08"), ("2026-02-13 11:00", "2026-02-14")],
)
def test_the_report_follows_the_consultation_within_one_working_day(code, consultation, report):
    found = due_days(code, request="2024-09-01 09:00", consultation=consultation)
    assert found["report"] == report


@pytest.mark.parametrize(
    ("code", "confirmed", "arranged"),
    [
        ("nursing_carer", "2026-02-13 10:00", "2026-02-14"),
        ("nursing_carer", "2025-09-30 10:00", "2025-10-09"),
        ("transport", "2026-02-13 10:00", "2026-02-25"),
        ("transport", "2025-09-26 10:00", "2025-09-30"),
    ],
)
def test_carer_and_transport_are_arranged_after_confirmation(code, confirmed, arranged):
    assert due_days(code, request="2025-01-02 09:00", confirmed=confirmed)["arranged"] == arranged


def test_a_deadline_whose_anchor_has_not_happened_has_no_date():
    found = dues("outpatient_booking", request="2025-03-12 10:00")
    assert found["feedback"].due_on is None
    assert found["feedback"].anchored_at is None
    assert found["booking"].state(at("2025-05-01 10:00")) is SlaState.PENDING


# -- "if a request were opened now" (the screen-pop) ---------------------------------------


@pytest.mark.parametrize("code", [s.code for s in programme().services])
def test_the_deadlines_of_a_request_opened_now_are_the_same_as_a_real_requests(code):
    now = at("2025-09-30 10:00")
    hypothetical = if_requested(programme().service(code), now, CALENDAR)
    real = schedule(programme().service(code), {"request": now}, CALENDAR)
    assert hypothetical == real
    for item in hypothetical:
        assert (item.due_on is not None) is (item.deadline.anchor == "request")


def test_services_without_a_process_have_no_deadlines():
    assert (
        if_requested(programme().service("online_consult"), at("2025-03-12 10:00"), CALENDAR) == ()
    )


def test_every_deadline_is_met_by_a_known_milestone():
    for service in programme().services:
        for deadline in service.deadlines:
            assert deadline.met_by in set(Milestone)


# -- where a deadline stands -------------------------------------------------------------


def test_a_working_day_deadline_is_on_track_due_today_then_overdue():
    item = dues("outpatient_booking", request="2025-09-30 10:00")["contact"]  # due 10-09
    assert item.state(at("2025-10-08 23:59")) is SlaState.ON_TRACK
    assert item.state(at("2025-10-09 00:00")) is SlaState.DUE_TODAY
    assert item.state(at("2025-10-09 23:59:59")) is SlaState.DUE_TODAY
    assert item.state(at("2025-10-10 00:00")) is SlaState.OVERDUE
    assert item.state(at("2025-10-10 00:00"), met_at=at("2025-10-09 12:00")) is SlaState.MET
    assert item.state(at("2025-10-10 00:00"), closed=True) is SlaState.VOID


def test_an_hour_deadline_is_urgent_until_met_and_overdue_after_the_hour():
    item = dues("escort", request="2025-03-15 23:30")["respond"]
    assert item.state(at("2025-03-15 23:31")) is SlaState.DUE_TODAY
    assert item.state(at("2025-03-16 00:30")) is SlaState.DUE_TODAY
    assert item.state(at("2025-03-16 00:30:01")) is SlaState.OVERDUE


def test_meeting_a_deadline_late_is_recorded_as_late():
    item = dues("outpatient_booking", request="2025-03-14 10:00")["contact"]  # due 03-17
    assert item.met_in_time(at("2025-03-17 21:00"))
    assert not item.met_in_time(at("2025-03-18 08:00"))
    hour = dues("escort", request="2025-03-14 10:00")["respond"]
    assert hour.met_in_time(at("2025-03-14 11:00"))
    assert not hour.met_in_time(at("2025-03-14 11:01"))


def test_the_most_urgent_state_leads():
    assert most_urgent([SlaState.MET, SlaState.ON_TRACK, SlaState.PENDING]) is SlaState.ON_TRACK
    assert most_urgent([SlaState.DUE_TODAY, SlaState.OVERDUE]) is SlaState.OVERDUE
    assert most_urgent([SlaState.VOID, SlaState.MET]) is SlaState.MET
    assert most_urgent([]) is None


def test_a_zero_working_day_deadline_falls_on_the_anchor_day():
    deadline = programme().service("outpatient_booking").deadlines[0]
    zero = type(deadline)(key="x", label="x", anchor="request", working_days=0)
    assert due(zero, at("2025-10-03 10:00"), CALENDAR).due_on == d("2025-10-03")


def test_deadlines_serialise_with_their_dates():
    item = dues("escort", request="2025-03-14 10:00")["respond"]
    assert item.as_dict() == {
        "key": "respond",
        "label": "响应客户申请",
        "anchor": "request",
        "working_days": None,
        "hours": 1,
        "met_by": "contacted",
        "anchored_at": "2025-03-14T10:00:00",
        "due_on": "2025-03-14",
        "due_at": "2025-03-14T11:00:00",
    }
