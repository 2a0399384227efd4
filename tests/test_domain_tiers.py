"""Counted sum insured and the tier it reaches (SPEC §2, manual 三、(一)(二))."""

from __future__ import annotations

import pytest
from domain_fixtures import (
    BASHI,
    MANUAL_PRODUCTS,
    NOT_APPLICABLE,
    ZHENAI,
    d,
    event,
    policy,
    programme,
)

from domain.eligibility import NotCounted, assess_policy, counted_sum_insured, tier_on
from domain.policies import PolicyStatus, normalise_product

NOT_IN_FORCE = [s for s in PolicyStatus if s is not PolicyStatus.IN_FORCE]


def counted(policies, on: str) -> int:
    return counted_sum_insured(programme(), policies, d(on))


def tier_code(policies, on: str) -> str | None:
    found = tier_on(programme(), policies, d(on))
    return found.code if found else None


# -- tier boundaries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (-1, None),
        (0, None),
        (1, "anxin"),
        (100_000, "anxin"),
        (299_999, "anxin"),
        (300_000, "zunxiang"),
        (599_999, "zunxiang"),
        (600_000, "haohua"),
        (5_000_000, "haohua"),
    ],
)
def test_the_tier_follows_the_counted_total_with_boundaries_in_the_customers_favour(
    total, expected
):
    found = programme().tier_for(total)
    assert (found.code if found else None) == expected


def test_tiers_rank_from_anxin_to_haohua():
    tiers = programme().tiers
    assert [t.code for t in tiers] == ["anxin", "zunxiang", "haohua"]
    assert [t.name for t in tiers] == ["安心档", "尊享档", "豪华档"]
    assert [t.rank for t in tiers] == [0, 1, 2]


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ((150_000, 149_999), "anxin"),
        ((150_000, 150_000), "zunxiang"),
        ((300_000, 299_999), "zunxiang"),
        ((300_000, 300_000), "haohua"),
        ((100_000, 200_000, 300_000), "haohua"),
    ],
)
def test_the_tier_is_reached_by_the_total_over_all_counted_policies(amounts, expected):
    policies = [policy(a) for a in amounts]
    assert counted(policies, "2025-01-01") == sum(amounts)
    assert tier_code(policies, "2025-01-01") == expected


def test_no_counted_policy_means_no_tier():
    assert tier_code([], "2025-01-01") is None
    assert tier_code([policy(0)], "2025-01-01") is None


# -- applicable products -------------------------------------------------------------------


@pytest.mark.parametrize("name", MANUAL_PRODUCTS)
def test_each_product_named_in_the_manual_is_applicable(name):
    assert programme().is_applicable(name)


def test_the_configured_products_are_the_manuals_eight():
    assert len(programme().products) == 8
    assert programme().products == {normalise_product(p) for p in MANUAL_PRODUCTS}


@pytest.mark.parametrize(
    "spelling",
    [
        "国宝人寿巴适一生终身重大疾病保险（智选版）",
        "国宝人寿巴适一生终身重大疾病保险(智选版)",
        "《国宝人寿巴适一生终身重大疾病保险》(智选版)",
        "《国宝人寿巴适一生终身重大疾病保险（智选版）》",
        " 国宝人寿巴适一生终身重大疾病保险 （ 智选版 ） ",
        "国宝人寿巴适一生终身重大疾病保险\u3000（智选版）",
    ],
)
def test_product_names_match_after_nfkc_ignoring_spaces_and_book_title_marks(spelling):
    assert normalise_product(spelling) == normalise_product(
        "国宝人寿巴适一生终身重大疾病保险（智选版）"
    )
    assert programme().is_applicable(spelling)


@pytest.mark.parametrize(
    "spelling",
    [
        "国宝人寿至享人生Ｂ款重大疾病保险",
        "国宝人寿至享人生 B 款重大疾病保险",
        "至臻守护重大疾病保险（互联网）",
    ],
)
def test_full_width_letters_and_brackets_are_the_same_as_half_width(spelling):
    assert programme().is_applicable(spelling)


