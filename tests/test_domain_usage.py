"""When a booked service counts as a use (SPEC §2 "When a use counts", manual 注意事项).

Dates are chosen around weekends, 调休 working weekends and the National Day 2025
and Spring Festival 2026 holidays, where "working days of notice" is easy to get wrong.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from domain_fixtures import d, loaded, programme
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalogue import UsageRule
from domain.exceptions import UsageRefused
from domain.usage import (
    Outcome,
    Party,
    Reason,
    Step,
    UsageEvent,
    decide,
    units_for_booking,
)

CALENDAR = loaded().working_days
CUSTOMER, HOSPITAL = Party.CUSTOMER, Party.HOSPITAL
COUNTED_WHEN_BOOKED = (
    "inpatient_fast_track",
    "surgery_fast_track",
    "second_opinion",
    "mdt",
    "rehab_followup",
    "care_planner",
)
ONE_RESCHEDULE_ONE_DAY = ("escort", "transport")


def rule(code: str) -> UsageRule:
    return programme().service(code).usage


def requested(on: str) -> UsageEvent:
    return UsageEvent(Step.REQUESTED, d(on))


def booked(on: str, visit: str | None = None) -> UsageEvent:
    return UsageEvent(Step.BOOKED, d(on), visit=d(visit) if visit else None)


def rescheduled(on: str, visit: str, by: Party = CUSTOMER) -> UsageEvent:
    return UsageEvent(Step.RESCHEDULED, d(on), visit=d(visit), by=by)


def cancelled(on: str, by: Party = CUSTOMER) -> UsageEvent:
    return UsageEvent(Step.CANCELLED, d(on), by=by)


def no_show(on: str) -> UsageEvent:
    return UsageEvent(Step.NO_SHOW, d(on))


def completed(on: str) -> UsageEvent:
    return UsageEvent(Step.COMPLETED, d(on))


def decision(code: str, *history: UsageEvent, units: int = 1):
    return decide(rule(code), history, CALENDAR, units)


def refusal(code: str, *history: UsageEvent) -> str:
    with pytest.raises(UsageRefused) as caught:
        decision(code, *history)
    return caught.value.code


# -- holding the quota while the case is open ----------------------------------------------


@pytest.mark.parametrize("code", [s.code for s in programme().services])
def test_an_open_request_holds_its_units_without_counting_them(code):
    result = decision(code, requested("2025-03-03"), units=1)
    assert result.outcome is Outcome.HELD
    assert result.units == 1
    assert result.counted_on is None
    assert not result.final


@pytest.mark.parametrize("code", [s.code for s in programme().services])
def test_a_customer_cancelling_before_anything_is_booked_never_counts(code):
    result = decision(code, requested("2025-03-03"), cancelled("2025-03-04"))
    assert result.outcome is Outcome.RELEASED
    assert result.units == 0
    assert result.reason is Reason.CANCELLED_IN_TIME


# -- outpatient_booking: cancelled ≥ 1 wd before the visit is not counted --------------------


OUTPATIENT_NOTICE = [
    # (cancelled on, visit, counted)
    ("2025-03-07", "2025-03-10", False),  # Friday for Monday: one working day's notice
    ("2025-03-08", "2025-03-10", True),  # Saturday for Monday: none
    ("2025-03-09", "2025-03-10", True),  # Sunday for Monday
    ("2025-03-10", "2025-03-10", True),  # the day of the visit
    ("2025-03-11", "2025-03-10", True),  # after it
    ("2025-09-28", "2025-09-29", False),  # the 调休 Sunday before National Day is a working day
    ("2025-09-30", "2025-10-09", False),  # the last working day before National Day 2025
    ("2025-10-01", "2025-10-09", True),  # inside the holiday: no working day left
    ("2025-10-08", "2025-10-09", True),  # the holiday's last day
    ("2026-02-14", "2026-02-24", False),  # the 调休 Saturday before Spring Festival 2026
    ("2026-02-15", "2026-02-24", True),  # the holiday has begun
    ("2026-02-24", "2026-02-25", False),  # the first working day after it
    ("2026-01-04", "2026-01-05", False),  # the 调休 Sunday after New Year 2026
    ("2026-01-01", "2026-01-04", True),  # New Year's Day for the 调休 Sunday
]


@pytest.mark.parametrize(("on", "visit", "counted"), OUTPATIENT_NOTICE)
def test_an_outpatient_booking_cancelled_with_a_working_days_notice_is_not_counted(
    on, visit, counted
):
    start = min(d(on), d(visit)) - timedelta(days=10)
    result = decision(
        "outpatient_booking",
        requested(start.isoformat()),
        booked(start.isoformat(), visit),
        cancelled(on),
    )
    assert result.counted is counted
    assert result.final
    if counted:
        assert result.reason is Reason.CANCELLED_LATE
        assert result.counted_on == d(on)
        assert result.units == 1
    else:
        assert result.reason is Reason.CANCELLED_IN_TIME
        assert result.units == 0


def test_an_outpatient_visit_that_happens_counts_on_the_day_it_is_completed():
    result = decision(
        "outpatient_booking",
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        completed("2025-03-10"),
    )
    assert (result.outcome, result.reason, result.counted_on) == (
        Outcome.COUNTED,
        Reason.COMPLETED,
        d("2025-03-10"),
    )


def test_an_outpatient_no_show_counts_on_the_visit_day():
    result = decision(
        "outpatient_booking",
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        no_show("2025-03-11"),
    )
    assert (result.reason, result.counted_on) == (Reason.NO_SHOW, d("2025-03-10"))


def test_an_outpatient_booking_stays_held_until_the_visit():
    result = decision(
        "outpatient_booking", requested("2025-03-03"), booked("2025-03-04", "2025-03-10")
    )
    assert (result.outcome, result.reason, result.visit) == (
        Outcome.HELD,
        Reason.BOOKED,
        d("2025-03-10"),
    )


def test_an_outpatient_booking_cannot_be_rescheduled_by_the_customer():
    # 需要调整时间的，应在就医日期前至少 1 个工作日通知取消服务: a change is a cancellation.
    code = refusal(
        "outpatient_booking",
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        rescheduled("2025-03-05", "2025-03-12"),
    )
    assert code == "reschedule_not_allowed"


def test_a_hospital_postponing_an_outpatient_visit_moves_the_notice_to_the_new_date():
    result = decision(
        "outpatient_booking",
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        rescheduled("2025-03-07", "2025-03-17", by=HOSPITAL),
        rescheduled("2025-03-12", "2025-03-19", by=HOSPITAL),
        cancelled("2025-03-14"),  # Friday: 03-14, 03-17, 03-18 before the Wednesday visit
    )
    assert result.reason is Reason.CANCELLED_IN_TIME
    assert result.visit == d("2025-03-19")


# -- the hospital or doctor cancelling never counts -------------------------------------------


@pytest.mark.parametrize("code", [s.code for s in programme().services])
def test_a_cancellation_by_the_hospital_never_counts(code):
    result = decision(
        code,
        requested("2025-09-26"),
        booked("2025-09-28", "2025-09-29"),
        cancelled("2025-09-29", by=HOSPITAL),  # on the day itself
    )
    assert result.outcome is Outcome.RELEASED
    assert result.reason is Reason.CANCELLED_BY_HOSPITAL
    assert result.units == 0


@pytest.mark.parametrize("code", COUNTED_WHEN_BOOKED)
def test_a_hospital_cancelling_a_booked_is_used_service_gives_the_use_back(code):
    result = decision(
        code,
        requested("2026-02-10"),
        booked("2026-02-12", "2026-02-24"),
        rescheduled("2026-02-13", "2026-02-26", by=HOSPITAL),
        cancelled("2026-02-25", by=HOSPITAL),
    )
    assert result.outcome is Outcome.RELEASED


# -- booked = used (fast-track, second opinion, MDT, follow-up, planner) ---------------------


@pytest.mark.parametrize("code", COUNTED_WHEN_BOOKED)
def test_a_booked_is_used_service_counts_on_the_booking_day(code):
    result = decision(code, requested("2025-09-26"), booked("2025-09-30", "2025-10-20"))
    assert (result.outcome, result.reason, result.counted_on) == (
        Outcome.COUNTED,
        Reason.BOOKED_IS_USED,
        d("2025-09-30"),
    )


@pytest.mark.parametrize("code", COUNTED_WHEN_BOOKED)
def test_a_booked_is_used_service_stays_counted_when_the_customer_cancels(code):
    result = decision(
        code,
        requested("2025-03-03"),
        booked("2025-03-04", "2025-04-30"),
        cancelled("2025-03-05"),  # weeks ahead: 预约成功即视为服务完成，不得取消
    )
    assert (result.outcome, result.reason, result.final) == (
        Outcome.COUNTED,
        Reason.BOOKED_IS_USED,
        True,
    )


@pytest.mark.parametrize("code", COUNTED_WHEN_BOOKED)
def test_a_booked_is_used_service_cannot_be_rescheduled_by_the_customer(code):
    assert (
        refusal(
            code,
            requested("2025-03-03"),
            booked("2025-03-04", "2025-04-30"),
            rescheduled("2025-03-05", "2025-05-06"),
        )
        == "reschedule_not_allowed"
    )


@pytest.mark.parametrize("code", COUNTED_WHEN_BOOKED)
def test_a_booked_is_used_service_may_be_postponed_by_the_hospital_and_stays_counted(code):
    result = decision(
        code,
        requested("2025-03-03"),
        booked("2025-03-04", "2025-04-30"),
        rescheduled("2025-04-29", "2025-05-08", by=HOSPITAL),
        completed("2025-05-08"),
    )
    assert (result.reason, result.counted_on, result.visit) == (
        Reason.BOOKED_IS_USED,
        d("2025-03-04"),
        d("2025-05-08"),
    )


# -- escort and transport: < 1 wd counts, one reschedule, a no-show after it counts -----------


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
@pytest.mark.parametrize(
    ("on", "visit", "counted"),
    [
        ("2025-03-07", "2025-03-10", False),
        ("2025-03-08", "2025-03-10", True),
        ("2025-09-28", "2025-09-29", False),  # 调休 Sunday
        ("2025-10-08", "2025-10-09", True),  # last day of National Day 2025
        ("2026-02-14", "2026-02-24", False),  # 调休 Saturday before Spring Festival 2026
        ("2026-02-23", "2026-02-24", True),
    ],
)
def test_an_escort_or_transport_cancelled_with_less_than_a_working_day_counts(
    code, on, visit, counted
):
    start = (min(d(on), d(visit)) - timedelta(days=10)).isoformat()
    result = decision(code, requested(start), booked(start, visit), cancelled(on))
    assert result.counted is counted


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_an_escort_or_transport_rescheduled_in_time_is_not_counted(code):
    result = decision(
        code,
        requested("2025-09-22"),
        booked("2025-09-23", "2025-09-29"),
        rescheduled("2025-09-28", "2025-10-09"),  # the 调休 Sunday: in time
    )
    assert (result.outcome, result.visit, result.reschedules_left) == (
        Outcome.HELD,
        d("2025-10-09"),
        0,
    )


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_a_no_show_after_the_one_reschedule_counts(code):
    result = decision(
        code,
        requested("2025-09-22"),
        booked("2025-09-23", "2025-09-29"),
        rescheduled("2025-09-26", "2025-10-09"),
        no_show("2025-10-09"),
    )
    assert (result.outcome, result.reason, result.counted_on) == (
        Outcome.COUNTED,
        Reason.NO_SHOW,
        d("2025-10-09"),
    )


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_an_escort_or_transport_allows_only_one_reschedule(code):
    assert (
        refusal(
            code,
            requested("2025-09-22"),
            booked("2025-09-23", "2025-09-29"),
            rescheduled("2025-09-24", "2025-10-09"),
            rescheduled("2025-09-25", "2025-10-10"),
        )
        == "reschedule_not_allowed"
    )


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_a_late_reschedule_counts_at_once_and_the_new_date_is_still_served(code):
    result = decision(
        code,
        requested("2025-09-22"),
        booked("2025-09-23", "2025-10-09"),
        rescheduled("2025-10-03", "2025-10-13"),  # inside National Day: no notice left
    )
    assert (result.outcome, result.reason, result.counted_on, result.visit) == (
        Outcome.COUNTED,
        Reason.RESCHEDULED_LATE,
        d("2025-10-03"),
        d("2025-10-13"),
    )
    after = decision(
        code,
        requested("2025-09-22"),
        booked("2025-09-23", "2025-10-09"),
        rescheduled("2025-10-03", "2025-10-13"),
        completed("2025-10-13"),
    )
    # One case is one use, however it ends.
    assert (after.reason, after.units, after.counted_on) == (
        Reason.RESCHEDULED_LATE,
        1,
        d("2025-10-03"),
    )


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_a_hospital_cancelling_after_the_customers_late_reschedule_does_not_undo_the_use(code):
    result = decision(
        code,
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        rescheduled("2025-03-09", "2025-03-17"),
        cancelled("2025-03-14", by=HOSPITAL),
    )
    assert (result.outcome, result.reason) == (Outcome.COUNTED, Reason.RESCHEDULED_LATE)


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_a_timely_cancellation_after_a_timely_reschedule_is_not_counted(code):
    result = decision(
        code,
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        rescheduled("2025-03-05", "2025-03-17"),
        cancelled("2025-03-14"),
    )
    assert result.outcome is Outcome.RELEASED


@pytest.mark.parametrize("code", ONE_RESCHEDULE_ONE_DAY)
def test_a_hospital_postponement_does_not_use_up_the_customers_reschedule(code):
    result = decision(
        code,
        requested("2025-03-03"),
        booked("2025-03-04", "2025-03-10"),
        rescheduled("2025-03-05", "2025-03-12", by=HOSPITAL),
        rescheduled("2025-03-06", "2025-03-19"),
    )
    assert (result.outcome, result.reschedules_left) == (Outcome.HELD, 0)


# -- nursing_carer: the same with 3 working days, and all the days at once ---------------------


@pytest.mark.parametrize(
    ("on", "visit", "counted"),
    [
        ("2025-03-05", "2025-03-10", False),  # Wed, Thu, Fri before a Monday
        ("2025-03-06", "2025-03-10", True),  # Thu, Fri: two
        ("2025-09-26", "2025-10-09", False),  # 09-26, 09-28 (调休), 09-29, 09-30
        ("2025-09-28", "2025-10-09", False),  # 09-28, 09-29, 09-30: exactly three
        ("2025-09-29", "2025-10-09", True),  # two, National Day in between
        ("2026-02-13", "2026-02-25", False),  # 02-13, 02-14 (调休), 02-24
        ("2026-02-14", "2026-02-25", True),  # 02-14, 02-24
    ],
)
def test_a_carer_cancelled_with_less_than_three_working_days_counts_every_day(on, visit, counted):
    start = (min(d(on), d(visit)) - timedelta(days=10)).isoformat()
    result = decision(
        "nursing_carer", requested(start), booked(start, visit), cancelled(on), units=5
    )
    assert result.counted is counted
    assert result.units == (5 if counted else 0)


def test_a_carer_reschedule_with_two_working_days_notice_counts():
    result = decision(
        "nursing_carer",
        requested("2025-09-20"),
        booked("2025-09-22", "2025-10-09"),
        rescheduled("2025-09-29", "2025-10-20"),
        units=3,
    )
    assert (result.reason, result.units) == (Reason.RESCHEDULED_LATE, 3)


def test_a_carer_no_show_after_the_reschedule_counts():
    result = decision(
        "nursing_carer",
        requested("2025-09-20"),
        booked("2025-09-22", "2025-10-09"),
        rescheduled("2025-09-26", "2025-10-20"),
        no_show("2025-10-20"),
        units=3,
    )
    assert (result.reason, result.units) == (Reason.NO_SHOW, 3)


@pytest.mark.parametrize(("remaining", "units"), [(3, 3), (5, 5), (2, 2)])
def test_a_carer_booking_takes_every_day_left_because_days_are_not_split(remaining, units):
    assert units_for_booking(rule("nursing_carer"), remaining) == units


def test_one_follow_up_application_takes_the_four_follow_ups():
    assert units_for_booking(rule("rehab_followup"), 4) == 4


def test_a_follow_up_application_with_fewer_left_takes_what_is_left():
    assert units_for_booking(rule("rehab_followup"), 2) == 2


@pytest.mark.parametrize("code", ["outpatient_booking", "escort", "mdt"])
def test_other_bookings_take_one(code):
    assert units_for_booking(rule(code), 1) == 1


def test_an_unlimited_service_takes_one_use_per_booking():
    assert units_for_booking(rule("online_consult"), None) == 1
    assert units_for_booking(UsageRule(units_per_booking=None), None) == 1


# -- histories the rules do not allow --------------------------------------------------------


def test_a_case_must_start_with_its_request():
    assert refusal("escort", booked("2025-03-04", "2025-03-10")) == "not_requested"
    assert refusal("escort") == "not_requested"


def test_nothing_follows_a_closed_case():
    assert (
        refusal(
            "escort",
            requested("2025-03-03"),
            booked("2025-03-04", "2025-03-10"),
            completed("2025-03-10"),
            cancelled("2025-03-11"),
        )
        == "case_closed"
    )


def test_steps_cannot_go_back_in_time():
    assert (
        refusal("escort", requested("2025-03-03"), booked("2025-03-02", "2025-03-10"))
        == "out_of_order"
    )


def test_a_case_is_booked_once_and_moved_by_reschedules():
    assert (
        refusal(
            "escort",
            requested("2025-03-03"),
            booked("2025-03-04", "2025-03-10"),
            booked("2025-03-05", "2025-03-11"),
        )
        == "already_booked"
    )


def test_a_reschedule_needs_a_booking_and_a_new_date():
    assert (
        refusal("escort", requested("2025-03-03"), rescheduled("2025-03-04", "2025-03-10"))
        == "not_booked"
    )
    with pytest.raises(UsageRefused) as caught:
        decide(
            rule("escort"),
            [
                requested("2025-03-03"),
                booked("2025-03-04", "2025-03-10"),
                UsageEvent(Step.RESCHEDULED, d("2025-03-05")),
            ],
            CALENDAR,
            1,
        )
    assert caught.value.code == "no_visit_date"


def test_a_no_show_cannot_be_recorded_before_the_visit():
    assert (
        refusal(
            "escort",
            requested("2025-03-03"),
            booked("2025-03-04", "2025-03-10"),
            no_show("2025-03-07"),
        )
        == "visit_not_yet"
    )


def test_completion_and_no_shows_need_a_booking():
    assert refusal("escort", requested("2025-03-03"), completed("2025-03-04")) == "not_booked"
    assert refusal("escort", requested("2025-03-03"), no_show("2025-03-04")) == "not_booked"


# -- properties over any history -----------------------------------------------------------


DAY0 = date(2025, 9, 1)
SERVICES = [s.code for s in programme().services]
offsets = st.integers(0, 60)


@settings(max_examples=150, deadline=None)
@given(
    code=st.sampled_from(SERVICES),
    booking=offsets,
    lead=st.integers(0, 30),
    postponements=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 20)), max_size=3),
    end=st.integers(0, 10),
)
def test_a_case_only_the_hospital_disturbed_and_then_cancelled_is_never_counted(
    code, booking, lead, postponements, end
):
    on = DAY0 + timedelta(days=booking)
    visit = on + timedelta(days=lead)
    history = [UsageEvent(Step.REQUESTED, on), UsageEvent(Step.BOOKED, on, visit=visit)]
    for step, later in postponements:
        on += timedelta(days=step)
        visit = max(visit, on) + timedelta(days=later)
        history.append(UsageEvent(Step.RESCHEDULED, on, visit=visit, by=HOSPITAL))
    history.append(UsageEvent(Step.CANCELLED, on + timedelta(days=end), by=HOSPITAL))
    result = decide(rule(code), history, CALENDAR, 1)
    assert result.outcome is Outcome.RELEASED and result.units == 0


@settings(max_examples=150, deadline=None)
@given(code=st.sampled_from(SERVICES), booking=offsets, lead=st.integers(0, 40), notice=offsets)
def test_a_customer_cancellation_counts_exactly_when_the_rule_says(code, booking, lead, notice):
    booked_on = DAY0 + timedelta(days=booking)
    visit = booked_on + timedelta(days=lead)
    cancel_on = max(booked_on, visit - timedelta(days=notice))
    usage = rule(code)
    result = decide(
        usage,
        [
            UsageEvent(Step.REQUESTED, booked_on),
            UsageEvent(Step.BOOKED, booked_on, visit=visit),
            UsageEvent(Step.CANCELLED, cancel_on),
        ],
        CALENDAR,
        1,
    )
    if usage.counted_when_booked:
        expected = True
    elif usage.cancel_notice_working_days is None:
        expected = False
    else:
        given_notice = CALENDAR.count_before(cancel_on, visit)
        expected = given_notice < usage.cancel_notice_working_days
    assert result.counted is expected
    assert result.units == (1 if expected else 0)
