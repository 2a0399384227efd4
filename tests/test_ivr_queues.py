"""Waiting in a line's queue, leaving it, and agents taking calls (SPEC §4 steps 6–7)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from ivr_calls import (
    FLOW,
    FLOWS,
    WANG,
    ZHANG,
    add_agent,
    as_zhang_wei,
    figures,
    in_medical_queue,
    load,
    message,
)
from sqlalchemy import select

from live import announcements, queueboard, store
from storage import db
from storage.models import Agent, Callback


@pytest.fixture
def family(import_feed):
    load(import_feed)


def screen_pops(app, agent: str) -> list[announcements.CallTaken]:
    with app.app_context():
        entries = store.redis().xrange(announcements.stream_key(agent))
    return [announcements.decode(fields) for _, fields in entries]


# -- waiting -------------------------------------------------------------------------------


def test_the_caller_at_the_head_hears_no_position_or_estimate(app, exchange, family):
    add_agent(app, "alice")  # available: being put through is what happens next
    phone = in_medical_queue(exchange, "+8613900000011")
    heard = phone.wait()
    assert heard[0] == message("queue_head")
    assert not any("预计等待" in h for h in heard)
    assert set(phone.played) == {FLOW.voice.hold_music}


def test_an_agent_available_only_for_another_line_promises_the_head_nothing(app, exchange, family):
    add_agent(app, "olga", queues=("policy",))
    add_agent(app, "bea", available=False)
    phone = in_medical_queue(exchange, "+8613900000011")
    assert message("queue_head") not in phone.wait()
    add_agent(app, "alice")
    assert message("queue_head") in phone.wait()


def test_a_caller_further_back_hears_the_position_and_a_first_estimate(exchange, family):
    in_medical_queue(exchange, "+8613900000011")
    in_medical_queue(exchange, "+8613900000012", WANG)
    third = in_medical_queue(exchange, "+8613900000013")
    # No answered calls yet: the configured guess per caller ahead and at the head.
    minutes = 3 * FLOW.queue.fallback_seconds_per_caller // 60
    assert third.wait()[0] == message("queue_position", ahead=2, minutes=minutes)


def test_the_estimate_follows_how_fast_agents_have_been_answering(app, exchange, clock, family):
    for i in range(4):
        in_medical_queue(exchange, f"+861390000002{i}")
    for name in ("alice", "bob", "cat"):
        add_agent(app, name)
        clock.set(clock.now() + timedelta(seconds=40))
        exchange.agent(name).dial().take()
    waiting = [p for p in exchange.queues["medical"]]
    assert len(waiting) == 1
    later = in_medical_queue(exchange, "+8613900000029")
    later.wait()
    # Answers 40 s apart; second in the queue: about 80 s, said as 2 minutes.
    assert message("queue_position", ahead=1, minutes=2) in later.heard


def test_pressing_the_leave_key_books_a_callback_to_the_number_on_file(app, exchange, family):
    phone = in_medical_queue(exchange, "+8613900000031")
    phone.press_in_queue(FLOW.queue.leave_key)
    assert message("callback_booked", when=message("callback_soon"), phone_tail="五六七八") in (
        phone.heard
    )
    assert phone.ended
    with app.app_context():
        (callback,) = db.session().scalars(select(Callback)).all()
    assert (callback.number, callback.line, callback.verified) == (ZHANG[2], "medical", True)
    assert (callback.insured_id, callback.service) == ("P1", "outpatient_booking")
    assert figures(app, exchange_clock(app)).left_for_callback == 1


def exchange_clock(app):
    from runtime import current_clock

    with app.app_context():
        return current_clock()


def test_another_key_in_the_queue_keeps_the_caller_waiting(exchange, family):
    phone = in_medical_queue(exchange, "+8613900000032")
    phone.press_in_queue("5")
    assert phone.in_queue and phone.played[-1] == FLOW.voice.hold_music


def test_hanging_up_in_the_queue_after_the_short_abandon_threshold_is_counted_abandoned(
    app, exchange, clock, family
):
    phone = in_medical_queue(exchange, "+8613900000033")
    assert figures(app, clock).waiting == 1
    clock.set(clock.now() + timedelta(seconds=FLOWS.reports.rules.short_abandon_seconds + 1))
    phone.hang_up()
    found = figures(app, clock)
    assert (found.waiting, found.offered, found.abandoned, found.answered) == (0, 1, 1, 0)
    assert (found.short_abandons, found.service_level) == (0, 0.0)


def test_hanging_up_at_once_is_a_short_abandon_left_out_of_the_service_level(
    app, exchange, clock, family
):
    phone = in_medical_queue(exchange, "+8613900000035")
    clock.set(clock.now() + timedelta(seconds=FLOWS.reports.rules.short_abandon_seconds))
    phone.hang_up()
    found = figures(app, clock)
    assert (found.offered, found.abandoned, found.short_abandons) == (1, 0, 1)
    assert found.service_level is None


def test_a_full_queue_apologises_with_the_line_number(exchange, family):
    phone = in_medical_queue(exchange, "+8613900000034").fail_queue("queue-full")
    assert FLOWS.line("medical").phone == "4006-058-056"
    assert message("queue_failed", line_phone="四零零六，零五八，零五六") in phone.heard
    assert phone.ended


# -- agents --------------------------------------------------------------------------------


def test_an_agent_takes_the_call_and_the_screen_pop_comes_before_the_bridge(
    app, exchange, clock, family
):
    add_agent(app, "alice")
    phone = in_medical_queue(exchange, "+8613900000041")
    clock.set(clock.now() + timedelta(seconds=12))
    agent = exchange.agent("alice").dial()
    assert agent.queue == "medical"
    assert agent.take() is phone
    assert phone.heard[-1] == message("queue_connecting")
    (pop,) = screen_pops(app, "alice")
    assert pop.call_sid == phone.call_sid
    assert (pop.verified, pop.policyholder_id, pop.insured_id) == (True, "P1", "P1")
    assert (pop.service, pop.line, pop.queue, pop.queue_seconds) == (
        "outpatient_booking",
        "medical",
        "medical",
        12,
    )
    assert pop.caller == "+8613900000041"
    found = figures(app, clock)
    assert (found.answered, found.answered_within_sl, found.waiting) == (1, 1, 0)
    phone.hang_up()
    assert (figures(app, clock).abandoned, figures(app, clock).short_abandons) == (0, 0)


def test_an_answer_after_the_service_level_threshold_is_counted_outside_it(
    app, exchange, clock, family
):
    add_agent(app, "alice")
    in_medical_queue(exchange, "+8613900000042")
    clock.set(clock.now() + timedelta(seconds=FLOW.limits.service_level_seconds + 1))
    exchange.agent("alice").dial().take()
    found = figures(app, clock)
    assert (found.answered, found.answered_within_sl, found.service_level) == (1, 0, 0.0)
    assert found.average_speed_of_answer == FLOW.limits.service_level_seconds + 1


def test_a_retried_queue_document_counts_and_pops_once(app, exchange, family):
    add_agent(app, "alice")
    phone = in_medical_queue(exchange, "+8613900000043")
    agent = exchange.agent("alice").dial()
    agent.take()
    phone.request(agent.queue_url, QueueTime=10, DequeingCallSid=agent.call_sid)
    assert len(screen_pops(app, "alice")) == 1


def test_an_unverified_caller_pops_as_unverified(app, exchange, family):
    add_agent(app, "alice")
    exchange.call("+8613900000044").dial().press("0")
    exchange.agent("alice").dial().take()
    (pop,) = screen_pops(app, "alice")
    assert (pop.verified, pop.policyholder_id, pop.insured_id) == (False, None, None)


def test_an_agent_serves_the_queue_whose_head_has_waited_longest(app, exchange, clock, family):
    add_agent(app, "bob", ["medical", "policy"])
    as_zhang_wei(exchange, "+8613900000051").press("0")
    clock.set(clock.now() + timedelta(seconds=30))
    in_medical_queue(exchange, "+8613900000052", WANG)
    assert exchange.agent("bob").dial().queue == "policy"


def test_callers_returning_on_a_callback_are_served_first(app, exchange, clock, family):
    add_agent(app, "bob", ["medical"])
    in_medical_queue(exchange, "+8613900000053")
    with app.app_context():
        queueboard.enqueued(
            store.redis(),
            FLOW.callback_queue(FLOWS.line("medical")),
            "CA-returning",
            clock.now().timestamp() + 60,
        )
    assert exchange.agent("bob").dial().queue == "medical-callback"


def test_with_nobody_waiting_an_agent_waits_on_their_first_queue(app, exchange, family):
    add_agent(app, "carol", ["policy", "medical"])
    agent = exchange.agent("carol").dial()
    assert agent.queue == "policy" and agent.queue_url.endswith("/ivr/queue/connect?line=policy")


def test_an_unknown_agent_is_told_so(app, exchange, family):
    agent = exchange.agent("nobody").dial()
    assert agent.heard == [message("agent_unknown")] and agent.queue is None


def test_an_agent_without_queues_is_told_so(app, exchange, family):
    add_agent(app, "dave")
    with app.app_context():
        session = db.session()
        session.scalar(select(Agent).where(Agent.username == "dave")).queues = ""
        session.commit()
    agent = exchange.agent("dave").dial()
    assert agent.heard == [message("agent_no_queues")]


def test_a_call_that_is_not_from_a_client_is_not_an_agent(exchange, family):
    phone = exchange.call("+8613900000061")
    status, body = exchange.post(exchange.url("/ivr/agent"), phone.params())
    assert status == 200 and message("agent_unknown") in body


def test_the_queue_document_holds_only_what_twilio_allows(app, exchange, family):
    add_agent(app, "alice")
    phone = in_medical_queue(exchange, "+8613900000062")
    exchange.agent("alice").dial().take()  # the softphone refuses any other verb
    assert "<Hangup" not in phone.last_twiml and "<Gather" not in phone.last_twiml


def test_the_screen_pop_is_the_desk_seams_json(app, exchange, family):
    add_agent(app, "alice")
    in_medical_queue(exchange, "+8613900000063")
    exchange.agent("alice").dial().take()
    with app.app_context():
        ((_, fields),) = store.redis().xrange(announcements.stream_key("alice"))
    data = json.loads(fields[b"call"])
    assert data["taken_at"].startswith("2026-03-10T10:30:00")


def test_the_agents_queue_panel_shows_each_callers_tier_as_the_ivr_read_it(
    app, exchange, clock, family
):
    in_medical_queue(exchange, "+8613900000081")  # 张伟 for himself: 豪华档
    in_medical_queue(exchange, "+8613900000082", WANG)  # 王芳: 安心档
    unverified = exchange.call("+8613900000083").dial().press("0")
    assert unverified.in_queue
    with app.app_context():
        waiting = queueboard.waiting(store.redis(), ["medical"], clock.now().timestamp() + 1)
    # (The frozen clock enters them at one moment: their order is no part of this.)
    assert sorted((w.name, w.tier or "") for w in waiting) == [
        ("", ""),
        ("张*", "haohua"),
        ("王*", "anxin"),
    ]
