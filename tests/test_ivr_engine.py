"""The call flow engine on its own: SPEC §4 walked through with in-memory facts, no I/O."""

from __future__ import annotations

from datetime import datetime

import pytest
from domain_fixtures import loaded, policy, use
from ivr_fakes import Call, World, message, offered

from ivr import engine, replies
from ivr.call_state import WITHHELD, CallState

FLOW = loaded().call_flow
HOLDER_PHONE = "+8613812345678"
SUFFIX = "345678"


@pytest.fixture
def world() -> World:
    w = World()
    w.person("P1", "张伟", HOLDER_PHONE)
    w.insure("P1", "P1", policy(200_000))
    return w


def verified_call(world: World, name: str = "张伟", **kwargs) -> Call:
    return Call(world, **kwargs).press(SUFFIX).say(name)


# -- greeting and authentication -----------------------------------------------------------


def test_a_call_opens_with_the_greeting_recording_notice_and_120_then_asks_for_six_digits(world):
    call = Call(world)
    assert call.heard[0] == message("welcome")
    assert "录音" in call.heard[0] and "120" in call.heard[0]
    assert call.heard[-2:] == [message("ask_suffix"), offered("person")]
    assert call.wait == replies.Gather(speech=False, num_digits=6)


def test_six_digits_and_the_name_verify_the_policyholder(world):
    call = Call(world).press(SUFFIX)
    assert call.last == [message("ask_name"), offered("person")]
    assert call.wait.speech
    call.say("张伟。")
    assert message("verified") in call.last
    assert call.state.verified and call.state.policyholder_id == "P1"
    assert call.state.policyholder_phone == HOLDER_PHONE
    # One insured person with a tier: chosen without asking, straight to the main menu.
    assert call.state.insured_id == "P1" and call.state.insured_name == "张*"
    assert call.state.node == "main_menu"


@pytest.mark.parametrize("heard", ["章伟", "张 伟", "张·伟", "我叫张伟", "张伟。"])
def test_a_homophone_or_decorated_name_verifies(world, heard):
    assert verified_call(world, heard).state.verified


@pytest.mark.parametrize(
    ("on_file", "heard"),
    [
        ("单田芳", "善田芳"),
        ("曾国藩", "增国藩"),
        ("解缙", "谢缙"),
        ("区志强", "欧志强"),
        ("仇英", "求英"),
        ("查良镛", "渣良镛"),
        ("朴树", "嫖树"),
        ("盖聂", "葛聂"),
        ("尉迟恭", "玉迟恭"),
        ("万俟卨", "莫奇卨"),
    ],
)
def test_a_surname_heard_by_its_surname_reading_verifies(world, on_file, heard):
    world.people["P1"].name = on_file
    assert verified_call(world, heard).state.verified


@pytest.mark.parametrize("heard", ["张伟明", "张", "李伟", "王伟", ""])
def test_a_different_name_does_not_verify(world, heard):
    call = Call(world).press(SUFFIX)
    call.say(heard) if heard else call.silence()
    assert not call.state.verified


def test_wrong_details_three_times_go_to_a_person_unverified_without_saying_which_part(world):
    wrong_digits = Call(world, caller="+8613900000001")
    wrong_name = Call(world, caller="+8613900000002")
    for _ in range(3):
        wrong_digits.press("111111").say("张伟")
        wrong_name.press(SUFFIX).say("李四")
    # Word for word the same: the caller cannot learn which part was wrong.
    assert wrong_digits.heard == wrong_name.heard
    assert wrong_digits.heard.count(message("not_verified")) == 2
    assert message("verify_gave_up") in wrong_digits.heard
    for call in (wrong_digits, wrong_name):
        assert call.enqueued == "medical"
        assert not call.state.verified and call.state.unverified_reason == "failed"
    assert world.by_number["+8613900000001"] == 3
    # Failures with the right digits count against the policyholder they name.
    assert world.by_holder["P1"] == 3


def test_after_the_number_limit_even_correct_details_do_not_verify(world):
    caller = "+8613900000003"
    world.by_number[caller] = FLOW.limits.failures_per_number
    call = verified_call(world, caller=caller)
    assert not call.state.verified
    assert call.state.unverified_reason == "locked"
    assert message("verify_locked") in call.last
    assert call.enqueued == "medical"


