"""The service catalogue in flows/ against SPEC §2's table and the manual's 注意事项.

The expected values are written out here from the spec, so a change to
services.toml that departs from the manual fails a test rather than going live.
"""

from __future__ import annotations

import pytest
from domain_fixtures import programme, tier

from domain.catalogue import Unit
from domain.exceptions import UnknownService, UnknownTier

U = None  # unlimited
# code: (安心, 尊享, 豪华); 0 = not included ("–")
QUOTAS = {
    "online_consult": (U, U, U),
    "health_e_station": (U, U, U),
    "outpatient_booking": (1, 1, 1),
    "inpatient_fast_track": (0, 1, 1),
    "surgery_fast_track": (0, 1, 1),
    "escort": (1, 1, 1),
    "nursing_carer": (0, 3, 5),
    "transport": (0, 0, 1),
    "second_opinion": (0, 1, 1),
    "mdt": (0, 0, 1),
    "rehab_followup": (4, 4, 4),
    "care_planner": (0, 0, 1),
}
H, HD = ("hospital",), ("hospital", "doctor")
DESIGNATE = {
    "outpatient_booking": ((), H, HD),
    "inpatient_fast_track": ((), H, H),
    "surgery_fast_track": ((), H, HD),
}
TIERS = ("anxin", "zunxiang", "haohua")


def test_the_catalogue_has_the_twelve_services_in_the_manuals_order():
    assert [s.code for s in programme().services] == list(QUOTAS)
    assert [s.name for s in programme().services] == [
        "线上问诊",
        "健康E站",
        "门诊预约",
        "住院绿通",
        "手术绿通",
        "就医陪诊",
        "住院护工陪护",
        "门诊/住院交通",
        "国内二次诊疗",
        "国内MDT多学科会诊",
        "康复随访",
        "就医规划师",
    ]


@pytest.mark.parametrize("code", QUOTAS)
@pytest.mark.parametrize("tier_index", range(3))
def test_each_service_has_the_yearly_quota_the_manual_gives_each_tier(code, tier_index):
    service = programme().service(code)
    assert service.quota(tier(TIERS[tier_index])) == QUOTAS[code][tier_index]


@pytest.mark.parametrize("code", QUOTAS)
def test_without_a_tier_no_service_has_a_quota(code):
    assert programme().service(code).quota(None) == 0
    assert programme().service(code).designation_rights(None) == ()


@pytest.mark.parametrize("code", QUOTAS)
@pytest.mark.parametrize("tier_index", range(3))
def test_designation_rights_follow_the_tier(code, tier_index):
    expected = DESIGNATE.get(code, ((), (), ()))[tier_index]
    assert programme().service(code).designation_rights(tier(TIERS[tier_index])) == expected


def test_a_service_the_tier_does_not_include_grants_no_designation_right():
    # inpatient_fast_track's "hospital" is a 尊享/豪华 right only.
    assert programme().service("inpatient_fast_track").designation_rights(tier("anxin")) == ()


@pytest.mark.parametrize("code", QUOTAS)
def test_every_service_but_the_two_health_care_ones_requires_a_critical_illness(code):
    expected = code not in ("online_consult", "health_e_station")
    assert programme().service(code).requires_critical_illness is expected


@pytest.mark.parametrize("code", QUOTAS)
def test_only_nursing_carer_counts_in_days(code):
    expected = Unit.DAYS if code == "nursing_carer" else Unit.TIMES
    assert programme().service(code).unit is expected


def test_the_health_care_services_are_served_by_sms_link_at_any_hour():
    assert {s.code for s in programme().services if s.sms_link} == {
        "online_consult",
        "health_e_station",
    }


def test_services_are_grouped_in_the_ivr_menus_categories():
    groups: dict[str, list[str]] = {}
    for service in programme().services:
        groups.setdefault(service.category, []).append(service.code)
    assert groups == {
        "health_care": ["online_consult", "health_e_station"],
        "precise_care": [
            "outpatient_booking",
            "inpatient_fast_track",
            "surgery_fast_track",
            "escort",
            "nursing_carer",
            "transport",
            "second_opinion",
        ],
        "care": ["mdt", "rehab_followup", "care_planner"],
    }


# -- when a use counts (注意事项) --------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["inpatient_fast_track", "surgery_fast_track", "second_opinion", "mdt"]
)
def test_fast_tracks_second_opinions_and_mdt_count_once_booked(code):
    assert programme().service(code).usage.counted_when_booked


def test_an_outpatient_booking_counts_unless_cancelled_a_working_day_ahead():
    usage = programme().service("outpatient_booking").usage
    assert not usage.counted_when_booked
    assert usage.cancel_notice_working_days == 1


@pytest.mark.parametrize(
    ("code", "notice"), [("escort", 1), ("transport", 1), ("nursing_carer", 3)]
)
def test_escort_transport_and_nursing_allow_one_reschedule_with_notice(code, notice):
    usage = programme().service(code).usage
    assert usage.cancel_notice_working_days == notice
    assert usage.reschedules_allowed == 1
    assert not usage.counted_when_booked


def test_one_rehab_application_takes_its_four_follow_ups_and_a_carer_booking_all_its_days():
    assert programme().service("rehab_followup").usage.units_per_booking == 4
    assert programme().service("nursing_carer").usage.units_per_booking is None


# -- service-level deadlines (服务流程) --------------------------------------------------------


def deadlines(code: str) -> dict[str, tuple[str, int | None, int | None]]:
    return {
        dl.key: (dl.anchor, dl.working_days, dl.hours) for dl in programme().service(code).deadlines
    }


@pytest.mark.parametrize(
    ("code", "days"),
    [
        ("outpatient_booking", 1),
        ("inpatient_fast_track", 1),
        ("surgery_fast_track", 1),
        ("nursing_carer", 1),
        ("transport", 1),
        ("second_opinion", 1),
        ("mdt", 1),
        ("care_planner", 4),
    ],
)
def test_the_customer_is_contacted_within_one_working_day_or_four_for_the_care_planner(code, days):
    assert deadlines(code)["contact"] == ("request", days, None)


def test_an_escort_request_is_answered_within_an_hour():
    assert deadlines("escort") == {"respond": ("request", None, 1)}


@pytest.mark.parametrize(
    ("code", "booking_days"),
    [("outpatient_booking", 5), ("inpatient_fast_track", 10), ("surgery_fast_track", 10)],
)
def test_bookings_give_feedback_in_three_working_days_and_are_done_in_five_or_ten(
    code, booking_days
):
    found = deadlines(code)
    assert found["feedback"] == ("materials_complete", 3, None)
    assert found["booking"] == ("materials_complete", booking_days, None)


@pytest.mark.parametrize("code", ["second_opinion", "mdt"])
def test_reports_are_due_a_working_day_after_the_consultation(code):
    assert deadlines(code)["report"] == ("consultation", 1, None)


def test_a_carer_is_arranged_within_a_working_day_and_transport_within_three_of_confirmation():
    assert deadlines("nursing_carer")["arranged"] == ("confirmed", 1, None)
    assert deadlines("transport")["arranged"] == ("confirmed", 3, None)


def test_unknown_codes_are_refused_with_a_domain_error():
    with pytest.raises(UnknownService):
        programme().service("massage")
    with pytest.raises(UnknownTier):
        programme().tier("platinum")
