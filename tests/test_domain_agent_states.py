"""An agent's state machine (SPEC §6): every transition, and every one refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import agent_states as rules
from domain.agent_states import AgentState, Refused, Status

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)
NOW = T0 + timedelta(minutes=5)
WRAP = 30
QUEUES = ("medical",)


def in_state(status: Status, **changes) -> AgentState:
    """An agent in ``status`` since T0, about call CA1 when a call holds them."""
    values = {"status": status, "since": T0, "queues": QUEUES}
    if status in rules.HELD:
        values["call_sid"] = "CA1"
    if status is Status.WRAP_UP:
        values["wrap_up_until"] = T0 + timedelta(seconds=WRAP)
    if status is Status.BREAK:
        values["reason"] = "lunch"
    values.update(changes)
    return AgentState(**values)


SELF_SET = (Status.OFFLINE, Status.AVAILABLE, Status.BREAK)
ALL = tuple(Status)


# -- what agents choose --------------------------------------------------------------------


@pytest.mark.parametrize("before", SELF_SET)
@pytest.mark.parametrize("wanted", SELF_SET)
def test_an_agent_not_held_by_a_call_takes_the_status_they_choose_at_once(before, wanted):
    after = rules.choose(in_state(before), wanted, NOW)
    assert after.status is wanted
    assert after.next is None
    assert after.queues == QUEUES
    if before is wanted and wanted is not Status.BREAK:
        assert after.since == T0  # the same status again keeps the time it began
    else:
        assert after.since == NOW


@pytest.mark.parametrize("held", sorted(rules.HELD))
@pytest.mark.parametrize("wanted", SELF_SET)
def test_a_choice_made_while_a_call_holds_the_agent_is_kept_for_after(held, wanted):
    before = in_state(held)
    after = rules.choose(before, wanted, NOW, reason="meeting")
    assert (after.status, after.since, after.call_sid) == (held, T0, "CA1")
    assert after.next is wanted
    assert after.next_reason == ("meeting" if wanted is Status.BREAK else None)


@pytest.mark.parametrize("before", ALL)
@pytest.mark.parametrize("wanted", sorted(rules.HELD))
def test_the_states_calls_set_are_never_chosen(before, wanted):
    with pytest.raises(Refused) as refused:
        rules.choose(in_state(before), wanted, NOW)
    assert refused.value.code == "not_choosable"


def test_a_status_that_does_not_exist_is_refused_by_name():
    with pytest.raises(Refused) as refused:
        rules.choose(in_state(Status.OFFLINE), "busy", NOW)
    assert refused.value.code == "invalid_status"


def test_a_break_keeps_its_reason_and_other_statuses_have_none():
    assert rules.choose(in_state(Status.OFFLINE), "break", NOW, reason="lunch").reason == "lunch"
    assert rules.choose(in_state(Status.OFFLINE), "available", NOW, reason="lunch").reason is None


def test_choosing_takes_the_queues_the_agent_serves_now():
    after = rules.choose(in_state(Status.OFFLINE), "available", NOW, queues=("policy",))
    assert after.queues == ("policy",)


@pytest.mark.parametrize("before", (Status.AVAILABLE, Status.BREAK))
def test_signing_out_makes_an_agent_offline(before):
    after = rules.sign_out(in_state(before), NOW)
    assert (after.status, after.reason, after.since) == (Status.OFFLINE, rules.SIGNED_OUT, NOW)


def test_signing_out_when_offline_changes_nothing():
    before = in_state(Status.OFFLINE)
    assert rules.sign_out(before, NOW) == before


@pytest.mark.parametrize("held", sorted(rules.HELD))
def test_signing_out_during_a_call_goes_offline_after_it(held):
    after = rules.sign_out(in_state(held), NOW)
    assert (after.status, after.next) == (held, Status.OFFLINE)


def test_a_desk_gone_makes_an_available_agent_offline():
    after = rules.desk_gone(in_state(Status.AVAILABLE), NOW)
    assert (after.status, after.reason) == (Status.OFFLINE, rules.DESK_GONE)


@pytest.mark.parametrize("before", [s for s in ALL if s is not Status.AVAILABLE])
def test_a_desk_gone_changes_no_one_but_an_available_agent(before):
    with pytest.raises(Refused):
        rules.desk_gone(in_state(before), NOW)


# -- offers and calls --------------------------------------------------------------------------


def test_an_available_agent_is_offered_a_call():
    after = rules.offer(in_state(Status.AVAILABLE), "CA9", NOW)
    assert (after.status, after.call_sid, after.since) == (Status.OFFERED, "CA9", NOW)


def test_a_pull_reserves_the_agent_on_their_own_leg():
    after = rules.offer(in_state(Status.AVAILABLE), None, NOW, leg="CAleg")
    assert (after.status, after.call_sid, after.leg) == (Status.OFFERED, None, "CAleg")


@pytest.mark.parametrize("before", [s for s in ALL if s is not Status.AVAILABLE])
def test_only_an_available_agent_is_offered_a_call(before):
    with pytest.raises(Refused) as refused:
        rules.offer(in_state(before), "CA9", NOW)
    assert refused.value.code == "not_available"


def test_answering_the_offered_call_puts_the_agent_on_it():
    after = rules.answer(in_state(Status.OFFERED), "CA1", NOW, leg="CAleg")
    assert (after.status, after.call_sid, after.leg, after.since) == (
        Status.ON_CALL,
        "CA1",
        "CAleg",
        NOW,
    )


def test_answering_keeps_what_the_agent_asked_for_next():
    before = in_state(Status.OFFERED, next=Status.BREAK, next_reason="lunch")
    after = rules.answer(before, "CA1", NOW)
    assert (after.next, after.next_reason) == (Status.BREAK, "lunch")


def test_a_pulled_call_is_answered_with_the_caller_it_found():
    before = in_state(Status.OFFERED, call_sid=None, leg="CAleg")
    after = rules.answer(before, "CAcaller", NOW, leg="CAleg")
    assert (after.status, after.call_sid) == (Status.ON_CALL, "CAcaller")


def test_an_answer_after_the_offer_expired_here_still_puts_the_agent_on_the_call():
    after = rules.answer(in_state(Status.AVAILABLE), "CA1", NOW)
    assert (after.status, after.call_sid) == (Status.ON_CALL, "CA1")


def test_answering_twice_changes_nothing():
    before = in_state(Status.ON_CALL)
    assert rules.answer(before, "CA1", NOW) == before


@pytest.mark.parametrize(
    "before",
    [
        in_state(Status.OFFLINE),
        in_state(Status.BREAK),
        in_state(Status.WRAP_UP),
        in_state(Status.OFFERED, call_sid="CA2"),
        in_state(Status.ON_CALL, call_sid="CA2"),
    ],
    ids=["offline", "break", "wrap_up", "offered_another", "on_another"],
)
def test_an_answer_the_agent_was_not_offered_is_refused(before):
    with pytest.raises(Refused) as refused:
        rules.answer(before, "CA1", NOW)
    assert refused.value.code == "not_offered"


@pytest.mark.parametrize("before", (Status.ON_CALL, Status.OFFERED))
def test_the_end_of_the_call_starts_the_wrap_up(before):
    after = rules.hang_up(in_state(before, next=Status.OFFLINE), "CA1", NOW, WRAP)
    assert (after.status, after.since, after.call_sid) == (Status.WRAP_UP, NOW, "CA1")
    assert after.wrap_up_until == NOW + timedelta(seconds=WRAP)
    assert after.next is Status.OFFLINE and not after.extended


def test_the_end_of_a_pulled_call_is_known_by_the_agents_leg():
    before = in_state(Status.ON_CALL, leg="CAleg")
    assert rules.hang_up(before, None, NOW, WRAP, leg="CAleg").status is Status.WRAP_UP


def test_the_end_heard_twice_changes_nothing():
    before = in_state(Status.WRAP_UP)
    assert rules.hang_up(before, "CA1", NOW, WRAP) == before


@pytest.mark.parametrize(
    "before",
    [in_state(s) for s in SELF_SET] + [in_state(Status.ON_CALL, call_sid="CA2")],
    ids=[*(str(s) for s in SELF_SET), "on_another"],
)
def test_the_end_of_a_call_the_agent_is_not_on_is_refused(before):
    with pytest.raises(Refused) as refused:
        rules.hang_up(before, "CA1", NOW, WRAP)
    assert refused.value.code == "not_on_this_call"


def test_a_missed_offer_is_a_break_the_agent_ends_themselves():
    after = rules.miss(in_state(Status.OFFERED, next=Status.AVAILABLE), "CA1", NOW)
    assert (after.status, after.reason, after.next) == (Status.BREAK, rules.MISSED, None)


def test_a_missed_offer_of_an_agent_who_asked_to_go_offline_sends_them_offline():
    after = rules.miss(in_state(Status.OFFERED, next=Status.OFFLINE), "CA1", NOW)
    assert after.status is Status.OFFLINE


def test_a_miss_heard_twice_changes_nothing():
    before = in_state(Status.BREAK, reason=rules.MISSED)
    assert rules.miss(before, "CA1", NOW) == before


@pytest.mark.parametrize(
    "before",
    [
        in_state(Status.OFFLINE),
        in_state(Status.AVAILABLE),
        in_state(Status.BREAK),
        in_state(Status.ON_CALL),
        in_state(Status.WRAP_UP),
        in_state(Status.OFFERED, call_sid="CA2"),
    ],
    ids=["offline", "available", "break", "on_call", "wrap_up", "offered_another"],
)
def test_a_miss_of_an_offer_the_agent_does_not_have_is_refused(before):
    with pytest.raises(Refused) as refused:
        rules.miss(before, "CA1", NOW)
    assert refused.value.code == "not_offered"


def test_an_offer_called_off_returns_the_agent_to_available_or_to_what_they_asked():
    assert rules.withdraw(in_state(Status.OFFERED), "CA1", NOW).status is Status.AVAILABLE
    asked = in_state(Status.OFFERED, next=Status.BREAK, next_reason="lunch")
    after = rules.withdraw(asked, "CA1", NOW)
    assert (after.status, after.reason, after.next) == (Status.BREAK, "lunch", None)


def test_a_pull_that_found_nobody_is_called_off_by_the_agents_leg():
    before = in_state(Status.OFFERED, call_sid=None, leg="CAleg")
    assert rules.withdraw(before, None, NOW, leg="CAleg").status is Status.AVAILABLE


@pytest.mark.parametrize(
    "before",
    [in_state(s) for s in ALL if s is not Status.OFFERED]
    + [in_state(Status.OFFERED, call_sid="CA2")],
    ids=[*(str(s) for s in ALL if s is not Status.OFFERED), "offered_another"],
)
def test_calling_off_an_offer_the_agent_does_not_have_is_refused(before):
    with pytest.raises(Refused) as refused:
        rules.withdraw(before, "CA1", NOW)
    assert refused.value.code == "not_offered"


# -- the wrap-up -------------------------------------------------------------------------------


def test_the_wrap_up_ends_when_its_time_is_up_and_not_before():
    before = in_state(Status.WRAP_UP)
    with pytest.raises(Refused) as refused:
        rules.wrap_up_over(before, T0 + timedelta(seconds=WRAP - 1))
    assert refused.value.code == "not_due"
    after = rules.wrap_up_over(before, T0 + timedelta(seconds=WRAP))
    assert (after.status, after.call_sid, after.wrap_up_until) == (Status.AVAILABLE, None, None)


@pytest.mark.parametrize("wanted", SELF_SET)
def test_after_the_wrap_up_the_agent_takes_the_status_they_asked_for(wanted):
    before = in_state(Status.WRAP_UP, next=wanted, next_reason="lunch")
    after = rules.end_wrap_up(before, NOW)
    assert (after.status, after.next) == (wanted, None)
    assert after.reason == ("lunch" if wanted is Status.BREAK else None)


def test_the_wrap_up_may_be_extended_once_by_its_length():
    after = rules.extend_wrap_up(in_state(Status.WRAP_UP), T0 + timedelta(seconds=10), WRAP)
    assert after.wrap_up_until == T0 + timedelta(seconds=2 * WRAP)
    assert (after.status, after.since, after.extended) == (Status.WRAP_UP, T0, True)
    with pytest.raises(Refused) as refused:
        rules.extend_wrap_up(after, NOW, WRAP)
    assert refused.value.code == "already_extended"


def test_a_wrap_up_extended_after_its_time_runs_from_now():
    after = rules.extend_wrap_up(in_state(Status.WRAP_UP), NOW, WRAP)
    assert after.wrap_up_until == NOW + timedelta(seconds=WRAP)


@pytest.mark.parametrize("before", [s for s in ALL if s is not Status.WRAP_UP])
@pytest.mark.parametrize("rule", ["end", "over", "extend"])
def test_only_an_agent_wrapping_up_ends_or_extends_a_wrap_up(before, rule):
    state = in_state(before)
    act = {
        "end": lambda: rules.end_wrap_up(state, NOW),
        "over": lambda: rules.wrap_up_over(state, NOW),
        "extend": lambda: rules.extend_wrap_up(state, NOW, WRAP),
    }[rule]
    with pytest.raises(Refused) as refused:
        act()
    assert refused.value.code == "not_wrapping_up"