def test_after_the_policyholder_limit_no_number_can_verify_them(world):
    world.by_holder["P1"] = FLOW.limits.failures_per_policyholder
    for caller in ("+8613900000004", "+8613900000005", None):
        call = verified_call(world, caller=caller)
        assert not call.state.verified and call.state.unverified_reason == "locked"


def test_a_locked_suffix_sounds_the_same_whether_the_name_is_right_or_wrong(world):
    world.by_holder["P1"] = FLOW.limits.failures_per_policyholder
    right = verified_call(world, "张伟", caller="+8613900000006")
    wrong = verified_call(world, "李四", caller="+8613900000007")
    assert right.heard == wrong.heard


def test_redialling_locks_out_across_calls(world):
    caller = "+8613900000008"
    first = Call(world, caller=caller)
    for _ in range(3):
        first.press("000000").say("张伟")
    second = Call(world, caller=caller)
    second.press("000001").say("张伟").press("000002").say("张伟")
    assert world.by_number[caller] == FLOW.limits.failures_per_number
    # The sixth try has the right details, but the number is locked.
    third = verified_call(world, caller=caller)
    assert not third.state.verified and third.state.unverified_reason == "locked"


def test_withheld_callers_share_one_failure_count(world):
    Call(world, caller=None).press("000000").say("张伟")
    Call(world, caller=None).press("000000").say("张伟")
    assert world.by_number[WITHHELD] == 2


@pytest.mark.parametrize("at", ["ask_suffix", "ask_name"])
def test_zero_at_either_prompt_goes_to_a_person_unverified(world, at):
    call = Call(world)
    if at == "ask_name":
        call.press(SUFFIX)
    call.press("0")
    line = loaded().line("medical")
    assert call.last == [message("transferring", line_name=line.name)]
    assert call.enqueued == "medical"
    assert call.state.unverified_reason == "operator"
    assert world.by_number == {}


@pytest.mark.parametrize("garbage", ["12345", "1234567", "12a456", "#", "******", "12345#"])
def test_garbage_digits_are_asked_again_without_counting_a_failure(world, garbage):
    call = Call(world).press(garbage)
    assert call.last == [message("invalid_digits"), message("ask_suffix"), offered("person")]
    assert call.state.tries == 0 and world.by_number == {}


def test_silence_at_the_digits_prompt_is_told_apart_from_wrong_digits(world):
    call = Call(world).silence()
    assert call.last == [message("no_digits"), message("ask_suffix"), offered("person")]
    assert message("no_digits") != message("invalid_digits")


def test_three_unanswered_prompts_go_to_a_person(world):
    call = Call(world).silence().silence()
    assert call.state.node == "ask_suffix"
    call.silence()
    assert message("no_digits") in call.last and message("too_many_wrong") not in call.last
    assert call.enqueued == "medical" and call.state.unverified_reason == "silent"


def test_three_wrong_answers_go_to_a_person_and_are_counted_apart_from_silences(world):
    call = Call(world).press("1").silence().press("2").silence()
    assert call.state.node == "ask_suffix"
    call.press("3")
    assert call.last[0] == message("too_many_wrong")
    assert call.enqueued == "medical" and call.state.unverified_reason == "invalid"


def test_an_unrecognised_name_and_no_name_get_different_prompts(world):
    garbled = Call(world).press(SUFFIX).say("。")
    assert garbled.last == [message("invalid_speech"), message("ask_name"), offered("person")]
    silent = Call(world).press(SUFFIX).silence()
    assert silent.last == [message("no_speech"), message("ask_name"), offered("person")]


def test_a_key_other_than_zero_at_the_name_prompt_is_a_wrong_key(world):
    call = Call(world).press(SUFFIX).press("5")
    assert call.last == [message("wrong_input"), message("ask_name"), offered("person")]


def test_a_call_state_from_before_choice_keys_numbers_its_choices_from_one():
    old = (
        CallState(call_sid="CA1")
        .to_json()
        .replace('"choices":[]', '"choices":[["P1","张*"],["P2","张*明"]]')
    )
    assert CallState.from_json(old).choices == [["P1", "张*", "1"], ["P2", "张*明", "2"]]


def test_two_policyholders_with_the_same_suffix_and_sound_go_to_a_person(world):
    world.person("P2", "章伟", "+8613712345678")
    world.insure("P2", "P2")
    call = verified_call(world, "张伟")
    assert not call.state.verified and call.state.unverified_reason == "ambiguous"
    assert call.enqueued == "medical"
    assert world.by_number == {}


