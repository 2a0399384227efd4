"""Chinese working days for SLAs and cancellation notice (SPEC §2, 法定节假日 and 调休)."""

from __future__ import annotations

import logging

import pytest
from domain_fixtures import d, days, loaded

from domain.workdays import LIBRARY_YEARS, WorkingDays, YearSchedule, coverage

# A year no chinese_calendar release will cover soon: the Monday-Friday fallback.
FAR_YEAR = 2099


@pytest.fixture
def calendar() -> WorkingDays:
    return WorkingDays()


@pytest.mark.parametrize(
    "day",
    [
        "2024-02-04",  # Sunday before 春节
        "2024-02-18",  # Sunday after 春节
        "2024-09-29",  # Sunday before 国庆
        "2024-10-12",  # Saturday after 国庆
        "2025-01-26",
        "2025-02-08",
        "2025-09-28",
        "2025-10-11",
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-09-20",
        "2026-10-10",
    ],
)
def test_a_weekend_day_made_a_working_day_by_tiaoxiu_is_a_working_day(calendar, day):
    assert d(day).weekday() >= 5
    assert calendar.is_working_day(d(day))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2024-10-01", "2024-10-07"),
        ("2025-10-01", "2025-10-08"),
        ("2026-10-01", "2026-10-07"),
        ("2024-02-10", "2024-02-17"),
        ("2025-01-28", "2025-02-04"),
        ("2026-02-15", "2026-02-23"),
    ],
)
def test_national_day_and_spring_festival_are_not_working_days(calendar, first, last):
    assert not any(calendar.is_working_day(day) for day in days(d(first), d(last)))


@pytest.mark.parametrize("day", ["2024-10-08", "2025-10-09", "2026-10-08", "2026-02-24"])
def test_the_first_weekday_after_a_holiday_is_a_working_day(calendar, day):
    assert calendar.is_working_day(d(day))


def test_ordinary_weekdays_work_and_ordinary_weekends_do_not(calendar):
    assert calendar.is_working_day(d("2025-03-12"))  # Wednesday
    assert not calendar.is_working_day(d("2025-03-15"))  # Saturday
    assert not calendar.is_working_day(d("2025-03-16"))  # Sunday


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_the_library_supplies_2024_to_2026(calendar, year):
    assert calendar.source(year) == "library"


# -- adding working days (SLA deadlines) ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2025-03-12", 1, "2025-03-13"),  # Wednesday -> Thursday
        ("2025-03-14", 1, "2025-03-17"),  # Friday -> Monday
        ("2025-03-15", 1, "2025-03-17"),  # a Saturday request: the next working day counts
        ("2024-09-30", 1, "2024-10-08"),  # the eve of National Day -> after the holiday
        ("2025-09-26", 1, "2025-09-28"),  # Friday -> the 调休 Sunday
        ("2025-09-30", 4, "2025-10-13"),  # care_planner: 10-09, 10-10, 10-11 (Sat), 10-13
        ("2026-02-12", 5, "2026-02-26"),  # outpatient booking across 春节 2026
        ("2026-02-12", 10, "2026-03-04"),  # fast-track booking across 春节 and 02-28 (Sat)
        ("2025-03-12", 0, "2025-03-12"),
    ],
)
def test_a_deadline_counts_working_days_from_the_next_working_day(calendar, start, n, expected):
    assert calendar.add(d(start), n) == d(expected)


def test_a_deadline_from_the_catalogue_is_computed_in_working_days(calendar):
    service = loaded().programme.service("outpatient_booking")
    booking = next(dl for dl in service.deadlines if dl.key == "booking")
    # Friday 09-27: 09-29 (调休 Sunday), 09-30, then 10-08, 10-09, 10-10 after National Day.
    assert calendar.add(d("2024-09-27"), booking.working_days) == d("2024-10-10")


def test_a_negative_number_of_working_days_is_refused(calendar):
    with pytest.raises(ValueError):
        calendar.add(d("2025-03-12"), -1)


# -- notice before a visit (cancellations) -------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "visit", "expected"),
    [
        ("2025-03-07", "2025-03-10", 1),  # Friday for Monday: in time for 1 wd
        ("2025-03-08", "2025-03-10", 0),  # Saturday for Monday: too late
        ("2025-03-10", "2025-03-10", 0),  # the day itself
        ("2025-03-11", "2025-03-10", 0),  # after the visit
        ("2024-09-30", "2024-10-08", 1),
        ("2025-09-26", "2025-10-09", 4),  # 09-26, 09-28 (调休), 09-29, 09-30
        ("2025-09-30", "2025-10-09", 1),
    ],
)
def test_notice_counts_working_days_from_the_notice_day_up_to_the_visit(
    calendar, notice, visit, expected
):
    assert calendar.count_before(d(notice), d(visit)) == expected


def test_a_carer_cancellation_needs_three_working_days_notice(calendar):
    needed = loaded().programme.service("nursing_carer").usage.cancel_notice_working_days
    assert calendar.count_before(d("2025-09-26"), d("2025-10-09")) >= needed
    assert calendar.count_before(d("2025-09-29"), d("2025-10-09")) < needed


