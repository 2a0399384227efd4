"""Properties of the rules that must hold for any policy history (hypothesis).

Example counts are kept modest so the suite stays fast; each property still
walks every day of a year and a half where it compares against a direct evaluation.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from domain_fixtures import BASHI, NOT_APPLICABLE, ZHENAI, days, loaded, programme, rank
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalogue import QuotaPeriod
from domain.eligibility import (
    assess,
    counted_sum_insured,
    counted_sum_timeline,
    entitled_timeline,
    first_entitled_day,
    quota_period,
    tier_on,
    tier_timeline,
    value_on,
)
from domain.policies import Policy, PolicyEvent, PolicyStatus, Use, normalise_product
from domain.workdays import WorkingDays

FEW = settings(max_examples=60, deadline=None)
DAY0 = date(2024, 1, 1)
SPAN = 540  # days of history drawn from DAY0
FIRST, LAST = DAY0 - timedelta(days=3), DAY0 + timedelta(days=SPAN + 3)

dates = st.integers(0, SPAN).map(lambda n: DAY0 + timedelta(days=n))
amounts = st.one_of(
    st.sampled_from([0, 1, 100_000, 150_000, 299_999, 300_000, 450_000, 599_999, 600_000]),
    st.integers(0, 1_000_000),
)
statuses = st.one_of(st.just(PolicyStatus.IN_FORCE), st.sampled_from(list(PolicyStatus)))
products = st.sampled_from([BASHI, ZHENAI, "《国宝人寿至享人生 B 款重大疾病保险》", NOT_APPLICABLE])
events = st.builds(
    PolicyEvent,
    on=dates,
    sum_insured=st.none() | amounts,
    status=st.none() | statuses,
)
policies = st.lists(
    st.builds(
        Policy,
        policy_no=st.just("P"),
        product=products,
        sum_insured=amounts,
        cooling_off_end=dates,
        status=statuses,
        events=st.lists(events, max_size=4).map(tuple),
    ),
    max_size=5,
)
service_codes = st.sampled_from([s.code for s in programme().services])
uses = st.lists(
    st.builds(Use, service=service_codes, on=dates, count=st.integers(1, 4)), max_size=8
)


def in_force_policy(amount: int, cooling_off_end: date) -> Policy:
    return Policy("NEW", BASHI, amount, cooling_off_end, PolicyStatus.IN_FORCE)


@FEW
@given(policies, st.integers(1, 1_000_000), dates, dates)
def test_adding_a_counted_policy_never_lowers_the_tier(existing, amount, cooling_off_end, on):
    prog = programme()
    extra = in_force_policy(amount, cooling_off_end)
    more = [*existing, extra]
    assert rank(tier_on(prog, more, on)) >= rank(tier_on(prog, existing, on))
    assert rank(assess(prog, more, [], on).tier) >= rank(assess(prog, existing, [], on).tier)


@FEW
@given(policies)
def test_the_entitled_tier_is_never_above_todays_or_yesterdays_tier(history):
    tiers = tier_timeline(programme(), history)
    entitled = entitled_timeline(tiers)
    for day in days(FIRST, LAST):
        today, yesterday = value_on(tiers, day), value_on(tiers, day - timedelta(days=1))
        assert rank(value_on(entitled, day)) == min(rank(today), rank(yesterday))


@FEW
@given(policies, dates)
def test_the_assessed_tier_is_never_above_the_computed_one(history, on):
    result = assess(programme(), history, [], on)
    assert rank(result.tier) <= rank(result.computed_tier)
    assert rank(result.tier) <= rank(tier_on(programme(), history, on - timedelta(days=1)))
    assert result.counted_sum_insured == counted_sum_insured(programme(), history, on)


@FEW
@given(policies)
def test_the_timelines_agree_with_evaluating_every_day_directly(history):
    prog = programme()
    sums = counted_sum_timeline(prog, history)
    tiers = tier_timeline(prog, history)
    assert [day for day, _ in sums] == sorted({day for day, _ in sums})
    for day in days(FIRST, LAST):
        direct = counted_sum_insured(prog, history, day)
        index = [point for point in sums if point[0] <= day]
        assert (index[-1][1] if index else 0) == direct, day
        assert value_on(tiers, day) is tier_on(prog, history, day), day


@FEW
@given(policies)
def test_the_effective_date_is_the_first_day_with_an_entitled_tier(history):
    entitled = entitled_timeline(tier_timeline(programme(), history))
    effective = first_entitled_day(entitled)
    for day in days(FIRST, LAST):
        if effective is None or day < effective:
            assert value_on(entitled, day) is None, day
        elif day == effective:
            assert value_on(entitled, day) is not None
    assert assess(programme(), history, [], LAST).service_effective_from == effective


@FEW
@given(policies, uses, dates)
def test_remaining_is_never_negative_nor_above_the_quota(history, recorded, on):
    for found in assess(programme(), history, recorded, on).services:
        if found.quota is None:
            assert found.remaining is None
        else:
            assert 0 <= found.remaining <= found.quota
            assert found.remaining == max(0, found.quota - found.used)
        if found.entitled:
            assert found.remaining is None or found.remaining > 0


@FEW
@given(
    policies, uses, st.builds(Use, service=service_codes, on=dates, count=st.integers(1, 4)), dates
)
def test_recording_another_use_never_increases_what_remains(history, recorded, extra, on):
    before = assess(programme(), history, recorded, on)
    after = assess(programme(), history, [*recorded, extra], on)
    for was, now in zip(before.services, after.services, strict=True):
        assert now.used >= was.used
        if was.remaining is None:
            assert now.remaining is None
        else:
            assert now.remaining <= was.remaining
        assert now.entitled <= was.entitled


@FEW
@given(policies, uses, dates)
def test_the_waiting_period_is_thirty_days_from_the_effective_date_for_new_customers(
    history, recorded, on
):
    result = assess(programme(), history, recorded, on)
    effective = result.service_effective_from
    if effective is None or effective < programme().launch_date:
        assert result.waiting_period_ends is None and not result.in_waiting_period
    else:
        assert result.waiting_period_ends == effective + timedelta(days=29)
        assert result.in_waiting_period is (effective <= on <= result.waiting_period_ends)


@FEW
@given(policies, uses, dates)
def test_the_eligibility_always_serialises_to_json(history, recorded, on):
    shaped = json.loads(json.dumps(assess(programme(), history, recorded, on).as_dict()))
    assert shaped["on"] == on.isoformat()
    assert len(shaped["services"]) == 12
    assert len(shaped["policies"]) == len(history)


@FEW
@given(st.integers(0, 3000).map(lambda n: date(2020, 1, 1) + timedelta(days=n)), dates)
def test_a_service_year_always_contains_the_date_and_lasts_a_year(on, effective):
    prog = programme(quota_period=QuotaPeriod.SERVICE_YEAR)
    start, end = quota_period(prog, on, effective)
    assert start <= on <= end
    assert 364 <= (end - start).days <= 365


# What product names in a feed are made of: CJK, ASCII and full-width forms, brackets,
# book-title marks and all kinds of spaces.
name_characters = st.sampled_from(
    list("国宝人寿巴适一生终身重大疾病保险智选版至享Bb款互联网")
    + list("《》()（）[]【】ＡＢｂ１2 \u3000\u00a0\t·-")
)


@FEW
@given(st.text(name_characters, max_size=30))
def test_normalising_a_product_name_is_idempotent(name):
    once = normalise_product(name)
    assert normalise_product(once) == once


@FEW
@given(
    st.integers(0, 3 * 365 - 40).map(lambda n: date(2024, 1, 1) + timedelta(days=n)),
    st.integers(0, 15),
)
def test_the_nth_working_day_after_a_date_has_n_working_days_up_to_it(start, n):
    calendar = WorkingDays()
    due = calendar.add(start, n)
    assert calendar.count_before(start + timedelta(days=1), due + timedelta(days=1)) == n
    if n:
        assert calendar.is_working_day(due)


@FEW
@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31)),
    st.sampled_from(["medical", "policy"]),
)
def test_the_next_opening_is_open_and_nothing_earlier_after_the_moment_is(moment, code):
    line = loaded().line(code)
    opening = line.next_opening(moment)
    assert opening >= moment
    assert line.is_open(opening)
    assert not line.is_open(opening - timedelta(microseconds=1))
    if not line.is_open(moment):
        # closed from the moment until the opening
        assert opening.date() - moment.date() <= timedelta(days=1)
        assert all(
            not line.is_open(datetime.combine(moment.date(), time(h)))
            for h in range(24)
            if moment < datetime.combine(moment.date(), time(h)) < opening
        )
    else:
        assert line.closes_at(moment) > moment