def test_same_suffix_different_names_each_verify_as_themselves(world):
    world.person("P2", "李娜", "+8613712345678")
    world.insure("P2", "P2")
    assert verified_call(world, "李娜").state.policyholder_id == "P2"
    assert verified_call(world, "张伟").state.policyholder_id == "P1"


def test_a_person_who_is_only_insured_cannot_authenticate(world):
    world.person("P2", "李娜", "+8613712340000")
    world.insure("P1", "P2")
    call = Call(world).press("340000").say("李娜")
    assert not call.state.verified


# -- insured people ------------------------------------------------------------------------


def test_a_policyholder_with_several_insured_people_chooses_by_masked_name(world):
    world.person("P2", "张小明")
    world.person("P3", "欧阳娜娜")
    world.insure("P1", "P2", policy(400_000))
    world.insure("P1", "P3", policy(100_000))
    call = verified_call(world)
    assert call.last[-5:] == [
        message("choose_insured_option", name="张某", key=1),
        message("choose_insured_option", name="张某明", key=2),
        message("choose_insured_option", name="欧某某娜", key=3),
        offered("person"),
        offered("repeat"),
    ]
    call.press("2")
    assert call.state.insured_id == "P2" and call.state.node == "main_menu"
    # Screens and the queue panel still show the masked name.
    assert call.state.insured_name == "张*明"


def test_insured_people_whose_masked_names_sound_alike_are_told_apart(world):
    # 张伟 is the policyholder; 章炜 and 张敏 sound like him once masked (张某, 章某).
    world.person("P2", "章炜")
    world.person("P3", "张敏")
    world.person("P4", "张小伟")
    for person in ("P2", "P3", "P4"):
        world.insure("P1", person, policy(400_000))
    call = verified_call(world)
    assert call.last[-6:-2] == [
        message("choose_insured_option", name="投保人本人张某", key=1),
        message("choose_insured_option", name="第二位章某", key=2),
        message("choose_insured_option", name="第三位张某", key=3),
        # 张某伟 does not sound like 张某: said as it is.
        message("choose_insured_option", name="张某伟", key=4),
    ]
    call.press("3")
    assert call.state.insured_id == "P3"


def test_one_insured_person_sounding_like_the_policyholder_needs_no_place_in_the_list(world):
    world.person("P2", "章炜")
    world.insure("P1", "P2", policy(400_000))
    call = verified_call(world)
    assert call.last[-4:-2] == [
        message("choose_insured_option", name="投保人本人张某", key=1),
        message("choose_insured_option", name="章某", key=2),
    ]


def test_the_choice_of_insured_person_answers_the_key_map(world):
    world.person("P2", "张小明")
    world.insure("P1", "P2", policy(400_000))
    call = verified_call(world)
    asked = call.last[-4:]
    assert call.press("9").last == asked
    assert call.silence().last == [message("no_input"), *asked]
    assert call.press("#").last == [message("wrong_input"), *asked]
    call.press("0")
    assert call.enqueued == "medical" and call.state.insured_id is None


def test_more_than_eight_insured_people_are_numbered_past_the_repeat_key(world):
    for i in range(2, 11):
        world.person(f"P{i}", f"李{i}明")
        world.insure("P1", f"P{i}", policy(400_000))
    call = verified_call(world)
    keys = [key for _, _, key in call.state.choices]
    assert keys == ["1", "2", "3", "4", "5", "6", "7", "8", "10", "11"]
    assert call.wait.num_digits == 2
    call.press("10")
    assert call.state.insured_id == "P9"


def test_only_insured_people_with_a_tier_today_are_offered(world):
    world.person("P2", "张小明")
    world.insure("P1", "P2", policy(400_000, status="lapsed"))
    call = verified_call(world)
    assert call.state.insured_id == "P1" and call.state.node == "main_menu"


def test_a_choice_out_of_range_is_asked_again(world):
    world.person("P2", "张小明")
    world.insure("P1", "P2", policy(400_000))
    call = verified_call(world).press("7")
    assert message("wrong_input") in call.last and call.state.insured_id is None
    call.say("二")
    assert call.state.insured_id == "P2"


def test_no_insured_person_with_a_tier_is_explained_and_offered_the_policy_line(world):
    world.people["P1"].policies[:] = [policy(200_000, status="surrendered")]
    call = verified_call(world)
    assert message("no_insured") in call.last
    assert message("offer_policy_line") in call.last
    call.press("0")
    assert call.enqueued == "policy"