# -- years given as data -------------------------------------------------------------------


def test_a_year_given_in_flows_replaces_the_librarys_schedule_for_that_year():
    calendar = WorkingDays(
        {
            2025: YearSchedule(
                holidays=frozenset({d("2025-03-03")}), workdays=frozenset({d("2025-03-01")})
            )
        }
    )
    assert calendar.source(2025) == "flows"
    assert not calendar.is_working_day(d("2025-03-03"))  # Monday made a holiday
    assert calendar.is_working_day(d("2025-03-01"))  # Saturday made a working day
    assert calendar.is_working_day(d("2025-10-01"))  # not listed: an ordinary Wednesday
    assert not calendar.is_working_day(d("2025-03-02"))  # an ordinary Sunday
    assert calendar.source(2024) == "library"
    assert not calendar.is_working_day(d("2024-10-01"))


def test_a_year_given_in_flows_counts_in_deadlines():
    calendar = WorkingDays({FAR_YEAR: YearSchedule(holidays=frozenset({d(f"{FAR_YEAR}-01-01")}))})
    # 2098-12-31 is a Wednesday; 2099-01-01 (Thursday) is made a holiday.
    assert calendar.add(d(f"{FAR_YEAR - 1}-12-31"), 1) == d(f"{FAR_YEAR}-01-02")


# -- years known to nobody -----------------------------------------------------------------


def test_a_year_nobody_has_published_falls_back_to_monday_to_friday(calendar):
    assert calendar.source(FAR_YEAR) == "fallback"
    week = list(days(d(f"{FAR_YEAR}-03-02"), d(f"{FAR_YEAR}-03-08")))  # Monday to Sunday
    assert [calendar.is_working_day(day) for day in week] == [True] * 5 + [False] * 2
    assert calendar.add(d(f"{FAR_YEAR}-03-06"), 1) == d(f"{FAR_YEAR}-03-09")


def test_the_fallback_is_logged_once_per_year(calendar, caplog):
    with caplog.at_level(logging.WARNING, logger="domain.workdays"):
        for day in days(d(f"{FAR_YEAR}-01-01"), d(f"{FAR_YEAR}-02-28")):
            calendar.is_working_day(day)
        calendar.add(d(f"{FAR_YEAR}-03-01"), 20)
        assert len(caplog.records) == 1
        assert str(FAR_YEAR) in caplog.records[0].getMessage()
        assert caplog.records[0].levelno == logging.WARNING
        calendar.is_working_day(d(f"{FAR_YEAR + 1}-01-03"))
    assert [str(FAR_YEAR + 1) in r.getMessage() for r in caplog.records] == [False, True]


def test_a_deadline_running_past_the_librarys_last_year_is_still_computed(calendar):
    last = d("2026-12-30")
    due = calendar.add(last, 3)
    assert due.year == 2027
    assert calendar.is_working_day(due)


def test_a_year_before_the_library_does_not_crash(calendar):
    assert calendar.source(1999) == "fallback"
    assert calendar.is_working_day(d("1999-06-01"))  # a Tuesday


# -- which years are covered (hotline calendar check, the supervisor board's banner) ------

LAST = LIBRARY_YEARS[-1]  # 2026 with chinesecalendar 1.11
MISSING = LAST + 1


def test_the_years_covered_are_the_librarys_and_those_given_as_data():
    calendar = WorkingDays({FAR_YEAR: YearSchedule(holidays=frozenset({d(f"{FAR_YEAR}-01-01")}))})
    years = calendar.years()
    assert years[LAST] == "library"
    assert years[FAR_YEAR] == "flows"
    assert MISSING not in years
    assert list(years) == sorted(years)


def test_a_year_given_as_data_overrides_the_library_for_that_year():
    schedule = YearSchedule(holidays=frozenset({d(f"{LAST}-03-10")}))
    calendar = WorkingDays({LAST: schedule})
    assert calendar.years()[LAST] == "flows"
    assert not calendar.is_working_day(d(f"{LAST}-03-10"))
    assert calendar.is_working_day(d(f"{LAST}-10-02")) == (d(f"{LAST}-10-02").weekday() < 5)


@pytest.mark.parametrize(
    ("today", "missing", "alarm"),
    [
        (f"{LAST}-06-15", (MISSING,), False),  # not yet published: a reminder only
        (f"{LAST}-11-30", (MISSING,), False),
        (f"{LAST}-12-01", (MISSING,), True),  # from 1 December: the board shows it
        (f"{LAST}-12-31", (MISSING,), True),
        (f"{MISSING}-01-02", (MISSING, MISSING + 1), True),  # deadlines are wrong now
    ],
)
def test_a_missing_next_year_is_an_alarm_from_the_first_of_december(today, missing, alarm):
    found = coverage(WorkingDays(), d(today))
    assert found.missing == missing
    assert found.alarm is alarm


def test_a_next_year_given_as_data_ends_the_alarm():
    schedule = YearSchedule(holidays=frozenset({d(f"{MISSING}-01-01")}))
    found = coverage(WorkingDays({MISSING: schedule}), d(f"{LAST}-12-06"))
    assert found.missing == ()
    assert not found.alarm
