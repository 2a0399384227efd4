"""Automatic distribution (SPEC §6), followed through Twilio's TwiML as Twilio plays it.

The exchange (``simulator.softphone``) is Twilio: callers dial and wait in its queues,
its REST side answers the distribution's Members update by taking the caller out of
the queue to the offer URL, whose ``<Dial><Client>`` rings the agent's browser phone;
the test then answers, rejects or lets it ring. ``dispatch`` runs the distribution as
the worker (or the demo's loop) does, and ``sweep`` its periodic sweep.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from ivr_calls import (
    FLOW,
    WANG,
    ZHANG,
    add_agent,
    figures,
    in_medical_queue,
    load,
    make_available,
    message,
    verified,
)
from sqlalchemy import select

import flows
import runtime
from domain.agent_states import Status
from live import agent_states, announcements, offers, queueboard, store
from services import call_notes, distribution
from storage import db
from storage.models import AgentStateChange, CallRecord

OFFER_SECONDS = FLOW.agents.offer_seconds


@pytest.fixture
def family(import_feed):
    load(import_feed)


def dispatch(app) -> list[offers.Offer]:
    """A run of the distribution, as the worker makes it."""
    return distribution.run(app)


def sweep(app) -> list[offers.Offer]:
    return distribution.run(app, sweep=True)


def state(app, username):
    with app.app_context():
        return agent_states.get(store.redis(), username)


def offered_to(exchange, app, username):
    """Run the distribution and let Twilio act on it: ``username``'s phone rings."""
    made = dispatch(app)
    assert [o.agent for o in made] == [username]
    assert exchange.deliver() == 1
    browser = exchange.browser(username)
    assert browser.ringing
    return browser


def screen_pops(app, agent):
    with app.app_context():
        entries = store.redis().xrange(announcements.stream_key(agent))
    return [announcements.decode(fields) for _, fields in entries]


def record(app, sid) -> CallRecord:
    with app.app_context():
        call_notes.written()  # this process's notes of calls, as a reader does
        found = db.session().get(CallRecord, sid)
        db.session().expunge_all()
        return found


# -- an offer, answered ---------------------------------------------------------------------


