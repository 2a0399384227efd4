"""Builders shared by the domain tests: the real programme from ``flows/`` and short makers.

Imported as a plain module (``from domain_fixtures import ...``); pytest puts ``tests/``
on the path. Kept out of conftest.py, which holds the application's fixtures.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from functools import cache

import flows
from domain.catalogue import Programme, Tier
from domain.policies import Policy, PolicyEvent, PolicyStatus, Use

BASHI = "国宝人寿巴适一生终身重大疾病保险"
ZHENAI = "国宝人寿真爱你重大疾病保险"
NOT_APPLICABLE = "国宝人寿附加意外伤害保险"

# The manual's 三、(二) 适用险种, spelt the way the manual prints them.
MANUAL_PRODUCTS = (
    "《国宝人寿巴适一生终身重大疾病保险》",
    "《国宝人寿巴适一生终身重大疾病保险》（智选版）",
    "《国宝人寿真爱你重大疾病保险》",
    "《国宝人寿安逸一生重大疾病保险》",
    "《至臻守护重大疾病保险(互联网)》",
    "《国宝人寿至享人生重大疾病保险》",
    "《国宝人寿至享人生 B 款重大疾病保险》",
    "《国宝人寿至享逸生重大疾病保险》",
)

# Tier ranks for comparisons; "no tier" is below every tier.
NO_TIER = -1


@cache
def loaded() -> flows.Flows:
    return flows.load()


def programme(**changes) -> Programme:
    """The programme as configured in flows/, optionally with some settings changed."""
    base = loaded().programme
    return dataclasses.replace(base, **changes) if changes else base


def tier(code: str) -> Tier:
    return programme().tier(code)


def rank(value: Tier | None) -> int:
    return NO_TIER if value is None else value.rank


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(start: date, end: date):
    """Every day from ``start`` to ``end`` inclusive."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def event(on: str | date, sum_insured: int | None = None, status: str | None = None):
    return PolicyEvent(
        on=d(on) if isinstance(on, str) else on,
        sum_insured=sum_insured,
        status=PolicyStatus(status) if status else None,
    )


_numbers = iter(range(1, 10**9))


def policy(
    sum_insured: int = 100_000,
    *,
    cooling_off_end: str | date = "2024-03-15",
    status: str = "in_force",
    product: str = BASHI,
    events=(),
    policy_no: str | None = None,
) -> Policy:
    return Policy(
        policy_no=policy_no or f"T{next(_numbers):06d}",
        product=product,
        sum_insured=sum_insured,
        cooling_off_end=d(cooling_off_end) if isinstance(cooling_off_end, str) else cooling_off_end,
        status=PolicyStatus(status),
        events=tuple(events),
    )


def use(service: str, on: str | date, count: int = 1) -> Use:
    return Use(service=service, on=d(on) if isinstance(on, str) else on, count=count)
