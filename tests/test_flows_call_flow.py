"""call_flow.toml as data: the shipped flow follows SPEC §4, and bad edits are refused by key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import flows
from flows import FlowError, speakable
from flows.nodes import Ask, Authenticate, Menu, ServiceNode, Transfer


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    for source in flows.DEFAULT_DIRECTORY.glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def edit(directory: Path, old: str, new: str, name: str = "call_flow.toml") -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


FLOW = flows.load().call_flow


def test_the_voice_is_mandarin_polly_and_speech_is_recognised_as_mandarin():
    assert (FLOW.voice.language, FLOW.voice.voice) == ("cmn-CN", "Polly.Zhiyu")
    assert FLOW.voice.speech_language == "cmn-Hans-CN"
    assert FLOW.voice.hold_music.startswith("https://")


def test_the_limits_of_spec_section_4_are_configured():
    limits = FLOW.limits
    assert limits.tries_per_call == 3
    assert limits.failures_per_number == limits.failures_per_policyholder == 5
    assert limits.failure_window_seconds == 24 * 3600
    assert limits.service_level_seconds == 20


def test_authentication_asks_six_digits_then_the_name_and_zero_reaches_a_person():
    start = FLOW.node(FLOW.node(FLOW.call.start).next)
    assert isinstance(start, Ask) and (start.input, start.num_digits) == ("digits", 6)
    name = FLOW.node(start.next)
    assert isinstance(name, Ask) and name.input == "speech"
    assert start.operator == name.operator == "0"
    check = FLOW.node(name.next)
    assert isinstance(check, Authenticate)
    person = FLOW.node(check.fallback)
    assert isinstance(person, Transfer) and person.line == "medical"
    assert FLOW.node(start.fallback) == FLOW.node(name.fallback) == person


def walk(menu: str) -> dict[str, object]:
    node = FLOW.node(menu)
    assert isinstance(node, Menu)
    return {option.key: FLOW.node(option.goto) for option in node.options}


def test_the_main_menu_has_the_keys_of_spec_section_4():
    # 9 repeats every menu (the key map); the main menu's own 0 is the policy line.
    assert FLOW.keys.repeat.key == "9"
    keys = walk("main_menu")
    assert set(keys) == {"1", "2", "3", "4", "0"}
    assert isinstance(keys["0"], Transfer) and keys["0"].line == "policy"
    assert type(keys["4"]).__name__ == "Entitlements"

    def services(key: str) -> dict[str, str]:
        return {
            k: node.service
            for k, node in walk(keys[key].name).items()
            if isinstance(node, ServiceNode)
        }

    assert services("1") == {"1": "online_consult", "2": "health_e_station"}
    assert services("2") == {
        "1": "outpatient_booking",
        "2": "inpatient_fast_track",
        "3": "surgery_fast_track",
        "4": "escort",
        "5": "nursing_carer",
        "6": "transport",
        "7": "second_opinion",
    }
    assert services("3") == {"1": "mdt", "2": "rehab_followup", "3": "care_planner"}


def test_every_service_with_an_sms_link_has_its_link_text():
    for code in ("online_consult", "health_e_station"):
        link = FLOW.sms[code]
        assert link.url in link.body()


def test_a_copy_of_the_flow_can_be_changed_by_an_operator(flows_dir):
    edit(flows_dir, "tries_per_call = 3", "tries_per_call = 2")
    edit(flows_dir, 'goodbye = "感谢您的来电，再见。"', 'goodbye = "再见。"')
    changed = flows.load(flows_dir).call_flow
    assert changed.limits.tries_per_call == 2
    assert changed.messages["goodbye"] == "再见。"


BAD = [
    (
        'next = "ask_name"',
        'next = "ask_nam"',
        "call_flow.toml: nodes.ask_suffix.next: no node named 'ask_nam' in [nodes]",
    ),
    (
        'goto = "svc_mdt"',
        'goto = "svc_mtd"',
        "call_flow.toml: nodes.care.options[0].goto: no node named 'svc_mtd'",
    ),
    (
        'service = "mdt"',
        'service = "mtd"',
        "call_flow.toml: nodes.svc_mdt.service: unknown service 'mtd'",
    ),
    (
        'line = "policy"',
        'line = "billing"',
        "call_flow.toml: nodes.policy_line.line: unknown line 'billing'",
    ),
    (
        'start = "welcome"',
        'start = "hello"',
        "call_flow.toml: call.start: no node named 'hello'",
    ),
    (
        'on_leave = "queue_callback"',
        'on_leave = "queue_cb"',
        "call_flow.toml: queue.on_leave: no node named 'queue_cb'",
    ),
    (
        'line = "medical"\n# Seconds',
        'line = "dental"\n# Seconds',
        "call_flow.toml: call.line: unknown line 'dental'",
    ),
    (
        'goodbye = "感谢您的来电，再见。"\n',
        "",
        "call_flow.toml: messages.goodbye: is required",
    ),
    (
        "尾号{phone_tail}的手机",
        "尾号{phone}的手机",
        "call_flow.toml: messages.sms_queued: unknown placeholder {phone}",
    ),
    (
        'welcome = "您好，',
        'welcome = "{name}您好，',
        "call_flow.toml: messages.welcome: unknown placeholder {name}",
    ),
    (
        'emergency = "紧急情况请挂机拨打120。"',
        'emergency = "紧急情况请挂机拨打{120。"',
        "call_flow.toml: messages.emergency: not a valid template",
    ),
    (
        'say = ["welcome"]',
        'say = ["welcom"]',
        "call_flow.toml: nodes.welcome.say[0]: no message named 'welcom'",
    ),
    (
        'say = ["welcome"]',
        'say = ["sms_queued"]',
        "call_flow.toml: nodes.welcome.say[0]: 'sms_queued' is said by the code",
    ),
    (
        'prompt = "ask_suffix"',
        'prompt = "ask_digits"',
        "call_flow.toml: nodes.ask_suffix.prompt: no message named 'ask_digits'",
    ),
    (
        '{ key = "4", label = "权益查询"',
        '{ key = "44", label = "权益查询"',
        "call_flow.toml: nodes.main_menu.options[3].key: must be one telephone key",
    ),
    (
        '{ key = "4", label = "权益查询"',
        '{ key = "3", label = "权益查询"',
        "call_flow.toml: nodes.main_menu.options[3].key: key 3 is used twice",
    ),
    (
        '{ key = "4", label = "权益查询"',
        '{ key = "9", label = "权益查询"',
        "call_flow.toml: nodes.main_menu.options[3].key: key 9 means 重听 in every menu",
    ),
    (
        '{ key = "4", label = "权益查询"',
        '{ key = "*", label = "权益查询"',
        "call_flow.toml: nodes.main_menu.options[3].key: key * means 返回主菜单 in every menu",
    ),
    (
        '{ key = "0", label = "保单及其他问题", words = ["保单", "其他问题", "人工", "客服"], '
        'goto = "policy_line" }',
        '{ key = "0", label = "保单及其他问题", words = ["保单", "其他问题", "人工", "客服"], '
        'goto = "entitlements" }',
        "call_flow.toml: nodes.main_menu.options[4].goto: key 0 means 转人工服务 in every menu "
        "([keys]): it must lead to a transfer node",
    ),
    (
        'person = { key = "0", label = "转人工服务"',
        'person = { key = "9", label = "转人工服务"',
        "call_flow.toml: keys.person.key: key 9 is keys.repeat already",
    ),
    (
        'words = ["转人工服务", "人工服务", "人工", "客服"], goto = "to_person" }',
        'words = ["转人工服务", "人工服务", "人工", "客服"], goto = "goodbye" }',
        "call_flow.toml: keys.person.goto: must name a transfer node (a person)",
    ),
    (
        'slot = "suffix"\nprompt = "ask_suffix"\ninvalid = "invalid_digits"\nsilent = "no_digits"\n'
        'operator = "0"',
        'slot = "suffix"\nprompt = "ask_suffix"\ninvalid = "invalid_digits"\nsilent = "no_digits"\n'
        'operator = "#"',
        "call_flow.toml: nodes.ask_suffix.operator: the person key is 0 in every menu",
    ),
    (
        'key = "1"\naccept = "book_callback"\ndecline = "goodbye"\nsilences = 1\n\n'
        "[nodes.policy_closed]",
        'key = "9"\naccept = "book_callback"\ndecline = "goodbye"\nsilences = 1\n\n'
        "[nodes.policy_closed]",
        "call_flow.toml: nodes.medical_closed.key: key 9 means 重听 in every menu",
    ),
    (
        'leave_key = "1"',
        'leave_key = "*"',
        "call_flow.toml: queue.leave_key: key * means 返回主菜单 in every menu",
    ),
    (
        'goodbye = "感谢您的来电，再见。"',
        'goodbye = "感谢您的来电*再见。"',
        "call_flow.toml: messages.goodbye: '*' would be read out as a symbol",
    ),
    (
        'no_insured = "您名下的被保险人目前没有可以使用的重疾管家服务。"',
        'no_insured = "您名下的被保险人目前没有可以使用的服务（详见/保单）。"',
        "call_flow.toml: messages.no_insured: '（/）' would be read out as a symbol",
    ),
    (
        'label = "门诊或住院交通"',
        'label = "门诊/住院交通"',
        "call_flow.toml: nodes.precise_care.options[5].label: '/' would be read out",
    ),
    (
        'star = "星号键"',
        'star = "*号键"',
        "call_flow.toml: speech.star: '*' would be read out",
    ),
    (
        'after_sms = "如无其他需要，请直接挂机。"',
        'after_sms = "返回主菜单请按星号，结束通话请挂机。"',
        "call_flow.toml: messages.after_sms: '按星号' writes a key out",
    ),
    (
        'ask_suffix = "请输入投保人手机号码后六位。"',
        'ask_suffix = "请输入投保人手机号码后六位。转人工服务请按0。"',
        "call_flow.toml: messages.ask_suffix: '按0' writes a key out",
    ),
    (
        'transport = "门诊或住院交通"',
        'transport = "门诊/住院"',
        "call_flow.toml: spoken_services.transport: '/' would be read out",
    ),
    (
        "[spoken_services]\n"
        "# How a service whose name in services.toml has a symbol is said (by code).\n"
        'transport = "门诊或住院交通"\n',
        "",
        "call_flow.toml: spoken_services.transport: is required: services.toml's services[7].name "
        "'门诊/住院交通' has '/'",
    ),
    (
        'phone_digits = "零幺二三四五六七八九"',
        'phone_digits = "零一二三"',
        "call_flow.toml: speech.phone_digits: must be ten characters",
    ),
    (
        'silent = "no_digits"\n',
        "",
        "call_flow.toml: nodes.ask_suffix.silent: is required",
    ),
    (
        'sent = "after_sms"\nunsent = "no_sms"\n\n[nodes.svc_health_e_station]',
        'sent = "after_sms"\n\n[nodes.svc_health_e_station]',
        "call_flow.toml: nodes.svc_online_consult.unsent: online_consult is served by SMS link",
    ),
    (
        '[nodes.lost]\ntype = "say"\nsay = ["lost"]\nnext = "ask_suffix"',
        '[nodes.lost]\ntype = "say"\nsay = ["lost"]\nnext = "lost"',
        "call_flow.toml: nodes.lost: these nodes loop without waiting for the caller: lost → lost",
    ),
    (
        '[nodes.book_callback]\ntype = "callback"\nnext = "goodbye"',
        '[nodes.book_callback]\ntype = "callback"\nnext = "book_callback"',
        "call_flow.toml: nodes.book_callback: these nodes loop without waiting for the caller: "
        "book_callback → book_callback",
    ),
    ("tries_per_call = 3", "tries_per_call = 0", "call_flow.toml: limits.tries_per_call: must be"),
    (
        "failure_window_hours = 24",
        'failure_window_hours = "a day"',
        "call_flow.toml: limits.failure_window_hours: must be a whole number",
    ),
    (
        'type = "authenticate"',
        'type = "authenticat"',
        "call_flow.toml: nodes.authenticate.type: must be one of: say, ask,",
    ),
    (
        'verified = "choose_insured"',
        'verifed = "choose_insured"',
        "call_flow.toml: nodes.authenticate.verifed: unknown key",
    ),
    (
        'hold_music = "https://',
        'hold_music = "ftp://',
        "call_flow.toml: voice.hold_music: must be an http(s) URL",
    ),
    (
        'date = "{year}年{month}月{day}日"',
        'date = "{year}年{month}月{day}日{weekday}"',
        "call_flow.toml: speech.date: unknown placeholder {weekday}",
    ),
    (
        'callback_suffix = "-callback"',
        'callback_suffix = "' + "-" * 60 + '"',
        "call_flow.toml: queue.callback_suffix: queue 'medical",
    ),
    (
        "retry_minutes = [5, 15]",
        "retry_minutes = []",
        "call_flow.toml: callbacks.retry_minutes: must be a non-empty list",
    ),
    (
        'closed = "policy_closed"',
        'closed = "main_menu"',
        "call_flow.toml: nodes.policy_line.closed: must name a callback_offer or hangup node",
    ),
    (
        "[sms.health_e_station]",
        "[sms.transport]",
        "call_flow.toml: sms.transport: transport has no SMS link",
    ),
    (
        'service = "health_e_station"\ntransfer = "medical_queue"\nrefused = "policy_or_menu"\n'
        'sent = "after_sms"\nunsent = "no_sms"',
        'service = "health_e_station"\ntransfer = "medical_queue"\nrefused = "policy_or_menu"\n'
        'unsent = "no_sms"',
        "call_flow.toml: nodes.svc_health_e_station.sent: health_e_station is served by SMS link",
    ),
    (
        'service = "mdt"\ntransfer = "medical_queue"\nrefused = "policy_or_menu"',
        'service = "mdt"\ntransfer = "medical_queue"\nrefused = "policy_or_menu"\n'
        'sent = "after_sms"',
        "call_flow.toml: nodes.svc_mdt.sent: mdt has no SMS link",
    ),
    (
        "num_digits = 6",
        "num_digits = 0",
        "call_flow.toml: nodes.ask_suffix.num_digits: must be a whole number ≥ 1",
    ),
    ('speech_timeout = "auto"', "speech_timeout = 0", "call_flow.toml: voice.speech_timeout:"),
    ("[voice]", "[voices]", "call_flow.toml: voices: unknown key"),
    (
        "offer_seconds = 15",
        "offer_seconds = 3",
        "call_flow.toml: agents.offer_seconds: must be a whole number ≥ 5",
    ),
    (
        "offer_seconds = 15",
        "offer_seconds = 601",
        "call_flow.toml: agents.offer_seconds: must be a whole number from 5 to 600",
    ),
    (
        "reconcile_seconds = 30",
        "reconcile_seconds = 2",
        "call_flow.toml: agents.reconcile_seconds: must be at least sweep_seconds",
    ),
    (
        "wrap_up_seconds = 30",
        "wrap_up_second = 30",
        "call_flow.toml: agents.wrap_up_second: unknown key",
    ),
    (
        "tier_jump_seconds = { haohua = 60, zunxiang = 30 }",
        "tier_jump_seconds = { haohua = 90, zunxiang = 30 }",
        "call_flow.toml: queue.tier_jump_seconds.haohua: must be at most "
        "max_priority_jump_seconds (60)",
    ),
    (
        "tier_jump_seconds = { haohua = 60, zunxiang = 30 }",
        "tier_jump_seconds = { gold = 60 }",
        "call_flow.toml: queue.tier_jump_seconds.gold: unknown tier",
    ),
    (
        "tier_priority = false",
        'tier_priority = "no"',
        "call_flow.toml: queue.tier_priority: must be true or false",
    ),
]


def test_an_agents_shift_has_spec_section_6_defaults_and_tier_priority_is_off():
    agents = FLOW.agents
    assert (agents.offer_seconds, agents.wrap_up_seconds, agents.desk_gone_seconds) == (15, 30, 60)
    assert agents.sweep_seconds <= 5 and agents.reconcile_seconds <= 60
    assert FLOW.queue.tier_priority is False
    assert FLOW.queue.jump_seconds("haohua") == 0


def test_tier_priority_turned_on_jumps_a_tier_at_most_the_bound(flows_dir):
    edit(flows_dir, "tier_priority = false", "tier_priority = true")
    queue = flows.load(flows_dir).call_flow.queue
    assert (queue.jump_seconds("haohua"), queue.jump_seconds("zunxiang")) == (60, 30)
    assert (queue.jump_seconds("anxin"), queue.jump_seconds(None)) == (0, 0)


@pytest.mark.parametrize(("old", "new", "message"), BAD, ids=[b[2].split(": ")[1] for b in BAD])
def test_a_bad_call_flow_is_refused_naming_the_key(flows_dir, old, new, message):
    edit(flows_dir, old, new)
    with pytest.raises(FlowError) as caught:
        flows.load(flows_dir)
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "lines.toml",
            'phone = "028-96555"',
            'phone = "028/96555"',
            "lines.toml: lines.policy.phone: callers hear it digit by digit",
        ),
        (
            "lines.toml",
            'name = "国宝人寿客户服务"',
            'name = "国宝人寿客户服务#"',
            "lines.toml: lines.policy.name: '#' would be read out",
        ),
        (
            "programme.toml",
            'name = "尊享档"',
            'name = "尊享档*"',
            "programme.toml: tiers[1].name: '*' would be read out",
        ),
    ],
)
def test_names_the_call_flow_says_from_other_files_must_be_speakable(
    flows_dir, name, old, new, message
):
    edit(flows_dir, old, new, name)
    with pytest.raises(FlowError) as caught:
        flows.load(flows_dir)
    assert str(caught.value).startswith(message), str(caught.value)


def test_every_message_and_label_of_the_shipped_flow_is_speakable():
    texts = [*FLOW.messages.values(), *FLOW.speech.values(), *FLOW.spoken_services.values()]
    texts += [o.label for n in FLOW.nodes.values() if isinstance(n, Menu) for o in n.options]
    texts += [o.label for o in FLOW.keys]
    literal = [re.sub(r"\{\w*\}", "", t) for t in texts]
    assert [t for t in literal if speakable.symbols(t)] == []
    transport = flows.load().programme.service("transport")
    assert (transport.name, FLOW.service_name(transport)) == ("门诊/住院交通", "门诊或住院交通")


def test_a_missing_call_flow_is_refused(flows_dir):
    (flows_dir / "call_flow.toml").unlink()
    with pytest.raises(FlowError, match=r"call_flow.toml: missing from"):
        flows.load(flows_dir)


def test_a_service_missing_from_the_catalogue_is_refused_in_the_menu(flows_dir):
    # Removing a service from services.toml must not leave the menu pointing at it.
    text = (flows_dir / "services.toml").read_text(encoding="utf-8")
    start = text.index('[[services]]\ncode = "care_planner"')
    end = text.index("# Menu groups")
    (flows_dir / "services.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(FlowError, match=r"nodes.svc_care_planner.service: unknown service"):
        flows.load(flows_dir)
