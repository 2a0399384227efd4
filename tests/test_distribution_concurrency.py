"""Offers made by several processes at once (SPEC §6): never one caller twice, one agent two calls.

Real OS processes, each with its own connections to the test's Redis (and database),
started together at a barrier: the reservations race for real. Without a real Redis
(the in-process store is one process's own) these tests are skipped.
"""

from __future__ import annotations

import multiprocessing
from datetime import datetime

import pytest
import redis as redis_lib
from conftest import PUBLIC_BASE_URL, TIMEZONE, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN

from domain import agent_states as rules
from domain.agent_states import Status
from live import agent_states, offers, queueboard, store
from runtime.clock import FrozenClock
from services import distribution
from simulator.softphone import RecordingTwilio, queue_sid

PROCESSES = 2
FORK = multiprocessing.get_context("fork")
NOW = datetime(2026, 3, 10, 10, 30)


@pytest.fixture
def redis_url(redis_url):
    if not redis_url:
        pytest.skip("needs a real Redis: the in-process store is not shared between processes")
    return redis_url


def make_available(redis, usernames, at: float) -> None:
    moment = datetime.fromtimestamp(at, FrozenClock(TIMEZONE, NOW).tz)
    for name in usernames:
        agent_states.change(
            redis, name, lambda s, m=moment: rules.choose(s, "available", m, queues=("medical",))
        )


def race(target, *args_per_process):
    """Run ``target(barrier, results, *args)`` in one process per args, started together."""
    barrier = FORK.Barrier(len(args_per_process))
    results = FORK.Queue()
    processes = [
        FORK.Process(target=target, args=(barrier, results, *args)) for args in args_per_process
    ]
    for process in processes:
        process.start()
    found = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    return found


def _reserve_each(barrier, results, url, pairs):
    """Reserve each (caller, agent) pair; report the pairs won."""
    redis = redis_lib.Redis.from_url(url)
    now = FrozenClock(TIMEZONE, NOW).now()
    won = []
    barrier.wait()
    for call_sid, agent in pairs:
        offer = offers.Offer(call_sid, agent, "medical", "medical", now.timestamp(), 0)
        try:
            offers.reserve(redis, offer, now, keep_seconds=60)
        except rules.Refused:
            continue
        won.append((call_sid, agent))
    results.put(won)


def test_two_processes_offering_one_caller_to_different_agents_offer_it_once(app, redis_url):
    callers = [f"CA{i:03d}" for i in range(150)]
    with app.app_context():
        make_available(store.redis(), [f"a{i}" for i in range(150)], 1000)
        make_available(store.redis(), [f"b{i}" for i in range(150)], 1000)
    won = race(
        _reserve_each,
        (redis_url, [(sid, f"a{i}") for i, sid in enumerate(callers)]),
        (redis_url, [(sid, f"b{i}") for i, sid in enumerate(callers)]),
    )
    all_won = [pair for batch in won for pair in batch]
    assert sorted(sid for sid, _ in all_won) == callers  # each caller offered exactly once
    with app.app_context():
        redis = store.redis()
        for sid, agent in all_won:
            assert offers.get(redis, sid).agent == agent
            assert agent_states.get(redis, agent).call_sid == sid
        offered = agent_states.in_status(redis, Status.OFFERED)
    assert len(offered) == len(callers)  # the losing agents are still available


def test_two_processes_offering_one_agent_different_callers_give_them_one(app, redis_url):
    agents = [f"x{i}" for i in range(150)]
    with app.app_context():
        make_available(store.redis(), agents, 1000)
    won = race(
        _reserve_each,
        (redis_url, [(f"CAA{i:03d}", agent) for i, agent in enumerate(agents)]),
        (redis_url, [(f"CAB{i:03d}", agent) for i, agent in enumerate(agents)]),
    )
    all_won = [pair for batch in won for pair in batch]
    assert sorted(agent for _, agent in all_won) == sorted(agents)  # one call each
    with app.app_context():
        redis = store.redis()
        losers = [f"CA{p}{i:03d}" for i in range(150) for p in "AB"]
        assert len(offers.taken(redis, losers)) == len(agents)


def _dispatch(barrier, results, settings):
    from hotline import create_app

    app = create_app(settings)
    barrier.wait()
    made = distribution.run(app)
    results.put([(o.call_sid, o.agent) for o in made])


def test_two_distributions_running_at_once_share_out_the_callers_without_overlap(
    app, database_url, redis_url, clock
):
    agents = [f"ag{i:02d}" for i in range(20)]
    callers = [f"CAW{i:02d}" for i in range(30)]
    with app.app_context():
        redis = store.redis()
        make_available(redis, agents, clock.now().timestamp() - 100)
        for i, sid in enumerate(callers):
            at = clock.now().timestamp() - 60 + i
            queueboard.enqueued(redis, "medical", sid, at)
            queueboard.confirmed(redis, "medical", sid, queue_sid("medical"))
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CLOCK": clock,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_HTTP_CLIENT": RecordingTwilio(),
    }
    made = race(_dispatch, *[(settings,)] * PROCESSES)
    offered = [pair for batch in made for pair in batch]
    assert len(offered) == len(agents)
    assert len({sid for sid, _ in offered}) == len(offered)  # no caller twice
    assert {agent for _, agent in offered} == set(agents)  # no agent twice
    # First come, first served: the 20 who waited longest.
    assert {sid for sid, _ in offered} == set(callers[: len(agents)])
