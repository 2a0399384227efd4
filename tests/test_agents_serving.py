"""Whether an agent in a status serves a queue, read in Redis from the agents' states."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from domain.agent_states import AgentState, Status
from live import agent_states, store


def put(redis, name: str, state: AgentState | str, since: float) -> None:
    raw = state if isinstance(state, str) else agent_states.encode(state)
    redis.set(agent_states.state_key(name), raw)
    redis.zadd(agent_states.index_key(Status.AVAILABLE), {name: since})


def serving(redis, queue: str) -> int:
    return agent_states.read_serving(redis, Status.AVAILABLE, queue)


AVAILABLE = AgentState(status=Status.AVAILABLE, since=datetime(2026, 3, 10, tzinfo=UTC))


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
        on_break = AgentState(status=Status.BREAK, since=AVAILABLE.since, queues=("medical",))
        put(redis, "ann", on_break, 1)  # the index not yet updated
        put(redis, "bob", "not json", 2)
        put(redis, "cid", '{"status": "available", "queues": "medical"}', 3)
        redis.zadd(agent_states.index_key(Status.AVAILABLE), {"gone": 4})  # no state at all
        assert serving(redis, "medical") == 0