# -- menus and services --------------------------------------------------------------------

LEAVES = {
    "online_consult": ("1", "1"),
    "health_e_station": ("1", "2"),
    "outpatient_booking": ("2", "1"),
    "inpatient_fast_track": ("2", "2"),
    "surgery_fast_track": ("2", "3"),
    "escort": ("2", "4"),
    "nursing_carer": ("2", "5"),
    "transport": ("2", "6"),
    "second_opinion": ("2", "7"),
    "mdt": ("3", "1"),
    "rehab_followup": ("3", "2"),
    "care_planner": ("3", "3"),
}


@pytest.fixture
def haohua(world) -> World:
    world.people["P1"].policies[:] = [policy(600_000)]
    return world


@pytest.mark.parametrize("code", sorted(LEAVES))
def test_every_service_is_reached_by_its_keys_and_served_when_entitled(haohua, code):
    group, item = LEAVES[code]
    call = verified_call(haohua).press(group).press(item)
    assert call.state.service == code
    service = loaded().programme.service(code)
    said = FLOW.service_name(service)
    if service.sms_link:
        assert call.enqueued is None and haohua.sms[-1].service == code
        assert haohua.sms[-1].to == HOLDER_PHONE
        assert message("sms_queued", service=said, phone_tail="五六七八") in call.last
    else:
        assert call.enqueued == "medical"
        assert (message("critical_illness", service=said) in call.last) == (
            service.requires_critical_illness
        )


@pytest.mark.parametrize(
    ("said", "code"),
    [("线上问诊", "online_consult"), ("我想看看健康e站", "health_e_station")],
)
def test_a_service_can_be_asked_for_by_voice(haohua, said, code):
    call = verified_call(haohua).say("健康护航").say(said)
    assert call.state.service == code


def test_the_main_menu_reads_its_options_and_repeats_on_nine(haohua):
    call = verified_call(haohua)
    menu = [
        message("menu_option", label=o.label, key=o.key) for o in FLOW.nodes["main_menu"].options
    ]
    # Its own 0 is the policy line; it does not offer to go back to itself.
    assert call.last[-len(menu) - 1 :] == [*menu, offered("repeat")]
    call.press("9")
    assert call.last == [*menu, offered("repeat")] and call.state.node == "main_menu"
    call.press("*")
    assert call.last == [*menu, offered("repeat")] and call.state.node == "main_menu"


def test_a_sub_menu_offers_a_person_the_main_menu_and_a_repeat_in_words(haohua):
    call = verified_call(haohua).press("2")
    assert call.last[-3:] == [offered("person"), offered("main_menu"), offered("repeat")]
    assert "返回主菜单请按星号键。" in call.last
    assert call.press("9").state.node == "precise_care"
    assert call.say("返回主菜单").state.node == "main_menu"
    assert call.press("2").press("0").enqueued == "medical"


def test_silence_and_a_wrong_key_in_a_menu_get_different_prompts(haohua):
    silent = verified_call(haohua).silence()
    wrong = verified_call(haohua).press("8")
    assert silent.last[0] == message("no_input") and wrong.last[0] == message("wrong_input")
    assert silent.last[1:] == wrong.last[1:]
    assert silent.last[0] != wrong.last[0]


def test_zero_in_the_main_menu_goes_to_the_policy_line(haohua):
    assert verified_call(haohua).press("0").enqueued == "policy"


def test_star_in_a_sub_menu_goes_back_to_the_main_menu(haohua):
    call = verified_call(haohua).press("2").press("*")
    assert call.state.node == "main_menu"


def test_an_invalid_menu_key_is_asked_again_then_goes_to_a_person(haohua):
    call = verified_call(haohua).press("8").press("#")
    assert call.state.node == "main_menu" and message("wrong_input") in call.last
    call.say("天气怎么样")
    assert call.last[0] == message("too_many_wrong")
    assert call.enqueued == "medical" and call.state.verified


def test_silences_in_a_menu_are_counted_apart_from_wrong_keys(haohua):
    call = verified_call(haohua).press("8").silence().press("#").silence()
    assert call.state.node == "main_menu"
    call.silence()
    assert call.last[0] == message("no_input") and call.enqueued == "medical"