@pytest.mark.parametrize(
    "name",
    [
        NOT_APPLICABLE,
        "国宝人寿巴适一生终身重大疾病保险（尊享版）",
        "国宝人寿至享人生C款重大疾病保险",
        "巴适一生终身重大疾病保险",
        "",
    ],
)
def test_other_products_are_not_applicable(name):
    assert not programme().is_applicable(name)


def test_normalising_a_product_name_twice_changes_nothing():
    once = normalise_product("《《国宝人寿真爱你重大疾病保险》》")
    assert normalise_product(once) == once == normalise_product(ZHENAI)


def test_a_policy_of_another_product_never_counts():
    other = policy(500_000, product=NOT_APPLICABLE, cooling_off_end="2024-01-01")
    assert counted([other], "2025-06-01") == 0
    assert tier_code([other], "2025-06-01") is None
    assert counted([other, policy(100_000)], "2025-06-01") == 100_000


def test_a_policy_of_another_product_is_reported_as_such_before_any_other_reason():
    other = policy(
        500_000, product=NOT_APPLICABLE, cooling_off_end="2025-12-31", status="surrendered"
    )
    assessed = assess_policy(programme(), other, d("2025-06-01"))
    assert not assessed.counted
    assert assessed.reason is NotCounted.NOT_APPLICABLE_PRODUCT


# -- cooling-off ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "amount"),
    [("2024-03-14", 0), ("2024-03-15", 0), ("2024-03-16", 200_000), ("2030-01-01", 200_000)],
)
def test_a_policy_counts_from_the_day_after_its_cooling_off_ends(on, amount):
    assert counted([policy(200_000, cooling_off_end="2024-03-15")], on) == amount


def test_a_policy_on_the_last_day_of_cooling_off_is_reported_as_cooling_off():
    assessed = assess_policy(programme(), policy(cooling_off_end="2024-03-15"), d("2024-03-15"))
    assert (assessed.counted, assessed.reason) == (False, NotCounted.COOLING_OFF)
    after = assess_policy(programme(), policy(cooling_off_end="2024-03-15"), d("2024-03-16"))
    assert (after.counted, after.reason) == (True, None)


# -- status --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", NOT_IN_FORCE)
def test_a_policy_issued_in_a_state_other_than_in_force_does_not_count(status):
    issued = policy(200_000, status=status)
    assert counted([issued], "2025-01-01") == 0
    assessed = assess_policy(programme(), issued, d("2025-01-01"))
    assert assessed.reason is NotCounted.NOT_IN_FORCE
    assert assessed.status is status


@pytest.mark.parametrize("status", NOT_IN_FORCE)
def test_a_policy_stops_counting_on_the_day_it_leaves_force(status):
    leaving = policy(200_000, events=[event("2025-02-01", status=status)])
    assert counted([leaving], "2025-01-31") == 200_000
    assert counted([leaving], "2025-02-01") == 0
    assert counted([leaving], "2026-01-01") == 0


def test_a_suspended_policy_counts_again_from_the_day_it_is_reinstated():
    suspended = policy(
        200_000,
        events=[event("2025-02-01", status="suspended"), event("2025-04-10", status="in_force")],
    )
    assert counted([suspended], "2025-04-09") == 0
    assert counted([suspended], "2025-04-10") == 200_000


# -- events (保全) ---------------------------------------------------------------------------


def test_a_reduction_and_an_increase_take_effect_on_their_dates():
    endorsed = policy(
        400_000,
        events=[event("2025-03-01", sum_insured=250_000), event("2025-09-01", sum_insured=700_000)],
    )
    assert [tier_code([endorsed], on) for on in ("2025-02-28", "2025-03-01")] == [
        "zunxiang",
        "anxin",
    ]
    assert counted([endorsed], "2025-08-31") == 250_000
    assert counted([endorsed], "2025-09-01") == 700_000
    assert tier_code([endorsed], "2025-09-01") == "haohua"


