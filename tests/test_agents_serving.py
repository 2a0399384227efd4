"""Whether an agent in a status serves a queue, read in Redis from the agents' states."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.agent_states import AgentState, Status
from live import agent_states, store


def put(redis, name: str, state: AgentState | str, since: float) -> None:
    raw = state if isinstance(state, str) else agent_states.encode(state)
    redis.set(agent_states.state_key(name), raw)
    redis.zadd(agent_states.index_key(Status.AVAILABLE), {name: since})


def serving(redis, queue: str) -> int:
    return agent_states.read_serving(redis, Status.AVAILABLE, queue)


AVAILABLE = AgentState(status=Status.AVAILABLE, since=datetime(2026, 3, 10, tzinfo=UTC))


def put_misleading(redis) -> None:
    """Index entries (ann, bob, cid, gone: 1-4) whose states say otherwise or cannot be read."""
    on_break = AgentState(status=Status.BREAK, since=AVAILABLE.since, queues=("medical",))
    put(redis, "ann", on_break, 1)  # the index not yet updated
    put(redis, "bob", "not json", 2)
    put(redis, "cid", '{"status": "available", "queues": "medical"}', 3)
    redis.zadd(agent_states.index_key(Status.AVAILABLE), {"gone": 4})  # no state at all


def test_an_available_agent_of_the_queue_serves_it(app):
    with app.app_context():
        redis = store.redis()
        assert serving(redis, "medical") == 0
        put(redis, "ann", replace(AVAILABLE, queues=("policy",)), 1)
        assert serving(redis, "medical") == 0
        put(redis, "bob", replace(AVAILABLE, queues=("policy", "medical")), 2)
        assert serving(redis, "medical") == 1


def test_an_index_entry_whose_state_says_otherwise_or_is_unreadable_serves_nothing(app):
    with app.app_context():
        redis = store.redis()
        put_misleading(redis)
        assert serving(redis, "medical") == 0


@pytest.mark.parametrize("where", ["app's Redis", "in-process store"])
def test_the_agents_in_a_status_come_with_their_queues_longest_in_it_first(app, where):
    with app.app_context():
        redis = store.redis() if where == "app's Redis" else store.connect(None)
        assert agent_states.serving_in(redis, Status.AVAILABLE) == []
        put(redis, "bob", replace(AVAILABLE, queues=("policy", "medical")), 20)
        put(redis, "ann", replace(AVAILABLE, queues=("medical",)), 10)
        put(redis, "cid", replace(AVAILABLE, queues=()), 30)
        assert agent_states.serving_in(redis, Status.AVAILABLE) == [
            ("ann", 10.0, ("medical",)),
            ("bob", 20.0, ("policy", "medical")),
            ("cid", 30.0, ()),
        ]


def test_agents_indexed_in_a_status_their_state_does_not_say_are_left_out(app):
    with app.app_context():
        redis = store.redis()
        put_misleading(redis)
        put(redis, "dan", replace(AVAILABLE, queues=("medical",)), 5)
        assert agent_states.serving_in(redis, Status.AVAILABLE) == [
            ("cid", 3.0, ()),  # a queue list it cannot read: serving nothing
            ("dan", 5.0, ("medical",)),
        ]