def test_eligibility_is_only_looked_up_when_a_service_needs_it(haohua):
    call = verified_call(haohua)
    haohua.asked.clear()
    call.press("2")
    assert haohua.asked == []
    call.press("1")
    assert haohua.asked == ["eligibility:P1"]


def test_a_service_outside_the_tier_is_explained_and_the_policy_line_offered(world):
    call = verified_call(world).press("2").press("2")
    assert message(
        "not_entitled_not_in_tier", insured="张某", service="住院绿通", tier="安心档"
    ) in (call.last)
    assert message("offer_policy_line") in call.last and call.state.node == "policy_or_menu"
    assert offered("person", "0") not in call.last  # its 0 is the policy line's, said as such
    call.press("*")
    assert call.state.node == "main_menu"
    call.press("2").press("2").press("0")
    assert call.enqueued == "policy"


def test_a_service_in_the_waiting_period_gives_the_first_day_it_can_be_used(world):
    world.now = datetime(2026, 3, 10, 10, 0)
    # Cooling-off ends 2026-02-01: counted from 02-02, entitled from 02-03, usable from 03-05+...
    world.people["P1"].policies[:] = [policy(200_000, cooling_off_end="2026-02-20")]
    call = verified_call(world).press("2").press("1")
    # Effective 2026-02-22, waiting period 02-22 … 03-23, usable from 03-24.
    assert (
        message("not_entitled_waiting", insured="张某", service="门诊预约", date="2026年3月24日")
        in call.last
    )


def test_a_used_quota_is_explained_with_the_day_it_renews(world):
    world.people["P1"].uses[:] = [use("outpatient_booking", "2026-01-05")]
    call = verified_call(world).press("2").press("1")
    assert (
        message(
            "not_entitled_quota",
            insured="张某",
            service="门诊预约",
            quota=1,
            used=1,
            remaining=0,
            unit="次",
            date="2027年1月1日",
        )
        in call.last
    )


def test_without_a_chosen_insured_person_a_service_is_refused_for_want_of_a_tier(world):
    world.people["P1"].policies[:] = [policy(200_000, status="surrendered")]
    call = verified_call(world).press("*").press("2").press("1")
    assert message("not_entitled_no_tier", insured="被保险人", service="门诊预约") in call.last


def test_entitlements_are_read_aloud(world):
    world.people["P1"].uses[:] = [use("rehab_followup", "2026-02-01", 4)]
    call = verified_call(world).press("4")
    heard = call.last
    assert (
        message("entitlements_tier", insured="张某", tier="安心档", effective="2024年3月17日")
        in heard
    )
    assert message("entitlements_unlimited", service="线上问诊") in heard
    assert message("entitlements_remaining", service="门诊预约", remaining=1, unit="次") in heard
    assert message("entitlements_remaining", service="康复随访", remaining=0, unit="次") in heard
    # Services the tier does not include are not read out.
    assert not any("住院绿通" in h for h in heard)
    assert call.state.node == "main_menu"


def test_entitlements_in_the_waiting_period_say_when_it_ends_and_nursing_counts_days(world):
    world.people["P1"].policies[:] = [policy(400_000, cooling_off_end="2026-02-20")]
    heard = verified_call(world).press("4").last
    assert message("entitlements_waiting", date="2026年3月23日") in heard
    assert (
        message("entitlements_remaining", service="住院护工陪护", remaining=3, unit="天") in heard
    )


# -- hours, callbacks and SMS --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "at", "open_"),
    [
        ("medical", "07:59", False),
        ("medical", "08:00", True),
        ("medical", "21:59", True),
        ("medical", "22:00", False),
        ("policy", "08:59", False),
        ("policy", "09:00", True),
        ("policy", "17:29", True),
        ("policy", "17:30", False),
    ],
)
def test_a_line_takes_calls_only_in_its_hours(haohua, line, at, open_):
    hour, minute = map(int, at.split(":"))
    haohua.now = datetime(2026, 3, 10, hour, minute)
    call = verified_call(haohua)
    call.press("0") if line == "policy" else call.press("2").press("1")
    if open_:
        assert call.enqueued == line
    else:
        assert call.enqueued is None and call.state.node.endswith("_closed")
        assert message("emergency") in call.last


