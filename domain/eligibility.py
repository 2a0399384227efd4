"""What an insured person is entitled to on a date (SPEC §2, manual 三、服务概述).

Everything here is a pure function of the programme, the insured person's
policies (with their dated events), their recorded uses and a calendar date in
the programme's time zone. The edges load those values and render the result.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from operator import attrgetter

from domain.catalogue import Programme, QuotaPeriod, Service, Tier
from domain.policies import Policy, PolicyStatus, Use

ONE_DAY = timedelta(days=1)
EVENT_DAY = attrgetter("on")


class NotCounted(StrEnum):
    """Why a policy's sum insured does not count on a date (first that applies)."""

    NOT_APPLICABLE_PRODUCT = "not_applicable_product"
    COOLING_OFF = "cooling_off"
    NOT_IN_FORCE = "not_in_force"


class NotEntitled(StrEnum):
    """Why a service cannot be used on a date (first that applies)."""

    NO_TIER = "no_tier"
    NOT_IN_TIER = "not_in_tier"
    WAITING_PERIOD = "waiting_period"
    QUOTA_USED = "quota_used"


@dataclass(frozen=True, slots=True)
class PolicyAssessment:
    policy_no: str
    product: str
    sum_insured: int
    status: PolicyStatus
    counted: bool
    reason: NotCounted | None


@dataclass(frozen=True, slots=True)
class ServiceEntitlement:
    service: Service
    entitled: bool
    quota: int | None
    used: int
    remaining: int | None
    designate: tuple[str, ...]
    reason: NotEntitled | None


