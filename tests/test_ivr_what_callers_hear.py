"""SPEC §8 over every path of the shipped call flow, found by trying every answer.

The engine is pure, so a call can be walked from the greeting by every key, by
silence and by the words a caller might say, turn after turn, in several
households and at several hours. Every turn of every path is checked: nothing a
voice would read as a symbol, silence and a wrong key answered differently, each
key of the key map meaning one thing wherever it is pressed, and no word of a
transfer unless the caller is being put in a queue, nor of an SMS unless one is
queued.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

import pytest
from domain_fixtures import loaded, policy
from ivr_fakes import World, message

from flows import speakable
from flows.nodes import Ask, CallbackOffer, ChooseInsured, Hangup, Menu, Transfer
from ivr import engine, replies
from ivr.call_state import CallState

FLOWS = loaded()
FLOW = FLOWS.call_flow
KEYS = "0123456789*#"
HOLDER_PHONE = "+8613812345678"
SUFFIX = HOLDER_PHONE[-6:]
# Turns from the greeting: enough to reach every service, what follows it, and back.
DEPTH = 9
# Said only by a transfer node as it puts the caller in a queue, or by the degraded answer.
TRANSFER_WORDS = ("转接", "接通")
SILENCE_MESSAGES = {message(m) for m in ("no_input", "no_digits", "no_speech")}
WRONG_MESSAGES = {message(m) for m in ("wrong_input", "invalid_digits", "invalid_speech")} | {
    message("too_many_wrong")
}
OFFER = re.compile(r"([^。；，]+)请按([^。；，]+)[。；]")


CALLER = "+8613900001111"


@dataclass
class Scenario:
    world: World
    caller: str | None = CALLER


def family(at: datetime, sms: bool = True, caller: str | None = CALLER) -> Scenario:
    """张伟 for himself, 章炜 (once masked, sounds like him: 章某), 张小伟 in the waiting period."""
    world = World(now=at, sms_configured=sms)
    world.person("P1", "张伟", HOLDER_PHONE)
    world.insure("P1", "P1", policy(600_000))
    world.person("P2", "章炜")
    world.insure("P1", "P2", policy(200_000))
    world.person("P3", "张小伟")
    world.insure("P1", "P3", policy(400_000, cooling_off_end="2026-02-20"))
    return Scenario(world, caller)


def without_tier(at: datetime) -> Scenario:
    world = World(now=at)
    world.person("P1", "张伟", HOLDER_PHONE)
    world.insure("P1", "P1", policy(600_000, status="surrendered"))
    return Scenario(world)


def locked(at: datetime) -> Scenario:
    scenario = family(at)
    scenario.world.by_number[CALLER] = FLOW.limits.failures_per_number
    return scenario


MORNING, EVENING, NIGHT = (datetime(2026, 3, 10, h, 30) for h in (10, 18, 23))
SCENARIOS = {
    "a family in the morning (both lines open)": lambda: family(MORNING),
    "a family in the evening (the policy line closed)": lambda: family(EVENING),
    "a family at night (both closed)": lambda: family(NIGHT),
    "a family at night without SMS": lambda: family(NIGHT, sms=False),
    "a family in the morning without SMS": lambda: family(MORNING, sms=False),
    "a withheld number at night": lambda: family(NIGHT, caller=None),
    "a policyholder without a tier": lambda: without_tier(MORNING),
    "a locked-out number": lambda: locked(MORNING),
}


@dataclass(frozen=True)
class Turn:
    before: CallState | None
    event: engine.Event | None
    after: CallState
    reply: replies.Reply

    @property
    def heard(self) -> list[str]:
        return self.reply.heard()


def answers(state: CallState) -> list[engine.Event]:
    """Every key alone, silence, and what a caller might say or key in at this node.

    After a silence or a wrong answer, only more of them: the rest was tried already
    from the same node, and the counts only change what those two lead to.
    """
    node = FLOW.node(state.node)
    if state.wrong or state.silences:
        return [engine.Silence(), engine.Digits("#")]
    events: list[engine.Event] = [engine.Digits(k) for k in KEYS] + [engine.Silence()]
    if isinstance(node, Ask) and node.input == "digits":
        events += [engine.Digits(SUFFIX), engine.Digits("000000")]
    elif isinstance(node, Ask):
        events += [engine.Speech("张伟"), engine.Speech("李四"), engine.Speech("。")]
    elif isinstance(node, Menu):
        # The key map's words; a menu's own words lead where its keys do.
        events += [engine.Speech(option.words[0]) for option in FLOW.keys]
        events += [engine.Speech(node.options[0].words[0])] if node.options else []
        events += [engine.Speech("天气怎么样")]
    elif isinstance(node, ChooseInsured):
        events += [engine.Digits("10"), engine.Speech("二")]
    return events


def _key(state: CallState) -> str:
    return repr(replace(state, step=0))


def walk(scenario: Scenario) -> list[Turn]:
    """Every turn of every path from the greeting, ``DEPTH`` answers deep, each state once."""
    facts = scenario.world.facts()
    fresh = CallState(call_sid="CA" + "0" * 32, caller=scenario.caller, called="+861058000000")
    state, reply = engine.start(FLOWS, fresh, facts)
    turns = [Turn(None, None, state, reply)]
    seen = {_key(state)}
    frontier = [turns[0]]
    for _ in range(DEPTH):
        following = []
        for turn in frontier:
            wait = turn.reply.wait
            if isinstance(wait, replies.Enqueue):
                # Out of the queue: to leave a callback, or on a queue error.
                steps = [
                    engine.jump(FLOWS, turn.after, node, facts)
                    for node in (FLOW.queue.on_leave, FLOW.queue.on_error)
                ]
                events = [None, None]
            elif isinstance(wait, replies.Gather):
                events = answers(turn.after)
                steps = [engine.step(FLOWS, turn.after, e, facts) for e in events]
            else:
                continue
            for event, (after, reply) in zip(events, steps, strict=True):
                taken = Turn(turn.after, event, after, reply)
                turns.append(taken)
                key = _key(after) + type(reply.wait).__name__
                if key not in seen:
                    seen.add(key)
                    following.append(taken)
        frontier = following
    return turns


WALKS = {name: walk(make()) for name, make in SCENARIOS.items()}
ALL = [turn for turns in WALKS.values() for turn in turns]


def test_the_walk_reaches_every_node_of_the_flow():
    reached = {turn.after.node for turn in ALL}
    # Nodes that pass straight on leave no trace in the state; those that wait or end do.
    stops = {
        name
        for name, node in FLOW.nodes.items()
        if isinstance(node, Ask | Menu | ChooseInsured | CallbackOffer | Hangup | Transfer)
    }
    assert stops - reached == set()
    assert len(ALL) > 5000


@pytest.mark.parametrize("scenario", sorted(WALKS))
def test_no_prompt_has_a_symbol_a_voice_would_read_out(scenario):
    for turn in WALKS[scenario]:
        for said in turn.heard:
            assert speakable.symbols(said) == [], (said, turn.after.node)
            # Numbers on file are said digit by digit; a year is read as one well enough.
            assert not re.search(r"\d{4}(?!年)", said), said


@pytest.mark.parametrize("scenario", sorted(WALKS))
def test_transfer_words_are_said_only_as_the_caller_is_put_in_a_queue(scenario):
    for turn in WALKS[scenario]:
        heard = turn.heard
        transfer = [i for i, said in enumerate(heard) if any(w in said for w in TRANSFER_WORDS)]
        if transfer:
            assert isinstance(turn.reply.wait, replies.Enqueue), heard
            assert transfer == [len(heard) - 1], heard  # nothing after it: no closed line
        if isinstance(turn.reply.wait, replies.Hangup):
            # Nothing is offered, nor asked again, just before the call ends.
            assert not any("请按" in said or "重新" in said for said in heard), heard


@pytest.mark.parametrize("scenario", sorted(WALKS))
def test_an_sms_is_said_to_be_on_its_way_only_when_it_is_queued(scenario):
    for turn in WALKS[scenario]:
        sent = [e for e in turn.reply.effects if isinstance(e, replies.SendSmsLink)]
        promised = [said for said in turn.heard if "短信发送至" in said]
        assert len(sent) == len(promised), turn.heard
        assert not any("已发送" in said or "已通过短信" in said for said in turn.heard)


@pytest.mark.parametrize("scenario", sorted(WALKS))
def test_silence_and_a_wrong_key_get_different_prompts(scenario):
    by_state: dict[str, dict[str, Turn]] = {}
    for turn in WALKS[scenario]:
        if turn.before is not None and turn.event is not None:
            answer = turn.event
            kind = (
                "silence"
                if isinstance(answer, engine.Silence)
                else "wrong"
                if answer == engine.Digits("#")
                else None
            )
            if kind:
                by_state.setdefault(_key(turn.before), {})[kind] = turn
    assert by_state
    for answered in by_state.values():
        silent, wrong = answered["silence"], answered["wrong"]
        assert silent.heard[0] in SILENCE_MESSAGES, silent.heard
        assert wrong.heard[0] in WRONG_MESSAGES, wrong.heard
        assert silent.heard[0] != wrong.heard[0]


@pytest.mark.parametrize("scenario", sorted(WALKS))
def test_each_key_of_the_key_map_means_one_thing_wherever_it_is_pressed(scenario):
    keys = FLOW.keys
    closed = {node.closed for node in FLOW.nodes.values() if isinstance(node, Transfer)}
    for turn in WALKS[scenario]:
        if turn.before is None or not isinstance(turn.event, engine.Digits):
            continue
        node = FLOW.node(turn.before.node)
        key = turn.event.value
        if not isinstance(node, Menu | ChooseInsured | CallbackOffer):
            continue
        if key == keys.repeat.key:
            assert turn.after.node == node.name and turn.heard, turn.heard
            assert not set(turn.heard) & (SILENCE_MESSAGES | WRONG_MESSAGES)
        elif key == keys.main_menu.key and isinstance(node, Menu):
            assert turn.after.node == keys.main_menu.goto
        elif key == keys.person.key and not isinstance(node, CallbackOffer):
            # A person: the queue, or, out of hours, the closed line's callback offer.
            assert isinstance(turn.reply.wait, replies.Enqueue) or turn.after.node in closed


def test_every_prompt_says_the_key_map_the_same_way():
    labels: dict[str, Counter] = {}
    for turn in ALL:
        for said in turn.heard:
            for label, key in OFFER.findall(said):
                labels.setdefault(key, Counter())[label] += 1
    assert set(labels["9"]) == {FLOW.keys.repeat.label}
    assert set(labels["星号键"]) == {FLOW.keys.main_menu.label}
    assert "星号" not in labels and "*" not in labels


def test_insured_people_who_sound_alike_are_told_apart_and_said_with_mou():
    heard = {
        said for turn in WALKS["a family in the morning (both lines open)"] for said in turn.heard
    }
    assert message("choose_insured_option", name="投保人本人张某", key="1") in heard
    assert message("choose_insured_option", name="章某", key="2") in heard
    assert message("choose_insured_option", name="张某伟", key="3") in heard
