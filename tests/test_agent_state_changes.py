"""An agent's state changed atomically (``live.agent_states.change``): read, decide, write
only if nothing changed meanwhile — on the real Redis and on the in-process store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import agent_states as rules
from domain.agent_states import Status
from live import agent_states, offers, store

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["app's Redis", "in-process store"])
def redis(request, app):
    if request.param == "in-process store":
        yield store.connect(None)
        return
    with app.app_context():
        yield store.redis()


def available(redis, name: str, at: datetime = T0) -> None:
    agent_states.change(
        redis, name, lambda s: rules.choose(s, "available", at, queues=("medical",))
    )


def offer(sid: str, agent: str, at: datetime = T0) -> offers.Offer:
    return offers.Offer(sid, agent, "medical", "medical", at.timestamp(), at.timestamp() + 20)


def test_a_change_writes_the_state_and_moves_the_agent_between_the_status_indexes(redis):
    available(redis, "ann")
    later = T0 + timedelta(minutes=5)
    done = agent_states.change(redis, "ann", lambda s: rules.choose(s, "break", later, "lunch"))
    assert (done.before.status, done.after.status) == (Status.AVAILABLE, Status.BREAK)
    assert agent_states.get(redis, "ann") == done.after
    assert agent_states.in_status(redis, Status.AVAILABLE) == []
    assert agent_states.in_status(redis, Status.BREAK) == [("ann", later.timestamp())]


def test_a_rule_that_changes_nothing_writes_nothing(redis):
    available(redis, "ann")
    raw = redis.get(agent_states.state_key("ann"))
    done = agent_states.change(redis, "ann", lambda s: s)
    assert not done.changed
    assert redis.get(agent_states.state_key("ann")) == raw


def test_a_change_made_meanwhile_by_another_process_is_seen_and_the_rule_applied_again(redis):
    available(redis, "ann")
    later = T0 + timedelta(minutes=1)
    seen = []

    def go_on_break(state):
        seen.append(state.status)
        if len(seen) == 1:
            # Another process, between this change's read and its write, takes ann offline.
            agent_states.change(redis, "ann", lambda s: rules.choose(s, "offline", later))
        return rules.choose(state, "break", later, "meeting")

    done = agent_states.change(redis, "ann", go_on_break)
    assert seen == [Status.AVAILABLE, Status.OFFLINE]  # decided again from what was written
    assert done.before.status is Status.OFFLINE
    assert agent_states.get(redis, "ann").status is Status.BREAK
    assert [name for name, _ in agent_states.in_status(redis, Status.BREAK)] == ["ann"]
    assert agent_states.in_status(redis, Status.OFFLINE) == []


def test_an_offer_of_the_caller_made_meanwhile_refuses_the_reservation(redis, monkeypatch):
    available(redis, "ann")
    available(redis, "bob")
    decided = []
    real_offer = rules.offer

    def bob_takes_the_caller_first(state, *args):
        decided.append(state.status)
        if len(decided) == 1:
            # Between ann's read and her write, another process offers the caller to bob.
            monkeypatch.setattr(rules, "offer", real_offer)
            offers.reserve(redis, offer("CA1", "bob"), T0, keep_seconds=60)
        return real_offer(state, *args)

    monkeypatch.setattr(rules, "offer", bob_takes_the_caller_first)
    with pytest.raises(offers.Taken):
        offers.reserve(redis, offer("CA1", "ann"), T0, keep_seconds=60)
    assert decided == [Status.AVAILABLE]  # read again, the caller was taken: refused
    assert agent_states.get(redis, "ann").status is Status.AVAILABLE
    assert offers.get(redis, "CA1").agent == "bob"
    assert agent_states.get(redis, "bob").call_sid == "CA1"


def test_a_reservation_writes_the_offer_with_its_time_to_live_and_the_agent_offered(redis):
    available(redis, "ann")
    done = offers.reserve(redis, offer("CA1", "ann"), T0, keep_seconds=90)
    assert done.after.status is Status.OFFERED and done.after.call_sid == "CA1"
    assert offers.get(redis, "CA1") == offer("CA1", "ann")
    assert 80 < redis.ttl(offers.key("CA1")) <= 90
    with pytest.raises(offers.Taken):
        offers.reserve(redis, offer("CA1", "ann"), T0, keep_seconds=90)
