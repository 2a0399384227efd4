"""The 30-day waiting period of new customers (SPEC §2 服务等待期)."""

from __future__ import annotations

import dataclasses

import pytest
from domain_fixtures import d, event, policy, programme

from domain.eligibility import NotEntitled, assess

# Counts from 2025-03-01, so the service effective date E is 2025-03-02:
# waiting days E … E+29 = 03-02 … 03-31, services usable from 04-01.
NEW = dict(cooling_off_end="2025-02-28")
E = d("2025-03-02")


def eligibility(policies, on: str, prog=None):
    return assess(prog or programme(), policies, [], d(on))


@pytest.mark.parametrize(
    ("on", "waiting"),
    [
        ("2025-03-01", False),  # before E: no tier yet, no waiting period either
        ("2025-03-02", True),  # E
        ("2025-03-16", True),
        ("2025-03-31", True),  # E+29
        ("2025-04-01", False),  # E+30
        ("2026-03-02", False),
    ],
)
def test_a_new_customer_waits_thirty_days_counted_from_the_effective_date(on, waiting):
    result = eligibility([policy(200_000, **NEW)], on)
    assert result.service_effective_from == E
    assert result.waiting_period_ends == d("2025-03-31")
    assert not result.existing_customer
    assert result.in_waiting_period is waiting


def test_no_service_is_usable_during_the_waiting_period_and_every_included_one_after_it():
    last_waiting_day = eligibility([policy(200_000, **NEW)], "2025-03-31")
    first_free_day = eligibility([policy(200_000, **NEW)], "2025-04-01")
    for service in last_waiting_day.services:
        assert not service.entitled
        if service.quota != 0:
            assert service.reason is NotEntitled.WAITING_PERIOD, service.service.code
    included = {s.service.code for s in first_free_day.services if s.quota != 0}
    assert {s.service.code for s in first_free_day.services if s.entitled} == included
    assert "online_consult" in included


def test_a_service_marked_exempt_is_usable_during_the_waiting_period():
    base = programme()
    services = tuple(
        dataclasses.replace(s, waiting_period_exempt=True) if s.code == "online_consult" else s
        for s in base.services
    )
    exempting = dataclasses.replace(base, services=services)
    result = eligibility([policy(200_000, **NEW)], "2025-03-02", exempting)
    assert result.service("online_consult").entitled
    assert not result.service("escort").entitled
    assert result.service("escort").reason is NotEntitled.WAITING_PERIOD


def test_no_service_is_exempt_from_the_waiting_period_by_default():
    assert not any(s.waiting_period_exempt for s in programme().services)


def test_a_customer_effective_before_the_launch_date_is_existing_and_never_waits():
    # counts from 2023-12-30, effective 2023-12-31
    result = eligibility([policy(200_000, cooling_off_end="2023-12-29")], "2024-01-01")
    assert result.service_effective_from == d("2023-12-31")
    assert result.existing_customer
    assert result.waiting_period_ends is None
    assert not result.in_waiting_period
    assert result.service("outpatient_booking").entitled


def test_a_customer_effective_exactly_on_the_launch_date_is_new():
    result = eligibility([policy(200_000, cooling_off_end="2023-12-30")], "2024-01-01")
    assert result.service_effective_from == d("2024-01-01") == programme().launch_date
    assert not result.existing_customer
    assert result.waiting_period_ends == d("2024-01-30")
    assert result.in_waiting_period


def test_the_launch_date_is_configuration():
    later_launch = programme(launch_date=d("2025-06-01"))
    result = eligibility([policy(200_000, **NEW)], "2025-03-02", later_launch)
    assert result.existing_customer
    assert not result.in_waiting_period


def test_the_length_of_the_waiting_period_is_configuration():
    shorter = programme(waiting_period_days=10)
    assert eligibility([policy(200_000, **NEW)], "2025-03-11", shorter).in_waiting_period
    result = eligibility([policy(200_000, **NEW)], "2025-03-12", shorter)
    assert result.waiting_period_ends == d("2025-03-11")
    assert not result.in_waiting_period


def test_a_waiting_period_of_zero_days_means_none():
    result = eligibility([policy(200_000, **NEW)], "2025-03-02", programme(waiting_period_days=0))
    assert result.waiting_period_ends is None
    assert not result.in_waiting_period
    assert result.service("outpatient_booking").entitled


def test_an_upgrade_during_the_waiting_period_does_not_extend_it():
    upgraded = [policy(200_000, **NEW, events=[event("2025-03-20", sum_insured=700_000)])]
    result = eligibility(upgraded, "2025-04-01")
    assert result.tier.code == "haohua"
    assert result.waiting_period_ends == d("2025-03-31")
    assert not result.in_waiting_period
    assert result.service("care_planner").entitled


def test_an_upgrade_after_the_waiting_period_does_not_start_a_new_one():
    upgraded = [policy(200_000, **NEW), policy(500_000, cooling_off_end="2025-08-01")]
    result = eligibility(upgraded, "2025-08-03")
    assert result.tier.code == "haohua"
    assert result.service_effective_from == E
    assert not result.in_waiting_period
    assert result.service("mdt").entitled


def test_an_existing_customer_upgrading_after_launch_still_does_not_wait():
    upgraded = [policy(200_000, cooling_off_end="2023-06-01"), policy(500_000, **NEW)]
    result = eligibility(upgraded, "2025-03-02")
    assert result.existing_customer
    assert result.tier.code == "haohua"
    assert result.service("transport").entitled


def test_cover_regained_after_a_gap_keeps_the_first_effective_date_and_its_waiting_period():
    # SPEC: the effective date is the first day ever with an entitled tier.
    policies = [
        policy(200_000, **NEW, events=[event("2025-03-10", status="surrendered")]),
        policy(200_000, cooling_off_end="2025-09-01"),
    ]
    result = eligibility(policies, "2025-09-03")
    assert result.service_effective_from == E
    assert not result.in_waiting_period
    assert result.service("escort").entitled
