"""Reading ``lines.toml`` into the hotline's telephone ``Line``s: numbers, queues and hours."""

from __future__ import annotations

from datetime import date

from domain.hours import Line
from flows.checks import TomlTable, parse_day

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Twilio refuses queue names longer than this.
QUEUE_NAME_LIMIT = 64


def parse(doc: TomlTable) -> dict[str, Line]:
    doc.only("lines")
    lines = {}
    for code, node in doc.table("lines").items():
        if not isinstance(node, TomlTable):
            raise doc.error(f"lines.{code}", "must be a table")
        node.only("name", "operator", "phone", "queue", "hours", "closures", "special")
        weekly: dict[int, list] = {day: [] for day in range(7)}
        for entry in node.tables("hours"):
            entry.only("days", "open", "close")
            interval = _interval(entry)
            for day in _weekdays(entry):
                weekly[day].append(interval)
        special: dict[date, list] = {}
        for entry in node.tables("special", []):
            entry.only("date", "open", "close")
            special.setdefault(entry.day("date"), []).append(_interval(entry))
        closures = node.raw("closures", [])
        if not isinstance(closures, list):
            raise node.error("closures", "must be a list of dates")
        queue = node.text("queue")
        if len(queue) > QUEUE_NAME_LIMIT:
            raise node.error(
                "queue", f"a Twilio queue name has at most {QUEUE_NAME_LIMIT} characters"
            )
        lines[code] = Line(
            code=code,
            name=node.text("name"),
            operator=node.text("operator"),
            phone=node.text("phone"),
            queue=queue,
            weekly={day: tuple(sorted(v)) for day, v in weekly.items()},
            closures=frozenset(
                parse_day(node, f"closures[{i}]", v) for i, v in enumerate(closures)
            ),
            special={day: tuple(sorted(v)) for day, v in special.items()},
        )
    if not lines:
        raise doc.error("lines", "at least one line is required")
    return lines


def _interval(node: TomlTable):
    opens, closes = node.clock("open"), node.clock("close")
    if closes <= opens:
        raise node.error("close", "must be later than open")
    return opens, closes


def _weekdays(node: TomlTable) -> list[int]:
    days = node.raw("days")
    if days == "daily":
        return list(range(7))
    if not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
        raise node.error("days", f'must be "daily" or a list of: {", ".join(WEEKDAYS)}')
    return [WEEKDAYS.index(d) for d in days]
