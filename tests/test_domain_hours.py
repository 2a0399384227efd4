"""Lines' human hours: half-open intervals, closures and special dates (SPEC §3)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import pytest
from domain_fixtures import d, loaded

from domain.hours import Line


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def medical() -> Line:
    return loaded().line("medical")


def policy_line() -> Line:
    return loaded().line("policy")


def with_days(line: Line, closures=(), special=None) -> Line:
    return dataclasses.replace(
        line, closures=frozenset(d(c) for c in closures), special=special or {}
    )


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2025-05-01 00:00:00", False),
        ("2025-05-01 07:59:59", False),
        ("2025-05-01 07:59:59.999999", False),
        ("2025-05-01 08:00:00", True),
        ("2025-05-01 12:00:00", True),
        ("2025-05-01 21:59:59", True),
        ("2025-05-01 21:59:59.999999", True),
        ("2025-05-01 22:00:00", False),
        ("2025-05-01 23:59:59", False),
    ],
)
def test_the_medical_line_is_open_from_eight_until_just_before_ten_pm(moment, open_):
    assert medical().is_open(at(moment)) is open_


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2025-05-03 08:59:00", False),
        ("2025-05-03 08:59:59", False),
        ("2025-05-03 09:00:00", True),
        ("2025-05-03 17:29:00", True),
        ("2025-05-03 17:29:59", True),
        ("2025-05-03 17:30:00", False),
    ],
)
def test_the_policy_line_is_open_from_nine_until_just_before_half_past_five(moment, open_):
    assert policy_line().is_open(at(moment)) is open_


@pytest.mark.parametrize("weekday_date", ["2025-10-01", "2025-10-04", "2026-02-17", "2025-03-09"])
def test_both_lines_open_every_day_including_holidays_and_weekends(weekday_date):
    noon = datetime.combine(d(weekday_date), time(12))
    assert medical().is_open(noon)
    assert policy_line().is_open(noon)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2025-05-01 07:00:00", "2025-05-01 08:00:00"),
        ("2025-05-01 08:00:00", "2025-05-01 08:00:00"),  # opens at this very moment
        ("2025-05-01 08:00:01", "2025-05-02 08:00:00"),  # open: the next opening is tomorrow
        ("2025-05-01 22:00:00", "2025-05-02 08:00:00"),
        ("2025-05-01 23:59:59", "2025-05-02 08:00:00"),  # across midnight
        ("2025-05-02 00:00:00", "2025-05-02 08:00:00"),
        ("2025-12-31 22:30:00", "2026-01-01 08:00:00"),  # across the year
    ],
)
def test_the_next_opening_of_the_medical_line(moment, expected):
    assert medical().next_opening(at(moment)) == at(expected)


def test_the_next_opening_of_the_policy_line_after_it_closes():
    assert policy_line().next_opening(at("2025-05-03 17:30:00")) == at("2025-05-04 09:00:00")


def test_closes_at_gives_the_end_of_the_current_opening_and_none_when_closed():
    assert medical().closes_at(at("2025-05-01 21:59:59")) == at("2025-05-01 22:00:00")
    assert medical().closes_at(at("2025-05-01 22:00:00")) is None
    assert policy_line().closes_at(at("2025-05-01 09:00:00")) == at("2025-05-01 17:30:00")


# -- closures and special hours ------------------------------------------------------------


def test_a_closed_date_is_closed_all_day():
    line = with_days(medical(), closures=["2026-02-16"])
    assert not line.is_open(at("2026-02-16 08:00:00"))
    assert not line.is_open(at("2026-02-16 12:00:00"))
    assert line.is_open(at("2026-02-15 12:00:00"))
    assert line.closes_at(at("2026-02-16 12:00:00")) is None


def test_the_next_opening_skips_closed_dates():
    line = with_days(medical(), closures=["2026-02-16", "2026-02-17"])
    assert line.next_opening(at("2026-02-15 22:00:00")) == at("2026-02-18 08:00:00")
    assert line.next_opening(at("2026-02-16 07:00:00")) == at("2026-02-18 08:00:00")


def test_special_hours_replace_the_usual_hours_on_their_date():
    line = with_days(medical(), special={d("2026-02-16"): ((time(10), time(16)),)})
    assert not line.is_open(at("2026-02-16 09:59:59"))
    assert line.is_open(at("2026-02-16 10:00:00"))
    assert line.is_open(at("2026-02-16 15:59:59"))
    assert not line.is_open(at("2026-02-16 16:00:00"))
    assert not line.is_open(at("2026-02-16 21:00:00"))
    assert line.next_opening(at("2026-02-16 07:00:00")) == at("2026-02-16 10:00:00")
    assert line.next_opening(at("2026-02-15 22:00:00")) == at("2026-02-16 10:00:00")
    assert line.next_opening(at("2026-02-16 16:00:00")) == at("2026-02-17 08:00:00")
    assert line.closes_at(at("2026-02-16 12:00:00")) == at("2026-02-16 16:00:00")


def test_special_hours_may_have_a_break():
    line = with_days(
        policy_line(), special={d("2026-02-16"): ((time(9), time(12)), (time(14), time(17)))}
    )
    assert line.is_open(at("2026-02-16 11:59:59"))
    assert not line.is_open(at("2026-02-16 12:00:00"))
    assert line.next_opening(at("2026-02-16 12:00:00")) == at("2026-02-16 14:00:00")
    assert line.is_open(at("2026-02-16 14:00:00"))


def test_a_closure_wins_over_special_hours_on_the_same_date():
    line = with_days(
        medical(), closures=["2026-02-16"], special={d("2026-02-16"): ((time(10), time(16)),)}
    )
    assert not line.is_open(at("2026-02-16 12:00:00"))


def test_a_line_that_never_opens_has_no_next_opening():
    never = dataclasses.replace(medical(), weekly={day: () for day in range(7)})
    assert not never.is_open(at("2025-05-01 12:00:00"))
    assert never.next_opening(at("2025-05-01 12:00:00")) is None


def test_weekly_hours_can_differ_by_weekday():
    weekdays_only = dataclasses.replace(
        policy_line(),
        weekly={day: ((time(9), time(17, 30)),) if day < 5 else () for day in range(7)},
    )
    friday_evening = at("2025-05-09 18:00:00")
    assert date(2025, 5, 9).weekday() == 4
    assert weekdays_only.next_opening(friday_evening) == at("2025-05-12 09:00:00")
