"""Reading ``calendar.toml`` into ``WorkingDays``: each year's holidays and swapped workdays."""

from __future__ import annotations

from domain.workdays import WorkingDays, YearSchedule
from flows.checks import TomlTable, parse_day


def parse(doc: TomlTable) -> WorkingDays:
    doc.only("years")
    years = {}
    for year, node in doc.table("years", {}).items():
        if not (isinstance(node, TomlTable) and year.isdigit()):
            raise doc.error(f"years.{year}", "must be a table named by a year, e.g. [years.2027]")
        node.only("holidays", "workdays")
        schedule = {}
        for key in ("holidays", "workdays"):
            values = node.raw(key, [])
            if not isinstance(values, list):
                raise node.error(key, "must be a list of dates")
            days = frozenset(parse_day(node, f"{key}[{i}]", v) for i, v in enumerate(values))
            if any(d.year != int(year) for d in days):
                raise node.error(key, f"every date must be in {year}")
            schedule[key] = days
        years[int(year)] = YearSchedule(**schedule)
    return WorkingDays(years)
