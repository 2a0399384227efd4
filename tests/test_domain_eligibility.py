"""The entitled tier and the service effective date (SPEC §2 服务生效日期).

``T(d)`` is the tier the counted total reaches on d; the customer is entitled to
``min(T(d-1), T(d))``: an upgrade waits a day, a downgrade applies at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain_fixtures import d, event, policy, programme

from domain.eligibility import (
    assess,
    entitled_tier,
    entitled_timeline,
    first_entitled_day,
    tier_timeline,
    value_on,
)

# Counts from 2024-03-16 (cooling-off ends 03-15): T = anxin from 03-16, entitled from 03-17.
BASE = dict(cooling_off_end="2024-03-15")


def entitled(policies, on: str) -> str | None:
    found = assess(programme(), policies, [], d(on)).tier
    return found.code if found else None


def computed(policies, on: str) -> str | None:
    found = assess(programme(), policies, [], d(on)).computed_tier
    return found.code if found else None


def effective_from(policies):
    return assess(programme(), policies, [], d("2030-01-01")).service_effective_from


def test_the_service_takes_effect_the_day_after_the_tier_is_first_reached():
    policies = [policy(200_000, **BASE)]
    assert computed(policies, "2024-03-16") == "anxin"
    assert entitled(policies, "2024-03-16") is None
    assert entitled(policies, "2024-03-17") == "anxin"
    assert effective_from(policies) == d("2024-03-17")


def test_there_is_no_effective_date_without_a_counted_policy():
    assert effective_from([]) is None
    assert effective_from([policy(200_000, status="lapsed")]) is None
    assert effective_from([policy(200_000, product="其他保险")]) is None
    eligibility = assess(programme(), [], [], d("2025-01-01"))
    assert (eligibility.tier, eligibility.service_effective_from) == (None, None)
    assert eligibility.waiting_period_ends is None
    assert not eligibility.in_waiting_period


def test_a_policy_surrendered_the_day_it_would_have_counted_never_takes_effect():
    brief = policy(200_000, **BASE, events=[event("2024-03-17", status="surrendered")])
    assert computed([brief], "2024-03-16") == "anxin"
    assert effective_from([brief]) is None


def test_an_upgrade_takes_effect_the_day_after_it_is_reached():
    policies = [policy(200_000, **BASE), policy(100_000, cooling_off_end="2025-05-09")]
    assert computed(policies, "2025-05-10") == "zunxiang"
    assert entitled(policies, "2025-05-09") == "anxin"
    assert entitled(policies, "2025-05-10") == "anxin"
    assert entitled(policies, "2025-05-11") == "zunxiang"


def test_an_upgrade_over_two_tiers_takes_effect_the_next_day_in_one_step():
    policies = [policy(200_000, **BASE, events=[event("2025-05-10", sum_insured=800_000)])]
    assert entitled(policies, "2025-05-10") == "anxin"
    assert entitled(policies, "2025-05-11") == "haohua"


def test_a_downgrade_takes_effect_at_once():
    policies = [policy(650_000, **BASE, events=[event("2025-05-10", sum_insured=350_000)])]
    assert entitled(policies, "2025-05-09") == "haohua"
    assert entitled(policies, "2025-05-10") == "zunxiang"
    assert entitled(policies, "2025-05-11") == "zunxiang"


def test_losing_every_counted_policy_removes_the_tier_at_once():
    policies = [policy(650_000, **BASE, events=[event("2025-05-10", status="lapsed")])]
    assert entitled(policies, "2025-05-09") == "haohua"
    assert entitled(policies, "2025-05-10") is None


def test_an_upgrade_undone_the_next_day_is_never_entitled():
    policies = [
        policy(
            200_000,
            **BASE,
            events=[
                event("2025-05-10", sum_insured=400_000),
                event("2025-05-11", sum_insured=200_000),
            ],
        )
    ]
    assert [computed(policies, f"2025-05-{n:02d}") for n in (9, 10, 11, 12)] == [
        "anxin",
        "zunxiang",
        "anxin",
        "anxin",
    ]
    assert [entitled(policies, f"2025-05-{n:02d}") for n in (9, 10, 11, 12)] == ["anxin"] * 4


def test_a_downgrade_undone_the_next_day_waits_a_day_to_come_back():
    policies = [
        policy(
            400_000,
            **BASE,
            events=[
                event("2025-05-10", sum_insured=200_000),
                event("2025-05-11", sum_insured=400_000),
            ],
        )
    ]
    assert [entitled(policies, f"2025-05-{n:02d}") for n in (9, 10, 11, 12)] == [
        "zunxiang",
        "anxin",
        "anxin",
        "zunxiang",
    ]


def test_a_tier_lost_for_one_day_comes_back_the_day_after_it_is_reached_again():
    policies = [
        policy(
            400_000,
            **BASE,
            events=[
                event("2025-05-10", status="suspended"),
                event("2025-05-11", status="in_force"),
            ],
        )
    ]
    assert [entitled(policies, f"2025-05-{n:02d}") for n in (9, 10, 11, 12)] == [
        "zunxiang",
        None,
        None,
        "zunxiang",
    ]


def test_the_entitled_timeline_is_the_lower_of_yesterdays_and_todays_tier_on_every_day():
    policies = [
        policy(200_000, **BASE),
        policy(
            150_000, cooling_off_end="2024-04-01", events=[event("2024-04-03", status="lapsed")]
        ),
        policy(
            300_000,
            cooling_off_end="2024-04-02",
            events=[event("2024-04-05", sum_insured=100_000), event("2024-04-07", status="lapsed")],
        ),
    ]
    tiers = tier_timeline(programme(), policies)
    entitled_over_time = entitled_timeline(tiers)
    day = d("2024-03-10")
    while day <= d("2024-04-20"):
        before, today = value_on(tiers, day - timedelta(days=1)), value_on(tiers, day)
        expected = None if before is None or today is None else min(before, today, key=_rank)
        assert value_on(entitled_over_time, day) == expected, day
        day += timedelta(days=1)


def _rank(tier):
    return tier.rank


def test_the_effective_date_is_the_first_entitled_day_even_after_cover_is_lost_and_regained():
    policies = [
        policy(200_000, **BASE, events=[event("2024-06-01", status="surrendered")]),
        policy(200_000, cooling_off_end="2025-02-01"),
    ]
    assert entitled(policies, "2024-12-01") is None
    assert entitled(policies, "2025-02-03") == "anxin"
    assert effective_from(policies) == d("2024-03-17")
    assert first_entitled_day(entitled_timeline(tier_timeline(programme(), policies))) == d(
        "2024-03-17"
    )


@pytest.mark.parametrize("on", ["2024-03-17", "2025-05-10", "2025-05-11"])
def test_the_eligibility_reports_both_the_entitled_and_the_computed_tier(on):
    policies = [policy(200_000, **BASE), policy(100_000, cooling_off_end="2025-05-09")]
    eligibility = assess(programme(), policies, [], d(on))
    assert eligibility.counted_sum_insured == (300_000 if on >= "2025-05-10" else 200_000)
    assert eligibility.computed_tier.code == ("zunxiang" if on >= "2025-05-10" else "anxin")
    assert eligibility.tier.code == ("zunxiang" if on >= "2025-05-11" else "anxin")


@pytest.mark.parametrize(
    "on", ["2024-03-15", "2024-03-17", "2024-06-02", "2025-05-10", "2025-05-11"]
)
def test_the_entitled_tier_alone_is_the_one_the_whole_assessment_finds(on):
    policies = [
        policy(200_000, **BASE, events=[event("2024-06-01", status="surrendered")]),
        policy(100_000, cooling_off_end="2025-05-09"),
        policy(200_000, cooling_off_end="2024-05-01", events=[event("2025-05-10", sum_insured=0)]),
    ]
    whole = assess(programme(), policies, [], d(on))
    assert entitled_tier(programme(), policies, d(on)) == whole.tier
