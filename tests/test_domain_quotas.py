"""Quotas, uses and remaining entitlements per insured person (SPEC §2 Quotas, §5 shape)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from domain_fixtures import d, days, event, policy, programme, use

from domain.catalogue import QuotaPeriod
from domain.eligibility import NotEntitled, assess, entitlement, quota_period

# Existing customers (effective 2023-06-03, before launch): no waiting period in the way.
OLD = dict(cooling_off_end="2023-06-01")
ANXIN, ZUNXIANG, HAOHUA = 200_000, 400_000, 700_000
SERVICE_YEAR = programme(quota_period=QuotaPeriod.SERVICE_YEAR)


def service_on(amount: int, uses, on: str, code: str, prog=None):
    return assess(prog or programme(), [policy(amount, **OLD)], uses, d(on)).service(code)


def remaining(amount: int, uses, on: str, code: str, prog=None):
    return service_on(amount, uses, on, code, prog).remaining


# -- calendar year -------------------------------------------------------------------------


def test_the_default_quota_period_is_the_calendar_year():
    assert programme().quota_period is QuotaPeriod.CALENDAR_YEAR
    assert quota_period(programme(), d("2025-12-31"), d("2024-05-05")) == (
        d("2025-01-01"),
        d("2025-12-31"),
    )
    assert quota_period(programme(), d("2026-01-01"), None) == (d("2026-01-01"), d("2026-12-31"))


def test_a_use_on_the_last_day_of_a_year_does_not_count_against_the_next():
    uses = [use("outpatient_booking", "2025-12-31")]
    assert remaining(ANXIN, uses, "2025-12-31", "outpatient_booking") == 0
    assert remaining(ANXIN, uses, "2026-01-01", "outpatient_booking") == 1


def test_a_use_on_new_years_day_counts_in_the_new_year_only():
    uses = [use("outpatient_booking", "2026-01-01")]
    assert remaining(ANXIN, uses, "2025-12-31", "outpatient_booking") == 1
    assert remaining(ANXIN, uses, "2026-01-01", "outpatient_booking") == 0
    assert remaining(ANXIN, uses, "2026-12-31", "outpatient_booking") == 0


def test_every_use_recorded_in_the_period_counts_including_later_ones():
    # A booking recorded for March already takes the year's quota in January.
    uses = [use("escort", "2025-03-20")]
    assert remaining(ANXIN, uses, "2025-01-15", "escort") == 0


def test_uses_of_other_services_do_not_count():
    uses = [use("escort", "2025-03-20"), use("unknown_service", "2025-03-20")]
    assert remaining(ANXIN, uses, "2025-05-01", "outpatient_booking") == 1


def test_the_eligibility_reports_the_period_it_counted_uses_in():
    result = assess(programme(), [policy(ANXIN, **OLD)], [], d("2025-07-01"))
    assert (result.period_start, result.period_end) == (d("2025-01-01"), d("2025-12-31"))


# -- service year --------------------------------------------------------------------------


def test_a_service_year_runs_from_the_effective_date_anniversary():
    # effective 2025-03-02
    policies = [policy(ANXIN, cooling_off_end="2025-02-28")]
    uses = [use("escort", "2026-03-01")]
    on_last_day = assess(SERVICE_YEAR, policies, uses, d("2026-03-01"))
    assert (on_last_day.period_start, on_last_day.period_end) == (
        d("2025-03-02"),
        d("2026-03-01"),
    )
    assert on_last_day.service("escort").remaining == 0
    assert assess(SERVICE_YEAR, policies, uses, d("2026-03-02")).service("escort").remaining == 1


def test_a_service_year_spans_new_year():
    policies = [policy(ANXIN, cooling_off_end="2025-02-28")]
    uses = [use("escort", "2025-12-20")]
    assert assess(SERVICE_YEAR, policies, uses, d("2026-01-10")).service("escort").remaining == 0
    assert assess(programme(), policies, uses, d("2026-01-10")).service("escort").remaining == 1


@pytest.mark.parametrize(
    ("on", "start", "end"),
    [
        ("2024-02-29", "2024-02-29", "2025-02-27"),
        ("2025-02-27", "2024-02-29", "2025-02-27"),
        ("2025-02-28", "2025-02-28", "2026-02-27"),
        ("2027-12-31", "2027-02-28", "2028-02-28"),
        ("2028-02-28", "2027-02-28", "2028-02-28"),
        ("2028-02-29", "2028-02-29", "2029-02-27"),
    ],
)
def test_a_29_february_anniversary_falls_on_28_february_in_common_years(on, start, end):
    assert quota_period(SERVICE_YEAR, d(on), d("2024-02-29")) == (d(start), d(end))


@pytest.mark.parametrize("effective", ["2024-02-29", "2025-03-02", "2023-12-31", "2024-01-01"])
def test_service_years_follow_each_other_without_gap_or_overlap(effective):
    e = d(effective)
    previous = None
    for day in days(d("2023-01-01"), d("2033-12-31")):
        start, end = quota_period(SERVICE_YEAR, day, e)
        assert start <= day <= end
        if previous is not None and previous != (start, end):
            assert start == previous[1] + timedelta(days=1)
        previous = (start, end)


def test_before_the_effective_date_the_service_year_still_contains_the_date_asked():
    assert quota_period(SERVICE_YEAR, d("2025-01-10"), d("2025-03-02")) == (
        d("2024-03-02"),
        d("2025-03-01"),
    )


def test_without_an_effective_date_a_service_year_programme_counts_calendar_years():
    assert quota_period(SERVICE_YEAR, d("2025-07-01"), None) == (
        d("2025-01-01"),
        d("2025-12-31"),
    )


# -- remaining and entitled ----------------------------------------------------------------


def test_remaining_never_goes_below_zero():
    uses = [use("outpatient_booking", "2025-02-01"), use("outpatient_booking", "2025-03-01", 2)]
    found = service_on(ANXIN, uses, "2025-05-01", "outpatient_booking")
    assert (found.quota, found.used, found.remaining) == (1, 3, 0)
    assert not found.entitled
    assert found.reason is NotEntitled.QUOTA_USED


def test_a_service_with_quota_left_is_entitled():
    found = service_on(ZUNXIANG, [], "2025-05-01", "second_opinion")
    assert (found.entitled, found.reason, found.quota, found.used, found.remaining) == (
        True,
        None,
        1,
        0,
        1,
    )


@pytest.mark.parametrize(
    ("amount", "used_days", "expected"),
    [(ZUNXIANG, 0, 3), (ZUNXIANG, 2, 1), (ZUNXIANG, 3, 0), (HAOHUA, 3, 2), (HAOHUA, 5, 0)],
)
def test_nursing_carer_quota_and_uses_are_in_days(amount, used_days, expected):
    uses = [use("nursing_carer", "2025-04-01", used_days)] if used_days else []
    found = service_on(amount, uses, "2025-05-01", "nursing_carer")
    assert found.remaining == expected
    assert found.used == used_days
    assert found.entitled is (expected > 0)
    assert str(found.service.unit) == "days"


def test_rehab_followup_grants_four_follow_ups_a_year():
    uses = [use("rehab_followup", "2025-02-01", 4)]
    assert remaining(ANXIN, [], "2025-05-01", "rehab_followup") == 4
    assert remaining(ANXIN, uses, "2025-05-01", "rehab_followup") == 0


@pytest.mark.parametrize("code", ["online_consult", "health_e_station"])
def test_an_unlimited_service_has_no_quota_and_no_remaining_count_however_often_used(code):
    uses = [use(code, "2025-01-01", 500)]
    found = service_on(ANXIN, uses, "2025-05-01", code)
    assert (found.quota, found.remaining, found.used) == (None, None, 500)
    assert found.entitled


def test_a_service_the_tier_does_not_include_has_quota_zero():
    found = service_on(ANXIN, [], "2025-05-01", "inpatient_fast_track")
    assert (found.quota, found.remaining, found.entitled) == (0, 0, False)
    assert found.reason is NotEntitled.NOT_IN_TIER
    assert found.designate == ()


def test_without_a_tier_nothing_is_entitled():
    result = assess(programme(), [policy(ANXIN, status="lapsed")], [], d("2025-05-01"))
    assert result.tier is None
    for found in result.services:
        assert not found.entitled
        assert found.reason is NotEntitled.NO_TIER
        assert (found.quota, found.remaining) == (0, 0)


def test_the_first_reason_that_applies_is_reported():
    svc = programme().service("outpatient_booking")
    assert entitlement(svc, None, True, 5).reason is NotEntitled.NO_TIER
    transport = programme().service("transport")
    assert entitlement(transport, programme().tier("anxin"), True, 0).reason is (
        NotEntitled.NOT_IN_TIER
    )
    assert entitlement(svc, programme().tier("anxin"), True, 5).reason is (
        NotEntitled.WAITING_PERIOD
    )
    assert entitlement(svc, programme().tier("anxin"), False, 5).reason is NotEntitled.QUOTA_USED


def test_remaining_uses_the_quota_of_the_tier_entitled_on_the_date_asked():
    reduced = [
        policy(HAOHUA, **OLD, events=[event("2025-06-01", sum_insured=ZUNXIANG)]),
    ]
    uses = [use("nursing_carer", "2025-03-01", 4)]
    before = assess(programme(), reduced, uses, d("2025-05-31")).service("nursing_carer")
    after = assess(programme(), reduced, uses, d("2025-06-01")).service("nursing_carer")
    assert (before.quota, before.remaining, before.entitled) == (5, 1, True)
    assert (after.quota, after.remaining, after.entitled) == (3, 0, False)


def test_an_upgrade_adds_quota_only_from_the_day_after():
    raised = [policy(ANXIN, **OLD, events=[event("2025-06-01", sum_insured=HAOHUA)])]
    assert assess(programme(), raised, [], d("2025-06-01")).service("mdt").quota == 0
    assert assess(programme(), raised, [], d("2025-06-02")).service("mdt").quota == 1


# -- the JSON shape (SPEC §5) --------------------------------------------------------------

SPEC_TOP = {
    "on",
    "tier",
    "counted_sum_insured",
    "service_effective_from",
    "waiting_period_ends",
    "in_waiting_period",
    "policies",
    "services",
}
SPEC_POLICY = {"policy_no", "product", "sum_insured", "counted", "reason"}
SPEC_SERVICE = {
    "code",
    "name",
    "entitled",
    "quota",
    "used",
    "remaining",
    "unit",
    "designate",
    "requires_critical_illness",
}


def _is_iso_date_or_none(value) -> bool:
    return value is None or (isinstance(value, str) and date.fromisoformat(value) is not None)


def sample():
    policies = [
        policy(ZUNXIANG, cooling_off_end="2025-02-28", policy_no="A001"),
        policy(100_000, cooling_off_end="2025-06-30", policy_no="A002"),
        policy(100_000, product="其他保险", policy_no="A003"),
        policy(100_000, status="lapsed", policy_no="A004"),
    ]
    uses = [use("nursing_carer", "2025-03-20", 2), use("online_consult", "2025-03-21")]
    return assess(programme(), policies, uses, d("2025-03-25")).as_dict()


def test_the_eligibility_serialises_to_the_spec_json_shape():
    shaped = json.loads(json.dumps(sample(), ensure_ascii=False))
    assert set(shaped) >= SPEC_TOP
    assert shaped["on"] == "2025-03-25"
    assert shaped["tier"] == "zunxiang"
    assert shaped["counted_sum_insured"] == ZUNXIANG
    assert shaped["service_effective_from"] == "2025-03-02"
    assert shaped["waiting_period_ends"] == "2025-03-31"
    assert shaped["in_waiting_period"] is True
    assert [p["policy_no"] for p in shaped["policies"]] == ["A001", "A002", "A003", "A004"]
    assert [(p["counted"], p["reason"]) for p in shaped["policies"]] == [
        (True, None),
        (False, "cooling_off"),
        (False, "not_applicable_product"),
        (False, "not_in_force"),
    ]
    assert [s["code"] for s in shaped["services"]] == [s.code for s in programme().services]


def test_every_value_in_the_json_has_the_spec_type():
    shaped = sample()
    assert shaped["tier"] in ("anxin", "zunxiang", "haohua", None)
    assert type(shaped["counted_sum_insured"]) is int
    assert _is_iso_date_or_none(shaped["service_effective_from"])
    assert _is_iso_date_or_none(shaped["waiting_period_ends"])
    assert type(shaped["in_waiting_period"]) is bool
    for item in shaped["policies"]:
        assert set(item) >= SPEC_POLICY
        assert type(item["policy_no"]) is str and type(item["product"]) is str
        assert type(item["sum_insured"]) is int
        assert type(item["counted"]) is bool
        assert item["reason"] in (None, "cooling_off", "not_in_force", "not_applicable_product")
    for item in shaped["services"]:
        assert set(item) >= SPEC_SERVICE
        assert type(item["code"]) is str and type(item["name"]) is str
        assert type(item["entitled"]) is bool
        assert item["quota"] is None or type(item["quota"]) is int
        assert item["remaining"] is None or type(item["remaining"]) is int
        assert (item["quota"] is None) == (item["remaining"] is None)
        assert type(item["used"]) is int
        assert item["unit"] in ("times", "days")
        assert type(item["designate"]) is list
        assert set(item["designate"]) <= {"hospital", "doctor"}
        assert type(item["requires_critical_illness"]) is bool


def test_the_json_reports_units_quotas_and_rights_per_service():
    by_code = {s["code"]: s for s in sample()["services"]}
    carer = by_code["nursing_carer"]
    assert (carer["unit"], carer["quota"], carer["used"], carer["remaining"]) == ("days", 3, 2, 1)
    assert carer["entitled"] is False  # in the waiting period
    assert (by_code["online_consult"]["quota"], by_code["online_consult"]["used"]) == (None, 1)
    assert by_code["transport"]["quota"] == 0
    assert by_code["outpatient_booking"]["designate"] == ["hospital"]
    assert by_code["online_consult"]["requires_critical_illness"] is False
    assert by_code["mdt"]["requires_critical_illness"] is True
