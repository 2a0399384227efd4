"""Calls through the webhooks as Twilio makes them (signed, form-encoded, TwiML followed).

SPEC §4: greeting, authentication, insured selection, menus and routing; each
test runs on SQLite and PostgreSQL with a real Redis.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from ivr_calls import (
    FLOW,
    FLOWS,
    SHAN,
    WANG,
    ZHANG,
    ZHAO,
    as_zhang_wei,
    at,
    load,
    message,
    offered,
    run_jobs,
    verified,
)

from services import call_notes, lockout
from storage import db, repository


@pytest.fixture
def family(import_feed):
    load(import_feed)


def medical_name() -> str:
    return FLOWS.line("medical").name


# -- greeting and authentication -----------------------------------------------------------


def test_a_caller_hears_the_greeting_and_is_asked_for_six_digits(exchange, family):
    phone = exchange.call().dial()
    assert phone.heard == [message("welcome"), message("ask_suffix"), offered("person")]
    assert phone.gather.get("numDigits") == "6"
    assert phone.gather.get("input") == "dtmf"
    say = phone.last_twiml
    assert 'voice="Polly.Zhiyu"' in say and 'language="cmn-CN"' in say


def test_the_name_is_asked_for_as_mandarin_speech(exchange, family):
    phone = exchange.call().dial().press(ZHANG[3])
    assert phone.heard[-2:] == [message("ask_name"), offered("person")]
    assert phone.gather.get("input") == "dtmf speech"
    assert phone.gather.get("language") == FLOW.voice.speech_language


def test_a_policyholder_with_several_insured_people_picks_one_by_masked_name(exchange, family):
    phone = verified(exchange)
    assert phone.heard[-5:] == [
        message("choose_insured_option", name="张某", key=1),
        message("choose_insured_option", name="张某明", key=2),
        message("choose_insured_option", name="李某", key=3),
        offered("person"),
        offered("repeat"),
    ]
    assert not any("张伟" in h or "李娜" in h or "张小明" in h for h in phone.heard)
    phone.press("2").press("4")
    assert message(
        "entitlements_tier", insured="张某明", tier="安心档", effective="2024年3月17日"
    ) in (phone.heard)


def test_a_homophone_of_the_name_verifies(exchange, family):
    verified(exchange, ZHANG, name="章伟。")


def test_a_surname_read_as_a_surname_verifies(exchange, family):
    phone = verified(exchange, SHAN, name="善田芳")
    # One insured person (herself): straight to the main menu.
    assert phone.heard[-1] == offered("repeat")


def test_three_wrong_tries_reach_a_person_unverified_never_saying_which_part(exchange, family):
    wrong_digits = exchange.call("+8613900000001").dial()
    wrong_name = exchange.call("+8613900000002").dial()
    for _ in range(3):
        wrong_digits.press("999999").say(ZHANG[1])
        wrong_name.press(ZHANG[3]).say("王五")
    transferring = message("transferring", line_name=medical_name())

    def before_the_queue(phone):
        return phone.heard[: phone.heard.index(transferring) + 1]

    assert before_the_queue(wrong_digits) == before_the_queue(wrong_name)
    assert message("verify_gave_up") in wrong_digits.heard
    assert wrong_digits.queue == wrong_name.queue == "medical"
    assert wrong_digits.in_queue


@pytest.fixture
def tries_written_at_once(app):
    """A failed try is written a moment after its webhook (a call note): these calls
    follow each other faster than that."""
    call_notes.of(app).seconds = 0


def test_redialling_cannot_guess_the_digits(app, exchange, family, tries_written_at_once):
    caller = "+8613900000003"
    for guess in ("000001", "000002", "000003", "000004", "000005"):
        phone = exchange.call(caller).dial()
        phone.press(guess).say(WANG[1])
        phone.hang_up()
    # The right details from the same number no longer verify.
    phone = exchange.call(caller).dial().press(WANG[3]).say(WANG[1])
    assert message("verify_locked") in phone.heard
    assert message("verified") not in phone.heard
    assert phone.queue == "medical"


def test_failures_against_one_policyholder_lock_them_from_every_number(
    app, exchange, family, tries_written_at_once
):
    for i in range(FLOW.limits.failures_per_policyholder):
        exchange.call(f"+861390000010{i}").dial().press(WANG[3]).say("李四").hang_up()
    phone = exchange.call("+8613900000199").dial().press(WANG[3]).say(WANG[1])
    assert message("verify_locked") in phone.heard
    # Another policyholder is not affected.
    verified(exchange, ZHANG, caller="+8613900000198")


def test_the_lock_out_ends_with_its_window(app, exchange, clock, family, tries_written_at_once):
    for i in range(FLOW.limits.failures_per_policyholder):
        exchange.call(f"+861390000020{i}").dial().press(WANG[3]).say("李四").hang_up()
    clock.set(clock.now() + timedelta(seconds=FLOW.limits.failure_window_seconds + 60))
    verified(exchange, WANG, caller="+8613900000299")


def test_a_retried_webhook_counts_a_failure_once(app, exchange, family):
    phone = exchange.call("+8613900000004").dial().press(WANG[3])
    url = phone.exchange.url(phone.gather.get("action"), phone.document_url)
    first = phone.request(url, SpeechResult="李四", Confidence="0.9")
    again = phone.request(url, SpeechResult="李四", Confidence="0.9")
    assert first == again
    with app.app_context():
        call_notes.written()  # the try, written a moment later
        counted = repository.candidates(
            db.session(), WANG[3], lockout.number_subject("+8613900000004"), since=0
        )  # every failure ever recorded
    assert (counted.number_failures, [h.failures for h in counted.holders]) == (1, [1])


@pytest.mark.parametrize("at_prompt", ["digits", "name"])
def test_zero_at_either_prompt_goes_to_a_person(exchange, family, at_prompt):
    phone = exchange.call().dial()
    if at_prompt == "name":
        phone.press(ZHANG[3])
    before = len(phone.heard)
    phone.press("0")
    # Nothing before the transfer but the transfer itself (the queue's own words follow).
    assert phone.heard[before] == message("transferring", line_name=medical_name())
    assert phone.queue == "medical"


def test_same_suffix_and_sound_is_ambiguous_and_goes_to_a_person(exchange, import_feed):
    load(
        import_feed,
        {
            "people": [
                {"id": "Q1", "name": "张伟", "phones": ["+8613812345678"]},
                {"id": "Q2", "name": "章伟", "phones": ["+8613112345678"]},
            ],
            "policies": [
                {
                    "policy_no": f"Z{i}",
                    "product": "国宝人寿巴适一生终身重大疾病保险",
                    "holder_id": pid,
                    "insured_id": pid,
                    "sum_insured": 200000,
                    "cooling_off_end": "2024-03-15",
                    "status": "in_force",
                }
                for i, pid in enumerate(("Q1", "Q2"))
            ],
        },
    )
    phone = exchange.call().dial().press("345678").say("张伟")
    assert message("verify_ambiguous") in phone.heard and phone.queue == "medical"


# -- menus ---------------------------------------------------------------------------------

SERVICES = {
    "online_consult": "11",
    "health_e_station": "12",
    "outpatient_booking": "21",
    "inpatient_fast_track": "22",
    "surgery_fast_track": "23",
    "escort": "24",
    "nursing_carer": "25",
    "transport": "26",
    "second_opinion": "27",
    "mdt": "31",
    "rehab_followup": "32",
    "care_planner": "33",
}


@pytest.mark.parametrize("code", list(SERVICES))
def test_every_service_leaf_serves_an_entitled_caller(exchange, twilio_rest, family, code):
    phone = as_zhang_wei(exchange)
    for key in SERVICES[code]:
        phone.press(key)
    service = FLOWS.programme.service(code)
    said = FLOW.service_name(service)
    if service.sms_link:
        assert message("sms_queued", service=said, phone_tail="五六七八") in phone.heard
        assert not phone.queue
    else:
        assert phone.queue == "medical"
        assert message("transferring", line_name=medical_name()) in phone.heard
        assert (message("critical_illness", service=said) in phone.heard) == (
            service.requires_critical_illness
        )


def test_entitlements_are_read_aloud_then_the_menu_again(exchange, family):
    phone = as_zhang_wei(exchange).press("4")
    assert message(
        "entitlements_tier", insured="张某", tier="豪华档", effective="2024年3月17日"
    ) in (phone.heard)
    assert message("entitlements_remaining", service="就医规划师", remaining=1, unit="次") in (
        phone.heard
    )
    assert message("entitlements_remaining", service="住院护工陪护", remaining=5, unit="天") in (
        phone.heard
    )
    assert phone.heard[-1] == offered("repeat")


def test_nine_repeats_the_menu_and_zero_reaches_the_policy_line(exchange, family):
    phone = as_zhang_wei(exchange)
    before = len(phone.heard)
    phone.press("9")
    menu = phone.heard[before:]
    assert menu[0] == message("menu_option", label="健康护航", key="1")
    phone.press("0")
    assert phone.queue == "policy"


def test_a_menu_choice_can_be_spoken(exchange, family):
    phone = as_zhang_wei(exchange).say("精准诊疗").say("我想预约门诊")
    assert phone.queue == "medical"


def test_a_service_outside_the_tier_is_explained(exchange, family):
    phone = verified(exchange, WANG).press("2").press("2")
    assert message(
        "not_entitled_not_in_tier", insured="王某", service="住院绿通", tier="安心档"
    ) in (phone.heard)
    assert message("offer_policy_line") in phone.heard
    assert phone.heard[-1] == offered("repeat")
    phone.press("0")
    assert phone.queue == "policy"


def test_a_used_quota_is_explained(exchange, family):
    phone = verified(exchange, WANG).press("2").press("1")
    assert any(h.startswith("很抱歉，王某本服务年度的门诊预约共1次") for h in phone.heard)
    phone.press("*")
    assert phone.heard[-1] == offered("repeat")


def test_a_service_in_the_waiting_period_says_when_it_can_be_used(exchange, family):
    phone = verified(exchange).press("3").press("2").press("4")
    assert (
        message("not_entitled_waiting", insured="李某", service="就医陪诊", date="2026年3月24日")
        in phone.heard
    )


def test_without_any_tier_the_caller_hears_why_and_may_ask_the_policy_line(exchange, family):
    phone = verified(exchange, ZHAO)
    assert message("no_insured") in phone.heard
    phone.press("*").press("2").press("1")
    assert message("not_entitled_no_tier", insured="被保险人", service="门诊预约") in phone.heard
    phone.press("0")
    assert phone.queue == "policy"


# -- hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "hour", "minute", "open_"),
    [
        ("medical", 7, 59, False),
        ("medical", 8, 0, True),
        ("medical", 21, 59, True),
        ("medical", 22, 0, False),
        ("policy", 9, 0, True),
        ("policy", 17, 29, True),
        ("policy", 17, 30, False),
    ],
)
def test_each_line_takes_calls_only_in_its_hours(
    exchange, clock, family, line, hour, minute, open_
):
    at(clock, hour, minute)
    phone = as_zhang_wei(exchange)
    phone.press("0") if line == "policy" else phone.press("2").press("1")
    if open_:
        assert phone.queue == FLOWS.line(line).queue
    else:
        assert not phone.queue
        assert message("emergency") in phone.heard
        assert phone.heard[-2].startswith("如需在") and phone.heard[-1] == offered("repeat")


def test_an_sms_link_is_sent_at_three_in_the_morning_to_the_number_on_file(
    app, exchange, twilio_rest, clock, family
):
    at(clock, 3)
    phone = as_zhang_wei(exchange, caller="+8613900007777").press("1").press("1")
    assert message("sms_queued", service="线上问诊", phone_tail="五六七八") in phone.heard
    run_jobs(app)
    (sms,) = twilio_rest.of("Messages")
    assert sms.data["To"] == ZHANG[2]  # never the caller ID
    assert sms.data["From"] == exchange.number
    assert FLOW.sms["online_consult"].url in sms.data["Body"]
