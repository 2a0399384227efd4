"""The programme as configured in ``flows/``: products, tiers and the service catalogue.

These are plain values; ``flows`` builds and checks them, the rules read them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from domain.exceptions import UnknownService, UnknownTier
from domain.policies import normalise_product


class QuotaPeriod(StrEnum):
    CALENDAR_YEAR = "calendar_year"
    SERVICE_YEAR = "service_year"


class Unit(StrEnum):
    TIMES = "times"
    DAYS = "days"


@dataclass(frozen=True, slots=True)
class Tier:
    code: str
    name: str
    # Inclusive lower bound: the manual's boundaries go to the customer (保险法 第30条).
    min_sum_insured: int
    rank: int


@dataclass(frozen=True, slots=True)
class UsageRule:
    """When a booked service counts as used (manual 注意事项).

    ``counted_when_booked``: fast-track, second opinion, MDT — booked is used.
    ``cancel_notice_working_days``: a cancellation or reschedule with less notice
    than this counts as a use; ``reschedules_allowed`` free reschedules before a
    no-show counts. Hospital- or doctor-caused cancellations never count.
    """

    counted_when_booked: bool = False
    cancel_notice_working_days: int | None = None
    reschedules_allowed: int = 0
    # Units one booking takes: rehab_followup's one application is its four
    # follow-ups; None takes the whole remaining quota (nursing days are not split).
    units_per_booking: int | None = 1


@dataclass(frozen=True, slots=True)
class Deadline:
    """One service-level deadline: ``working_days`` after ``anchor`` (or ``hours``).

    ``met_by`` is the case milestone that fulfils it (``domain.cases.Milestone``);
    None: only closing the case does.
    """

    key: str
    label: str
    anchor: str
    working_days: int | None = None
    hours: int | None = None
    met_by: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    code: str
    name: str
    category: str
    unit: Unit
    # tier code -> yearly quota; None is unlimited, a missing tier is not included.
    quotas: Mapping[str, int | None]
    designate: Mapping[str, tuple[str, ...]]
    requires_critical_illness: bool
    waiting_period_exempt: bool = False
    # Served at any hour by an SMS link instead of an agent.
    sms_link: bool = False
    usage: UsageRule = field(default_factory=UsageRule)
    deadlines: tuple[Deadline, ...] = ()
    notes: str = ""

    def quota(self, tier: Tier | None) -> int | None:
        if tier is None:
            return 0
        return self.quotas.get(tier.code, 0)

    def designation_rights(self, tier: Tier | None) -> tuple[str, ...]:
        if tier is None or self.quota(tier) == 0:
            return ()
        return self.designate.get(tier.code, ())


@dataclass(frozen=True)
class Programme:
    products: frozenset[str]
    tiers: tuple[Tier, ...]
    services: tuple[Service, ...]
    launch_date: date
    quota_period: QuotaPeriod = QuotaPeriod.CALENDAR_YEAR
    waiting_period_days: int = 30
    _services: dict[str, Service] = field(init=False, repr=False, compare=False)
    _tiers: dict[str, Tier] = field(init=False, repr=False, compare=False)
    _floors: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen for callers; normalised once here so every look-up is a dict hit.
        set_ = object.__setattr__
        set_(self, "products", frozenset(normalise_product(p) for p in self.products))
        set_(self, "tiers", tuple(sorted(self.tiers, key=lambda t: t.min_sum_insured)))
        set_(self, "_services", {s.code: s for s in self.services})
        set_(self, "_tiers", {t.code: t for t in self.tiers})
        set_(self, "_floors", [t.min_sum_insured for t in self.tiers])

    def is_applicable(self, product: str) -> bool:
        return normalise_product(product) in self.products

    def tier_for(self, counted_sum_insured: int) -> Tier | None:
        if counted_sum_insured <= 0:
            return None  # no counted cover, no tier, whatever the configured floor
        # The highest tier whose inclusive floor the total reaches.
        i = bisect_right(self._floors, counted_sum_insured)
        return self.tiers[i - 1] if i else None

    def tier(self, code: str) -> Tier:
        try:
            return self._tiers[code]
        except KeyError:
            raise UnknownTier(code) from None

    def service(self, code: str) -> Service:
        try:
            return self._services[code]
        except KeyError:
            raise UnknownService(code) from None
