"""Reading ``programme.toml`` and ``services.toml`` into the ``Programme``: tiers and services.

Every tier a quota names, every category and every deadline's anchor is checked
here; the rules in ``domain.catalogue`` then trust what they are given.
"""

from __future__ import annotations

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
from flows.checks import TomlTable

DESIGNATIONS = ("hospital", "doctor")
ANCHORS = tuple(ANCHOR_MILESTONES)
MILESTONES = tuple(Milestone)


def parse(programme_doc: TomlTable, services_doc: TomlTable) -> tuple[Programme, dict[str, str]]:
    """The programme, and the service categories by code (the names agents see)."""
    tiers = _tiers(programme_doc)
    categories = _string_table(services_doc.table("categories"))
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
    return programme, categories


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
