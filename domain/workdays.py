"""Chinese working days (法定节假日 and 调休) for counting service-level deadlines.

The State Council's schedule comes from ``chinese_calendar``; years it does not
cover yet can be given as data (``flows/calendar.toml``), which also replaces the
library's schedule for a year it lists. A year known to neither falls back to
Monday–Friday, with a warning logged once per year, so a deadline is always
computed rather than refused; ``Coverage`` says ahead of time that a year is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger(__name__)
ONE_DAY = timedelta(days=1)
# The years the installed chinese_calendar release has the State Council's schedule for.
LIBRARY_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
LIBRARY = f"chinesecalendar {chinese_calendar.__version__}"
# The schedule for next year is usually published in November: from this day on
# (month, day) a missing next year is an alarm rather than a reminder.
ALARM_FROM = (12, 1)


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's official days off on weekdays and working weekends (调休).

    ``source``: where the dates were copied from (the notice's title or number).
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    source: str = ""


@dataclass
class WorkingDays:
    extra_years: Mapping[int, YearSchedule] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set, repr=False)

    def source(self, year: int) -> str:
        """Where ``year``'s schedule comes from: ``flows``, ``library`` or ``fallback``."""
        if year in self.extra_years:
            return "flows"
        return "library" if year in LIBRARY_YEARS else "fallback"

    def covers(self, year: int) -> bool:
        return self.source(year) != "fallback"

    def years(self) -> dict[int, str]:
        """Every year with an official schedule, in order, and where it comes from."""
        covered = set(LIBRARY_YEARS) | set(self.extra_years)
        return {year: self.source(year) for year in sorted(covered)}

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


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which years the calendar covers, seen from ``today``: what an operator must add."""

    today: date
    years: Mapping[int, str]

    @property
    def missing(self) -> tuple[int, ...]:
        """This year and next, where not covered (deadlines there count Monday–Friday)."""
        return tuple(y for y in (self.today.year, self.today.year + 1) if y not in self.years)

    @property
    def alarm(self) -> bool:
        """This year is missing, or next year is from 1 December: deadlines are or will be wrong."""
        if self.today.year in self.missing:
            return True
        return bool(self.missing) and (self.today.month, self.today.day) >= ALARM_FROM


def coverage(calendar: WorkingDays, today: date) -> Coverage:
    return Coverage(today, calendar.years())