def test_a_closed_line_offers_a_callback_at_its_next_opening(haohua):
    haohua.now = datetime(2026, 3, 10, 22, 0)
    call = verified_call(haohua).press("2").press("1")
    line = loaded().line("medical")
    assert (
        message("line_closed", line_name=line.name, hours="8点至22点", next_opening="明天8点")
        in call.last
    )
    assert call.last[-2:] == [
        message("callback_offer", next_opening="明天8点", key="1"),
        offered("repeat"),
    ]
    # No word of a transfer before the line is said to be closed.
    assert not any("转接" in said for said in call.last)
    call.press("1")
    (booked,) = haohua.callbacks
    assert booked.due == datetime(2026, 3, 11, 8, 0)
    assert booked.number == HOLDER_PHONE and booked.verified
    assert (booked.line, booked.service, booked.insured_id) == (
        "medical",
        "outpatient_booking",
        "P1",
    )
    assert message("callback_booked", when="明天8点", phone_tail="五六七八") in call.last
    assert call.hung_up


def test_declining_the_callback_ends_the_call(haohua):
    haohua.now = datetime(2026, 3, 10, 23, 0)
    call = verified_call(haohua).press("2").press("1").silence()
    assert haohua.callbacks == [] and call.hung_up
    assert call.last == [message("no_input"), message("goodbye")]


def test_a_wrong_key_at_the_callback_offer_asks_again_without_the_hours(haohua):
    haohua.now = datetime(2026, 3, 10, 23, 0)
    call = verified_call(haohua).press("2").press("1").press("5")
    assert call.last == [
        message("wrong_input"),
        message("callback_offer", next_opening="明天8点", key="1"),
        offered("repeat"),
    ]
    assert call.press("9").state.node == "medical_closed" and message("emergency") in call.last
    call.press("1")
    assert len(haohua.callbacks) == 1


def test_zero_out_of_hours_says_the_line_is_closed_and_offers_a_callback_first(world):
    world.now = datetime(2026, 3, 10, 23, 0)
    call = Call(world).press("0")
    line = loaded().line("medical")
    assert call.last[0] == message(
        "line_closed", line_name=line.name, hours="8点至22点", next_opening="明天8点"
    )
    assert not any("转接" in said for said in call.last)
    assert call.state.node == "medical_closed"


def test_before_opening_the_callback_is_for_today(haohua):
    haohua.now = datetime(2026, 3, 10, 6, 0)
    call = verified_call(haohua).press("0").press("1")
    assert haohua.callbacks[0].due == datetime(2026, 3, 10, 9, 0)
    assert message("callback_booked", when="今天9点", phone_tail="五六七八") in call.last


def test_an_unverified_caller_is_called_back_on_the_caller_id(world):
    world.now = datetime(2026, 3, 10, 23, 0)
    call = Call(world, caller="+8613900009999").press("0").press("1")
    assert world.callbacks[0].number == "+8613900009999"
    assert not world.callbacks[0].verified
    assert call.hung_up


def test_a_withheld_unverified_caller_is_told_the_number_instead_of_a_callback(world):
    world.now = datetime(2026, 3, 10, 23, 0)
    call = Call(world, caller=None).press("0").press("1")
    assert world.callbacks == []
    line = loaded().line("medical")
    assert line.phone == "4006-058-056"
    said = "四零零六，零五八，零五六"  # digit by digit, its groups apart
    assert message("callback_unavailable", hours="8点至22点", line_phone=said) in call.last


def test_a_withheld_but_verified_caller_is_called_back_on_the_number_on_file(haohua):
    haohua.now = datetime(2026, 3, 10, 23, 0)
    verified_call(haohua, caller=None).press("2").press("1").press("1")
    assert haohua.callbacks[0].number == HOLDER_PHONE


def test_an_sms_link_is_sent_at_three_in_the_morning_to_the_number_on_file(world):
    world.now = datetime(2026, 3, 10, 3, 0)
    call = verified_call(world, caller="+8613900007777").press("1").press("1")
    (sms,) = world.sms
    assert sms.to == HOLDER_PHONE and sms.service == "online_consult"
    assert FLOW.sms["online_consult"].url in sms.body
    assert message("sms_queued", service="线上问诊", phone_tail="五六七八") in call.last
    assert message("after_sms") in call.last and call.state.node == "after_sms"
    call.silence()
    assert call.hung_up


