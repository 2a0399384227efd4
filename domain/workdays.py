"""Chinese working days (法定节假日 and 调休) for counting service-level deadlines.

The State Council's schedule comes from ``chinese_calendar``; years it does not
cover yet can be given as data (``flows/calendar.toml``). A year known to
neither falls back to Monday–Friday, with a warning logged once per year, so a
deadline is always computed rather than refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's official days off on weekdays and working weekends (调休)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass
class WorkingDays:
    extra_years: Mapping[int, YearSchedule] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set, repr=False)

    def source(self, year: int) -> str:
        """Where ``year``'s schedule comes from: ``flows``, ``library`` or ``fallback``."""
        if year in self.extra_years:
            return "flows"
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return "fallback"
        return "library"

    def is_working_day(self, day: date) -> bool:
        schedule = self.extra_years.get(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            return day.weekday() < 5 and day not in schedule.holidays
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no official working-day schedule for %s: counting Monday-Friday; "
                    "add the year to flows/calendar.toml",
                    day.year,
                )
            return day.weekday() < 5

    def add(self, start: date, working_days: int) -> date:
        """The ``working_days``-th working day after ``start`` (counting begins the next day)."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        day = start
        left = working_days
        while left:
            day += ONE_DAY
            if self.is_working_day(day):
                left -= 1
        return day

    def count_before(self, notice: date, event: date) -> int:
        """Working days from ``notice`` (inclusive) up to ``event`` (exclusive).

        "At least one working day before the visit" holds when this is ≥ 1: a
        Friday cancellation of a Monday visit is in time, a Sunday one is not.
        """
        count = 0
        day = notice
        while day < event:
            if self.is_working_day(day):
                count += 1
            day += ONE_DAY
        return count
