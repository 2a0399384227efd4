"""Reading ``calendar.toml`` into ``WorkingDays``: each year's holidays and swapped workdays.

A year is copied from the State Council's notice (国务院办公厅关于…年部分节假日安排的通知)
as it reads: every day off, a stretch as ``"2027-02-05..2027-02-11"``, and the
weekend days worked instead (调休). The checks catch what copying gets wrong: a
date in another year, a "workday" that is not a weekend day, a day in both lists,
a year with no days off at all (a table left empty would silently count as covered).
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.workdays import WorkingDays, YearSchedule
from flows.checks import TomlTable, parse_day

RANGE = ".."


def parse(doc: TomlTable) -> WorkingDays:
    doc.only("years")
    years = {}
    for year, node in doc.table("years", {}).items():
        if not (isinstance(node, TomlTable) and year.isdigit()):
            raise doc.error(f"years.{year}", "must be a table named by a year, e.g. [years.2027]")
        years[int(year)] = _year(node, int(year))
    return WorkingDays(years)


def _year(node: TomlTable, year: int) -> YearSchedule:
    node.only("source", "holidays", "workdays")
    holidays = _days(node, "holidays", year)
    workdays = _days(node, "workdays", year)
    if not holidays:
        raise node.error("holidays", "must list the year's days off (every year has some)")
    for day in sorted(workdays):
        if day.weekday() < 5:
            raise node.error(
                "workdays", f"{day} is a weekday: list only weekend days that are worked (调休)"
            )
    for day in sorted(holidays & workdays):
        raise node.error("workdays", f"{day} is also listed as a holiday")
    source = node.text("source", "").strip()
    return YearSchedule(holidays=holidays, workdays=workdays, source=source)


def _days(node: TomlTable, key: str, year: int) -> frozenset[date]:
    values = node.raw(key, [])
    if not isinstance(values, list):
        raise node.error(key, "must be a list of dates")
    days: set[date] = set()
    for i, value in enumerate(values):
        where = f"{key}[{i}]"
        if isinstance(value, str) and RANGE in value:
            first, _, last = value.partition(RANGE)
            start, end = parse_day(node, where, first.strip()), parse_day(node, where, last.strip())
            if end < start:
                raise node.error(where, f"{value}: the range ends before it starts")
            days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
        else:
            days.add(parse_day(node, where, value))
    if any(day.year != year for day in days):
        raise node.error(key, f"every date must be in {year}")
    return frozenset(days)
