"""The hotline's configuration as data: programme, services, lines, calendar.

``load()`` reads the TOML files in this folder (or in ``HOTLINE_FLOWS_DIR``),
checks every value and returns the domain objects the rules work with. The
service refuses to start on a bad file, with a message naming file and key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from domain.cases import ANCHORS as ANCHOR_MILESTONES
from domain.cases import Milestone
from domain.catalogue import (
    Deadline,
    Programme,
    QuotaPeriod,
    Service,
    Tier,
    Unit,
    UsageRule,
)
from domain.hours import Line
from domain.workdays import WorkingDays, YearSchedule
from flows import call_flow_loader
from flows.call_flow import CallFlow
from flows.checks import TomlTable, parse_day
from flows.exceptions import FlowError

__all__ = ["DEFAULT_DIRECTORY", "CallFlow", "FlowError", "Flows", "load"]

DEFAULT_DIRECTORY = Path(__file__).resolve().parent
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DESIGNATIONS = ("hospital", "doctor")
ANCHORS = tuple(ANCHOR_MILESTONES)
MILESTONES = tuple(Milestone)


CALLS = "calls"
CALLBACKS = "callbacks"


@dataclass(frozen=True, slots=True)
class Queue:
    """One of Twilio's queues the hotline uses: a line's callers, or its returning callbacks."""

    name: str
    line: Line
    kind: str  # CALLS or CALLBACKS


@dataclass(frozen=True)
class Flows:
    directory: Path
    programme: Programme
    categories: dict[str, str]
    lines: dict[str, Line]
    working_days: WorkingDays
    call_flow: CallFlow

    def line(self, code: str) -> Line:
        try:
            return self.lines[code]
        except KeyError:
            raise FlowError(f"unknown line {code!r}") from None

    def queues(self) -> tuple[Queue, ...]:
        """Every queue, line by line: the line's own, then its callback queue."""
        return tuple(
            Queue(name, line, kind)
            for line in self.lines.values()
            for name, kind in (
                (line.queue, CALLS),
                (self.call_flow.callback_queue(line), CALLBACKS),
            )
        )

    def queue(self, name: str) -> Queue | None:
        return next((q for q in self.queues() if q.name == name), None)

    def callback_queue(self, line: Line | str) -> str:
        """The queue where ``line``'s callers wait when they return on a callback."""
        return self.call_flow.callback_queue(self.line(line) if isinstance(line, str) else line)


def load(directory: str | Path | None = None) -> Flows:
    directory = Path(directory) if directory else DEFAULT_DIRECTORY
    programme_doc = _read(directory, "programme.toml")
    services_doc = _read(directory, "services.toml")
    tiers = _tiers(programme_doc)
    categories = {
        key: value for key, value in _string_table(services_doc.table("categories")).items()
    }
    services = _services(services_doc, {t.code for t in tiers}, categories)
    programme_doc.only("launch_date", "quota_period", "waiting_period_days", "products", "tiers")
    programme = Programme(
        products=frozenset(programme_doc.texts("products")),
        tiers=tiers,
        services=services,
        launch_date=programme_doc.day("launch_date"),
        quota_period=QuotaPeriod(
            programme_doc.choice("quota_period", tuple(QuotaPeriod), "calendar_year")
        ),
        waiting_period_days=programme_doc.whole("waiting_period_days", 30, minimum=0),
    )
    lines = _lines(_read(directory, "lines.toml"))
    return Flows(
        directory=directory,
        programme=programme,
        categories=categories,
        lines=lines,
        working_days=WorkingDays(_calendar(_read(directory, "calendar.toml"))),
        call_flow=call_flow_loader.parse(_read(directory, call_flow_loader.FILE), programme, lines),
    )


