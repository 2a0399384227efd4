"""The demo data set shows every case on whatever day `hotline serve --demo` runs."""

from __future__ import annotations

import json
from datetime import date, datetime

import phonenumbers
import pytest

from hotline import demo
from runtime import current_flows
from storage import db, repository


@pytest.mark.parametrize(
    "today", [date(2026, 3, 2), date(2026, 11, 24), date(2027, 1, 1), date(2029, 7, 15)]
)
def test_every_demo_case_holds_on_the_day_it_is_loaded(app, clock, today):
    clock.set(datetime.combine(today, datetime.min.time().replace(hour=9)))
    with app.app_context():
        programme = current_flows().programme
        summary = demo.load(db.engine(), programme, clock.now())
        assert summary.people.new == len(demo.CASES)

        def on(person_id):
            return repository.eligibility(db.session(), programme, person_id, today)

        def tier(person_id):
            result = on(person_id)
            return result.tier.code if result.tier else None

        assert tier("D01") == "anxin"
        assert tier("D02") == "zunxiang"
        assert tier("D03") == "haohua"
        assert on("D03").service("nursing_carer").remaining == 3
        assert on("D02").service("outpatient_booking").remaining == 0
        assert on("D04").in_waiting_period
        assert on("D05").existing_customer and not on("D05").in_waiting_period
        assert (tier("D06"), tier("D07"), tier("D08")) == ("zunxiang", "anxin", None)
        assert [p.reason for p in on("D08").policies] == ["cooling_off"]
        assert tier("D09") == "anxin"
        assert [str(p.reason) for p in on("D09").policies] == ["not_in_force", "None"]
        assert [str(p.reason) for p in on("D10").policies] == ["not_applicable_product", "None"]
        assert tier("D10") == "anxin"
        assert tier("D11") == "anxin"


def test_loading_the_demo_again_the_same_day_changes_nothing(app, clock):
    with app.app_context():
        programme = current_flows().programme
        demo.load(db.engine(), programme, clock.now())
        again = demo.load(db.engine(), programme, clock.now())
    assert (again.people.unchanged, again.policies.unchanged) == (11, 14)
    assert again.usage.unchanged == 5


def test_the_demo_feed_is_an_ordinary_feed(import_feed):
    result = import_feed(json.loads(demo.FEED.read_text(encoding="utf-8")))
    assert result.exit_code == 0, result.output
    assert "1 policy of products not in the programme" in result.stdout


def test_demo_phones_are_valid_chinese_mobiles_of_the_made_up_139_0000_range():
    doc = json.loads(demo.FEED.read_text(encoding="utf-8"))
    phones = [phone for person in doc["people"] for phone in person["phones"]]
    assert phones
    for raw in phones:
        number = phonenumbers.parse(raw, "CN")
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        assert phonenumbers.national_significant_number(number).startswith("1390000")


def test_dates_before_the_launch_are_not_moved():
    doc = demo.feed_for(date(2030, 1, 1), date(2024, 1, 1))
    (existing,) = [p for p in doc["policies"] if p["insured_id"] == "D05"]
    assert existing["cooling_off_end"] == "2021-07-31"
    assert {use["date"][:4] for use in doc["usage"]} == {"2030"}