def test_a_waiting_caller_is_offered_to_the_available_agent_through_twilios_queue(
    app, exchange, twilio_rest, family
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000101")
    (offer,) = dispatch(app)
    assert (offer.call_sid, offer.agent, offer.queue) == (phone.call_sid, "ann", "medical")
    assert state(app, "ann").status is Status.OFFERED
    (update,) = twilio_rest.of("Members")
    assert update.method == "POST"
    assert update.url.endswith(f"/Members/{phone.call_sid}.json")
    assert update.data["Method"] == "POST"
    url = urlsplit(update.data["Url"])
    assert f"{url.scheme}://{url.netloc}" == "https://hotline.example.com"
    assert (url.path, parse_qs(url.query)["agent"]) == ("/ivr/offer", ["ann"])
    (pop,) = screen_pops(app, "ann")
    assert (pop.call_sid, pop.offer, pop.expires_in) == (phone.call_sid, True, OFFER_SECONDS)
    assert (pop.verified, pop.insured_id, pop.service) == (True, "P1", "outpatient_booking")
    exchange.deliver()
    assert not phone.in_queue and phone.dialing.identity == "ann"
    assert message("queue_connecting") in phone.heard
    assert exchange.browser("ann").ringing


def test_answering_puts_the_agent_on_the_call_and_counts_the_answer_once(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000102")
    clock.set(clock.now() + timedelta(seconds=12))
    ann = offered_to(exchange, app, "ann")
    ann.accept()
    found = state(app, "ann")
    assert (found.status, found.call_sid) == (Status.ON_CALL, phone.call_sid)
    board = figures(app, clock)
    assert (board.waiting, board.answered, board.answered_within_sl) == (0, 1, 1)
    noted = record(app, phone.call_sid)
    assert (noted.agent, noted.queue_result, round(noted.wait_seconds)) == ("ann", "answered", 12)


def test_hanging_up_starts_the_wrap_up_which_returns_the_agent_to_available_by_itself(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000103")
    ann = offered_to(exchange, app, "ann")
    ann.accept()
    ann.hang_up(talked=95)
    assert message("goodbye") in phone.heard and phone.ended
    found = state(app, "ann")
    assert found.status is Status.WRAP_UP
    assert found.wrap_up_until == clock.now() + timedelta(seconds=FLOW.agents.wrap_up_seconds)
    clock.set(clock.now() + timedelta(seconds=FLOW.agents.wrap_up_seconds - 1))
    sweep(app)
    assert state(app, "ann").status is Status.WRAP_UP
    clock.set(clock.now() + timedelta(seconds=1))
    sweep(app)
    assert state(app, "ann").status is Status.AVAILABLE
    noted = record(app, phone.call_sid)
    assert (noted.talk_seconds, noted.wrap_up_seconds) == (95, FLOW.agents.wrap_up_seconds)
    assert noted.end_status == "completed"


def test_a_status_asked_for_during_the_call_is_taken_after_the_wrap_up(
    app, client, exchange, twilio_rest, family, clock, make_agent, auth_for
):
    make_agent("ann")
    make_available(app, "ann")
    in_medical_queue(exchange, "+8613900000104")
    ann = offered_to(exchange, app, "ann")
    ann.accept()
    response = client.post(
        "/api/agents/me/status", json={"status": "break"}, headers=auth_for("ann")
    )
    assert (response.status_code, response.get_json()["next"]) == (202, "break")
    ann.hang_up()
    ended = client.post("/api/agents/me/wrap_up", json={"action": "end"}, headers=auth_for("ann"))
    assert ended.get_json()["status"] == "break"


def test_the_agent_state_log_has_every_spell_of_the_call(app, exchange, twilio_rest, family, clock):
    add_agent(app, "ann")
    in_medical_queue(exchange, "+8613900000105")
    ann = offered_to(exchange, app, "ann")
    ann.accept()
    ann.hang_up()
    clock.set(clock.now() + timedelta(minutes=1))
    sweep(app)
    with app.app_context():
        rows = db.session().scalars(select(AgentStateChange).order_by(AgentStateChange.id)).all()
    assert [r.state for r in rows] == ["available", "offered", "on_call", "wrap_up", "available"]
    assert all(r.ended_at is not None for r in rows[:-1]) and rows[-1].ended_at is None


# -- an offer that fails ----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["ring_out", "reject"])
def test_a_missed_offer_sends_the_agent_on_a_break_and_the_caller_to_the_next_agent(
    app, exchange, twilio_rest, family, clock, outcome
):
    add_agent(app, "ann")
    clock.set(clock.now() + timedelta(seconds=5))
    add_agent(app, "bob")
    phone = in_medical_queue(exchange, "+8613900000106")
    ann = offered_to(exchange, app, "ann")  # available longest
    getattr(ann, outcome)()
    found = state(app, "ann")
    assert (found.status, found.reason) == (Status.BREAK, "missed")
    assert phone.in_queue  # back in Twilio's queue, not hung up
    bob = offered_to(exchange, app, "bob")
    assert bob.incoming is phone
    bob.accept()
    assert state(app, "bob").status is Status.ON_CALL
    assert state(app, "ann").status is Status.BREAK  # until she makes herself available


def test_a_caller_whose_offer_failed_goes_ahead_of_everyone_who_came_after(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    first = in_medical_queue(exchange, "+8613900000107")
    clock.set(clock.now() + timedelta(seconds=30))
    second = in_medical_queue(exchange, "+8613900000108", WANG)
    ann = offered_to(exchange, app, "ann")
    assert ann.incoming is first
    ann.ring_out()
    make_available(app, "ann")
    again = offered_to(exchange, app, "ann")
    assert again.incoming is first
    assert second.in_queue


def test_a_missed_caller_keeps_the_wait_it_had_for_the_service_level(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000109")
    clock.set(clock.now() + timedelta(seconds=15))
    offered_to(exchange, app, "ann").ring_out()
    clock.set(clock.now() + timedelta(seconds=15))
    make_available(app, "ann")
    offered_to(exchange, app, "ann").accept()
    assert round(record(app, phone.call_sid).wait_seconds) == 30


def test_a_caller_who_hangs_up_while_the_agent_rings_frees_the_agent(
    app, exchange, twilio_rest, family
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000110")
    offered_to(exchange, app, "ann")
    phone.hang_up()
    assert state(app, "ann").status is Status.AVAILABLE
    assert not exchange.browser("ann").ringing
    with app.app_context():
        assert queueboard.waiting(store.redis(), ["medical"], 2e9) == []


def test_an_offer_twilio_cannot_deliver_is_called_off_without_blaming_the_agent(
    app, exchange, twilio_rest, family
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000111")
    exchange.queues.leave(phone)  # Twilio lost the caller; nobody told the hotline
    (offer,) = dispatch(app)
    assert state(app, "ann").status is Status.AVAILABLE
    assert dispatch(app) == []  # not offered again until Twilio shows the caller
    with app.app_context():
        assert offers.get(store.redis(), offer.call_sid) is None
        rows = db.session().scalars(select(AgentStateChange).order_by(AgentStateChange.id)).all()
    # Both spells in the SQL log, the offer's closed by her return, the return open.
    assert [(r.state, r.reason) for r in rows] == [
        ("available", None),
        ("offered", None),
        ("available", None),
    ]
    assert rows[1].ended_at == rows[2].started_at and rows[2].ended_at is None


def test_offers_called_off_in_one_run_log_every_agent_back_to_available(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    add_agent(app, "bob")
    first = in_medical_queue(exchange, "+8613900000113")
    second = in_medical_queue(exchange, "+8613900000114", WANG)
    exchange.queues.leave(first)
    exchange.queues.leave(second)
    assert len(dispatch(app)) == 2  # both offered in one run, both refused by Twilio
    with app.app_context():
        rows = db.session().scalars(select(AgentStateChange).order_by(AgentStateChange.id)).all()
    for agent in ("ann", "bob"):
        assert state(app, agent).status is Status.AVAILABLE
        spells = [r for r in rows if r.username == agent]
        assert [r.state for r in spells] == ["available", "offered", "available"]
        assert spells[-1].ended_at is None


def test_an_offer_found_called_off_when_twilio_comes_sends_the_caller_back_to_the_queue(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000112")
    dispatch(app)
    clock.set(clock.now() + timedelta(seconds=2 * OFFER_SECONDS + 31))
    sweep(app)  # the offer expired here before Twilio followed it
    assert state(app, "ann").status is Status.AVAILABLE
    exchange.deliver()
    assert phone.in_queue and not exchange.browser("ann").ringing


# -- who gets what -----------------------------------------------------------------------------


def test_nobody_is_offered_to_an_agent_who_is_not_available(app, exchange, twilio_rest, family):
    add_agent(app, "ann", available=False)
    in_medical_queue(exchange, "+8613900000113")
    assert dispatch(app) == []
    assert twilio_rest.of("Members") == []


def test_an_agent_is_offered_only_callers_of_the_queues_they_serve(
    app, exchange, twilio_rest, family
):
    add_agent(app, "pat", queues=("policy",))
    in_medical_queue(exchange, "+8613900000114")
    assert dispatch(app) == []
    add_agent(app, "ann")
    assert [o.agent for o in dispatch(app)] == ["ann"]


def test_each_caller_goes_to_another_agent_longest_available_first(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    clock.set(clock.now() + timedelta(seconds=1))
    add_agent(app, "bob")
    first = in_medical_queue(exchange, "+8613900000115")
    clock.set(clock.now() + timedelta(seconds=1))
    second = in_medical_queue(exchange, "+8613900000116", WANG)
    made = {o.call_sid: o.agent for o in dispatch(app)}
    assert made == {first.call_sid: "ann", second.call_sid: "bob"}
    assert dispatch(app) == []  # nobody offered twice


def test_a_caller_is_not_offered_before_twilio_has_them_in_its_queue(
    app, exchange, twilio_rest, family
):
    add_agent(app, "ann")
    phone = verified(exchange, ZHANG, "+8613900000117").press("1")
    phone.wait = lambda queue_time=0: []  # Twilio has not asked for the waitUrl yet
    phone.press("2").press("1")
    assert phone.in_queue
    assert dispatch(app) == []
    del phone.wait
    phone.wait()
    assert [o.call_sid for o in dispatch(app)] == [phone.call_sid]


def test_the_head_of_the_queue_is_not_told_they_are_about_to_be_put_through_by_nobody(
    app, exchange, twilio_rest, family
):
    phone = in_medical_queue(exchange, "+8613900000118")
    assert message("queue_head") not in phone.heard
    add_agent(app, "ann")
    assert message("queue_head") in phone.wait()


def test_without_twilio_settings_nothing_is_offered(app, exchange, twilio_rest, family):
    add_agent(app, "ann")
    in_medical_queue(exchange, "+8613900000119")
    app.config["PUBLIC_BASE_URL"] = None
    assert dispatch(app) == []
    assert state(app, "ann").status is Status.AVAILABLE


# -- pulling a call (the TwiML App) -----------------------------------------------------------


def test_an_agent_who_is_not_available_cannot_pull_a_call(app, exchange, twilio_rest, family):
    add_agent(app, "ann", available=False)
    in_medical_queue(exchange, "+8613900000120")
    agent = exchange.agent("ann").dial()
    assert agent.queue is None
    assert agent.heard == [message("agent_not_available")]


def test_an_available_agent_pulls_the_next_caller_and_is_on_the_call_until_it_ends(
    app, exchange, twilio_rest, family
):
    add_agent(app, "ann")
    phone = in_medical_queue(exchange, "+8613900000121")
    agent = exchange.agent("ann").dial()
    assert agent.queue == "medical"
    assert state(app, "ann").status is Status.OFFERED  # reserved: nothing else is offered
    assert dispatch(app) == []
    assert agent.take() is phone
    assert state(app, "ann").status is Status.ON_CALL
    phone.hang_up()
    assert state(app, "ann").status is Status.WRAP_UP


def test_a_pull_that_finds_nobody_frees_the_agent_when_their_call_ends(
    app, exchange, twilio_rest, family
):
    add_agent(app, "ann")
    agent = exchange.agent("ann").dial()
    assert state(app, "ann").status is Status.OFFERED
    assert agent.take() is None
    agent.hang_up()
    assert state(app, "ann").status is Status.AVAILABLE


def test_with_tier_priority_on_a_higher_tier_is_offered_first_within_the_bound(
    app, exchange, twilio_rest, family, clock
):
    loaded = flows.load()
    queue = dataclasses.replace(loaded.call_flow.queue, tier_priority=True)
    call_flow = dataclasses.replace(loaded.call_flow, queue=queue)
    runtime.install(app, dataclasses.replace(loaded, call_flow=call_flow), clock)
    add_agent(app, "ann")
    wang = in_medical_queue(exchange, "+8613900000122", WANG)  # 安心
    clock.set(clock.now() + timedelta(seconds=45))
    zhang = in_medical_queue(exchange, "+8613900000123")  # 张伟 for himself: 豪华, jumps 60 s
    clock.set(clock.now() + timedelta(seconds=1))
    assert [o.call_sid for o in dispatch(app)] == [zhang.call_sid]
    assert wang.in_queue