@dataclass(frozen=True, slots=True)
class Eligibility:
    on: date
    tier: Tier | None
    computed_tier: Tier | None
    counted_sum_insured: int
    service_effective_from: date | None
    existing_customer: bool
    waiting_period_ends: date | None
    in_waiting_period: bool
    period_start: date
    period_end: date
    policies: tuple[PolicyAssessment, ...]
    services: tuple[ServiceEntitlement, ...]

    def service(self, code: str) -> ServiceEntitlement:
        for entitlement in self.services:
            if entitlement.service.code == code:
                return entitlement
        raise KeyError(code)

    def as_dict(self) -> dict:
        """The JSON shape of SPEC §5 (without ``insured_id``, which the caller knows)."""
        return {
            "on": self.on.isoformat(),
            "tier": self.tier.code if self.tier else None,
            "tier_name": self.tier.name if self.tier else None,
            "computed_tier": self.computed_tier.code if self.computed_tier else None,
            "counted_sum_insured": self.counted_sum_insured,
            "service_effective_from": _iso(self.service_effective_from),
            "existing_customer": self.existing_customer,
            "waiting_period_ends": _iso(self.waiting_period_ends),
            "in_waiting_period": self.in_waiting_period,
            "quota_period": {"start": _iso(self.period_start), "end": _iso(self.period_end)},
            "policies": [
                {
                    "policy_no": p.policy_no,
                    "product": p.product,
                    "sum_insured": p.sum_insured,
                    "status": str(p.status),
                    "counted": p.counted,
                    "reason": str(p.reason) if p.reason else None,
                }
                for p in self.policies
            ],
            "services": [
                {
                    "code": s.service.code,
                    "name": s.service.name,
                    "category": s.service.category,
                    "entitled": s.entitled,
                    "reason": str(s.reason) if s.reason else None,
                    "quota": s.quota,
                    "used": s.used,
                    "remaining": s.remaining,
                    "unit": str(s.service.unit),
                    "designate": list(s.designate),
                    "requires_critical_illness": s.service.requires_critical_illness,
                }
                for s in self.services
            ],
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# -- counted sum insured ---------------------------------------------------


def assess_policy(programme: Programme, policy: Policy, on: date) -> PolicyAssessment:
    amount, status = policy.as_of(on)
    if not programme.is_applicable(policy.product):
        reason = NotCounted.NOT_APPLICABLE_PRODUCT
    elif on <= policy.cooling_off_end:
        reason = NotCounted.COOLING_OFF
    elif status is not PolicyStatus.IN_FORCE:
        reason = NotCounted.NOT_IN_FORCE
    else:
        reason = None
    return PolicyAssessment(
        policy_no=policy.policy_no,
        product=policy.product,
        sum_insured=amount,
        status=status,
        counted=reason is None,
        reason=reason,
    )


def counted_sum_insured(programme: Programme, policies: Iterable[Policy], on: date) -> int:
    return sum(a.sum_insured for p in policies if (a := assess_policy(programme, p, on)).counted)


def tier_on(programme: Programme, policies: Iterable[Policy], on: date) -> Tier | None:
    """``T(d)``: the tier the counted sum insured reaches on ``on``."""
    return programme.tier_for(counted_sum_insured(programme, policies, on))


# -- the tier over time ------------------------------------------------------

# A timeline is a sorted list of (first day, value) change points; before the
# first point the value is None (0 for sums). Sums only change when a policy
# leaves its cooling-off period or an event is dated, so one sweep over those
# dates gives S(d) and T(d) for every d without evaluating each day.
Timeline = list[tuple[date, "Tier | None"]]
SumTimeline = list[tuple[date, int]]


def _add_changes(programme: Programme, policy: Policy, deltas: dict[date, int]) -> None:
    """Add to ``deltas`` each day's change in what ``policy`` counts for."""
    if not programme.is_applicable(policy.product) or policy.cooling_off_end >= date.max:
        return
    amount, status = policy.sum_insured, policy.status
    counted = 0
    # Events dated inside cooling-off change the policy but count only from the day after.
    day = policy.cooling_off_end + ONE_DAY
    # A stable sort: same-day events keep the feed's order.
    for event in sorted(policy.events, key=EVENT_DAY):
        if event.on > day:
            now = amount if status is PolicyStatus.IN_FORCE else 0
            if now != counted:
                deltas[day] = deltas.get(day, 0) + now - counted
                counted = now
            day = event.on
        if event.sum_insured is not None:
            amount = event.sum_insured
        if event.status is not None:
            status = event.status
    now = amount if status is PolicyStatus.IN_FORCE else 0
    if now != counted:
        deltas[day] = deltas.get(day, 0) + now - counted


def counted_sum_timeline(programme: Programme, policies: Iterable[Policy]) -> SumTimeline:
    """``S(d)``, the counted sum insured, for all d as change points (0 before the first)."""
    deltas: dict[date, int] = {}
    for policy in policies:
        _add_changes(programme, policy, deltas)
    points: SumTimeline = []
    total = 0
    for day in sorted(deltas):
        change = deltas[day]
        if change:
            total += change
            points.append((day, total))
    return points


def tier_timeline(programme: Programme, policies: Iterable[Policy]) -> Timeline:
    """``T(d)`` for all d, as change points."""
    timeline: Timeline = []
    current: Tier | None = None
    for day, total in counted_sum_timeline(programme, policies):
        tier = programme.tier_for(total)
        # Tiers are the programme's own objects: identity is equality, and cheaper.
        if tier is not current:
            timeline.append((day, tier))
            current = tier
    return timeline


def _lower(a: Tier | None, b: Tier | None) -> Tier | None:
    if a is None or b is None:
        return None
    return a if a.rank <= b.rank else b


def entitled_timeline(tiers: Timeline) -> Timeline:
    """``min(T(d-1), T(d))`` for all d: upgrades wait a day, downgrades do not."""
    points: Timeline = []
    previous: Tier | None = None
    for i, (day, tier) in enumerate(tiers):
        points.append((day, _lower(previous, tier)))
        next_change = tiers[i + 1][0] if i + 1 < len(tiers) else None
        # The day after a change both T(d-1) and T(d) are the new tier, unless
        # the tier changes again that very day (the next point handles it).
        if day < date.max and next_change != day + ONE_DAY:
            points.append((day + ONE_DAY, tier))
        previous = tier
    return _compress(points)


def _compress(points: Timeline) -> Timeline:
    out: Timeline = []
    for day, tier in points:
        if (out[-1][1] if out else None) is not tier:
            out.append((day, tier))
    return out


def value_on(timeline: Timeline, on: date) -> Tier | None:
    i = bisect_right(timeline, on, key=lambda point: point[0])
    return timeline[i - 1][1] if i else None


def entitled_tier(programme: Programme, policies: Iterable[Policy], on: date) -> Tier | None:
    """The tier ``assess`` finds entitled on ``on``, alone: a third of its work, for a
    caller choosing among the people insured (only those with a tier are offered)."""
    return value_on(entitled_timeline(tier_timeline(programme, policies)), on)


def first_entitled_day(entitled: Timeline) -> date | None:
    """The service effective date: the first day with an entitled tier, ever."""
    for day, tier in entitled:
        if tier is not None:
            return day
    return None


# -- quotas ------------------------------------------------------------------


def _anniversary(start: date, year: int) -> date:
    try:
        return start.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def quota_period(programme: Programme, on: date, effective_from: date | None) -> tuple[date, date]:
    """The quota period containing ``on`` (inclusive bounds)."""
    if programme.quota_period is QuotaPeriod.SERVICE_YEAR and effective_from is not None:
        # Also for days before the effective date: the period must contain ``on``.
        start = _anniversary(effective_from, on.year)
        if start > on:
            start = _anniversary(effective_from, on.year - 1)
        end = _anniversary(effective_from, start.year + 1) - ONE_DAY
        return start, end
    return date(on.year, 1, 1), date(on.year, 12, 31)


def entitlement(
    service: Service,
    tier: Tier | None,
    in_waiting_period: bool,
    used: int,
) -> ServiceEntitlement:
    quota = service.quota(tier)
    remaining = None if quota is None else max(0, quota - used)
    if tier is None:
        reason = NotEntitled.NO_TIER
    elif quota == 0:
        reason = NotEntitled.NOT_IN_TIER
    elif in_waiting_period and not service.waiting_period_exempt:
        reason = NotEntitled.WAITING_PERIOD
    elif remaining == 0:
        reason = NotEntitled.QUOTA_USED
    else:
        reason = None
    return ServiceEntitlement(
        service=service,
        entitled=reason is None,
        quota=quota,
        used=used,
        remaining=remaining,
        designate=service.designation_rights(tier),
        reason=reason,
    )


# -- the whole picture ---------------------------------------------------------


def assess(
    programme: Programme,
    policies: Sequence[Policy],
    uses: Iterable[Use],
    on: date,
) -> Eligibility:
    """Everything an agent or the IVR needs to know about one insured person on ``on``."""
    assessments = tuple(assess_policy(programme, p, on) for p in policies)
    counted = sum(a.sum_insured for a in assessments if a.counted)

    tiers = tier_timeline(programme, policies)
    entitled_over_time = entitled_timeline(tiers)
    tier = value_on(entitled_over_time, on)
    effective_from = first_entitled_day(entitled_over_time)

    existing = effective_from is not None and effective_from < programme.launch_date
    if effective_from is None or existing or programme.waiting_period_days <= 0:
        # A zero-day waiting period is none at all, not one that ended the day before E.
        waiting_ends = None
    else:
        waiting_ends = effective_from + timedelta(days=programme.waiting_period_days - 1)
    in_waiting = waiting_ends is not None and effective_from <= on <= waiting_ends

    start, end = quota_period(programme, on, effective_from)
    used: dict[str, int] = {}
    for use in uses:
        if start <= use.on <= end:
            used[use.service] = used.get(use.service, 0) + use.count

    return Eligibility(
        on=on,
        tier=tier,
        computed_tier=programme.tier_for(counted),
        counted_sum_insured=counted,
        service_effective_from=effective_from,
        existing_customer=existing,
        waiting_period_ends=waiting_ends,
        in_waiting_period=in_waiting,
        period_start=start,
        period_end=end,
        policies=assessments,
        services=tuple(
            entitlement(s, tier, in_waiting, used.get(s.code, 0)) for s in programme.services
        ),
    )