def test_the_reported_sum_insured_is_the_latest_as_of_the_date():
    endorsed = policy(400_000, events=[event("2025-03-01", sum_insured=250_000)])
    assert assess_policy(programme(), endorsed, d("2025-02-28")).sum_insured == 400_000
    assert assess_policy(programme(), endorsed, d("2025-03-01")).sum_insured == 250_000


def test_an_event_dated_inside_cooling_off_applies_but_counts_only_after_cooling_off():
    raised = policy(
        100_000, cooling_off_end="2024-03-15", events=[event("2024-03-10", sum_insured=300_000)]
    )
    assert counted([raised], "2024-03-15") == 0
    assert counted([raised], "2024-03-16") == 300_000


def test_a_policy_surrendered_inside_cooling_off_never_counts():
    surrendered = policy(
        300_000, cooling_off_end="2024-03-15", events=[event("2024-03-05", status="surrendered")]
    )
    assert counted([surrendered], "2024-03-16") == 0
    assert counted([surrendered], "2026-01-01") == 0


def test_an_event_on_the_day_counting_starts_applies_that_day():
    raised = policy(
        100_000, cooling_off_end="2024-03-15", events=[event("2024-03-16", sum_insured=300_000)]
    )
    assert counted([raised], "2024-03-16") == 300_000


def test_events_listed_out_of_date_order_apply_by_date():
    shuffled = policy(
        100_000,
        events=[event("2025-09-01", sum_insured=700_000), event("2025-03-01", sum_insured=250_000)],
    )
    assert counted([shuffled], "2025-03-01") == 250_000
    assert counted([shuffled], "2025-09-01") == 700_000


def test_same_day_events_apply_in_feed_order():
    one_way = policy(
        100_000,
        events=[event("2025-03-01", sum_insured=400_000), event("2025-03-01", sum_insured=500_000)],
    )
    other_way = policy(
        100_000,
        events=[event("2025-03-01", sum_insured=500_000), event("2025-03-01", sum_insured=400_000)],
    )
    assert counted([one_way], "2025-03-01") == 500_000
    assert counted([other_way], "2025-03-01") == 400_000


def test_same_day_status_changes_apply_in_feed_order():
    reinstated = policy(
        200_000,
        events=[event("2025-03-01", status="lapsed"), event("2025-03-01", status="in_force")],
    )
    lapsed = policy(
        200_000,
        events=[event("2025-03-01", status="in_force"), event("2025-03-01", status="lapsed")],
    )
    assert counted([reinstated], "2025-03-01") == 200_000
    assert counted([lapsed], "2025-03-01") == 0


def test_an_event_changing_only_the_status_keeps_the_sum_insured():
    lapse_and_back = policy(
        350_000,
        events=[event("2025-03-01", status="lapsed"), event("2025-05-01", status="in_force")],
    )
    assert counted([lapse_and_back], "2025-05-01") == 350_000


def test_a_not_in_force_policy_still_reports_its_sum_insured_and_status():
    lapsed = policy(350_000, events=[event("2025-03-01", status="lapsed")])
    assessed = assess_policy(programme(), lapsed, d("2025-03-02"))
    assert (assessed.sum_insured, assessed.status, assessed.counted) == (
        350_000,
        PolicyStatus.LAPSED,
        False,
    )


def test_counted_and_uncounted_policies_of_one_insured_add_up_correctly():
    policies = [
        policy(200_000, product=BASHI),
        policy(150_000, product=ZHENAI, cooling_off_end="2025-01-10"),
        policy(900_000, product=NOT_APPLICABLE),
        policy(100_000, status="lapsed"),
    ]
    assert counted(policies, "2025-01-10") == 200_000
    assert counted(policies, "2025-01-11") == 350_000
    assert tier_code(policies, "2025-01-11") == "zunxiang"