def _read(directory: Path, name: str) -> TomlTable:
    path = directory / name
    try:
        with path.open("rb") as handle:
            return TomlTable(name, tomllib.load(handle))
    except FileNotFoundError:
        raise FlowError(f"{name}: missing from {directory}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FlowError(f"{name}: not valid TOML ({exc})") from None


def _string_table(node: TomlTable) -> dict[str, str]:
    out = {}
    for key, value in node.items():
        if not isinstance(value, str) or not value:
            raise node.error(key, "must be a non-empty string")
        out[key] = value
    return out


def _tiers(doc: TomlTable) -> tuple[Tier, ...]:
    tiers = []
    for rank, node in enumerate(doc.tables("tiers")):
        node.only("code", "name", "min_sum_insured")
        tiers.append(
            Tier(
                code=node.text("code"),
                name=node.text("name"),
                min_sum_insured=node.whole("min_sum_insured", minimum=1),
                rank=rank,
            )
        )
    if not tiers:
        raise doc.error("tiers", "at least one tier is required")
    bounds = [t.min_sum_insured for t in tiers]
    if bounds != sorted(set(bounds)):
        raise doc.error("tiers", "min_sum_insured must increase from one tier to the next")
    if len({t.code for t in tiers}) != len(tiers):
        raise doc.error("tiers", "tier codes must be unique")
    return tuple(tiers)


def _services(doc: TomlTable, tier_codes: set[str], categories: dict[str, str]) -> tuple:
    doc.only("services", "categories")
    services = []
    for node in doc.tables("services"):
        node.only(
            "code",
            "name",
            "category",
            "unit",
            "requires_critical_illness",
            "quota",
            "designate",
            "usage",
            "deadlines",
            "notes",
            "waiting_period_exempt",
            "sms_link",
        )
        code = node.text("code")
        category = node.text("category")
        if category not in categories:
            raise node.error(
                "category", f"must be one of the [categories]: {', '.join(categories)}"
            )
        services.append(
            Service(
                code=code,
                name=node.text("name"),
                category=category,
                unit=Unit(node.choice("unit", tuple(Unit))),
                quotas=_quotas(node.table("quota"), tier_codes),
                designate=_designate(node.table("designate", {}), tier_codes),
                requires_critical_illness=node.flag("requires_critical_illness"),
                waiting_period_exempt=node.flag("waiting_period_exempt", False),
                sms_link=node.flag("sms_link", False),
                usage=_usage(node.table("usage", {})),
                deadlines=tuple(_deadline(d) for d in node.tables("deadlines", [])),
                notes=node.text("notes", ""),
            )
        )
    codes = [s.code for s in services]
    if len(set(codes)) != len(codes):
        raise doc.error("services", "service codes must be unique")
    return tuple(services)


def _quotas(node: TomlTable, tier_codes: set[str]) -> dict[str, int | None]:
    quotas: dict[str, int | None] = {}
    for tier, value in node.data.items():
        if tier not in tier_codes:
            raise node.error(tier, f"unknown tier (tiers are: {', '.join(sorted(tier_codes))})")
        if value == "unlimited":
            quotas[tier] = None
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise node.error(tier, 'must be "unlimited" or a whole number ≥ 0')
        else:
            quotas[tier] = value
    return quotas


def _designate(node: TomlTable, tier_codes: set[str]) -> dict[str, tuple[str, ...]]:
    out = {}
    for tier, value in node.data.items():
        if tier not in tier_codes:
            raise node.error(tier, "unknown tier")
        if not isinstance(value, list) or any(v not in DESIGNATIONS for v in value):
            raise node.error(tier, f"must be a list of: {', '.join(DESIGNATIONS)}")
        out[tier] = tuple(value)
    return out


def _usage(node: TomlTable) -> UsageRule:
    node.only(
        "counted_when_booked",
        "cancel_notice_working_days",
        "reschedules_allowed",
        "units_per_booking",
    )
    per_booking = node.raw("units_per_booking", 1)
    per_booking = None if per_booking == "all" else node.whole("units_per_booking", 1, minimum=1)
    notice = node.raw("cancel_notice_working_days", None)
    return UsageRule(
        counted_when_booked=node.flag("counted_when_booked", False),
        cancel_notice_working_days=(
            None if notice is None else node.whole("cancel_notice_working_days", minimum=0)
        ),
        reschedules_allowed=node.whole("reschedules_allowed", 0),
        units_per_booking=per_booking,
    )


def _deadline(node: TomlTable) -> Deadline:
    node.only("key", "label", "anchor", "working_days", "hours", "met_by")
    if node.has("working_days") == node.has("hours"):
        raise node.error(None, "give exactly one of working_days or hours")
    return Deadline(
        key=node.text("key"),
        label=node.text("label"),
        anchor=node.choice("anchor", ANCHORS),
        working_days=node.whole("working_days", minimum=0) if node.has("working_days") else None,
        hours=node.whole("hours", minimum=1) if node.has("hours") else None,
        met_by=node.choice("met_by", MILESTONES) if node.has("met_by") else None,
    )


def _lines(doc: TomlTable) -> dict[str, Line]:
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
        if len(queue) > 64:
            raise node.error("queue", "a Twilio queue name has at most 64 characters")
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


def _calendar(doc: TomlTable) -> dict[int, YearSchedule]:
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
    return years