def test_without_sms_the_caller_is_told_it_cannot_be_sent_and_offered_a_person(world):
    world.sms_configured = False
    call = verified_call(world).press("1").press("1")
    assert world.sms == []
    assert call.last[0] == message("sms_unavailable", service="线上问诊")
    assert not any("短信发送至" in said for said in call.last)
    assert "转人工服务为您办理请按0。" in call.last
    assert call.press("0").enqueued == "medical"


def test_three_wrong_keys_after_the_sms_go_to_a_person_with_no_false_promise(world):
    world.now = datetime(2026, 3, 10, 23, 0)
    call = verified_call(world).press("1").press("1").press("5").press("6").press("7")
    assert call.last[0] == message("too_many_wrong")
    assert call.state.node == "medical_closed" and not any("转接" in s for s in call.last)


def test_leaving_the_queue_books_a_callback_for_now(haohua):
    call = verified_call(haohua).press("2").press("1")
    call.jump(FLOW.queue.on_leave)
    assert haohua.callbacks[0].due == haohua.now
    assert (
        message("callback_booked", when=message("callback_soon"), phone_tail="五六七八")
        in call.last
    )


def test_a_lost_call_state_starts_again_politely(world):
    call = Call(world)
    call.state.node = "no_such_node"
    call.press("1")
    assert call.last == [message("lost"), message("ask_suffix"), offered("person")]


def test_the_state_survives_a_json_round_trip(haohua):
    call = verified_call(haohua).press("2")
    again = CallState.from_json(call.state.to_json())
    assert again == call.state


def test_the_engine_does_not_change_the_state_it_is_given(world):
    call = Call(world)
    before = CallState.from_json(call.state.to_json())
    engine.step(call.flows, call.state, engine.Digits(SUFFIX), world.facts())
    assert call.state == before


# -- every leaf, every reason ------------------------------------------------------------------


def _reasons():
    programme = loaded().programme
    cases = []
    for code in LEAVES:
        service = programme.service(code)
        cases.append((code, "no_tier"))
        cases.append((code, "waiting_period"))
        lacking = [t for t in programme.tiers if service.quota(t) == 0]
        if lacking:
            cases.append((code, f"not_in_tier:{lacking[-1].code}"))
        if service.quotas.get("haohua") is not None:
            cases.append((code, "quota_used"))
    return cases


FLOORS = {t.code: t.min_sum_insured for t in loaded().programme.tiers}


@pytest.mark.parametrize(("code", "reason"), _reasons())
def test_every_service_leaf_explains_each_reason_it_can_be_refused_for(world, code, reason):
    service = loaded().programme.service(code)
    person = world.people["P1"]
    group, item = LEAVES[code]
    if reason == "no_tier":
        person.policies[:] = [policy(600_000, status="lapsed")]
        call = verified_call(world).press("*").press(group).press(item)
        expected = message(
            "not_entitled_no_tier", insured="被保险人", service=FLOW.service_name(service)
        )
    elif reason == "waiting_period":
        person.policies[:] = [policy(600_000, cooling_off_end="2026-02-20")]
        call = verified_call(world).press(group).press(item)
        expected = message(
            "not_entitled_waiting",
            insured="张某",
            service=FLOW.service_name(service),
            date="2026年3月24日",
        )
    elif reason.startswith("not_in_tier"):
        tier = loaded().programme.tier(reason.split(":")[1])
        person.policies[:] = [policy(FLOORS[tier.code])]
        call = verified_call(world).press(group).press(item)
        expected = message(
            "not_entitled_not_in_tier",
            insured="张某",
            service=FLOW.service_name(service),
            tier=tier.name,
        )
    else:
        person.policies[:] = [policy(600_000)]
        quota = service.quotas["haohua"]
        person.uses[:] = [use(code, "2026-02-01", quota)]
        call = verified_call(world).press(group).press(item)
        unit = "天" if service.unit == "days" else "次"
        expected = message(
            "not_entitled_quota",
            insured="张某",
            service=FLOW.service_name(service),
            quota=quota,
            used=quota,
            remaining=0,
            unit=unit,
            date="2027年1月1日",
        )
    assert expected in call.last
    assert message("offer_policy_line") in call.last and call.state.node == "policy_or_menu"
    assert call.enqueued is None and world.sms == []
    call.press("0")
    assert call.enqueued == "policy"


def test_the_digits_and_the_name_are_forgotten_once_checked(world):
    for name in ("张伟", "李四"):
        call = verified_call(world, name)
        assert (call.state.suffix, call.state.spoken_name) == (None, None)
