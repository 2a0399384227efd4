"""The distribution's sweep (SPEC §6): what events missed, it catches.

Waiting lists are checked against Twilio's queue members, so a lost leave
notification heals and agents are not sent to an empty queue; and when Redis itself
restarts empty (a redis-server of this test's own, without persistence), the
agents' states come back from the SQL log, the callers Twilio still holds come back
from its queues, and they are offered as before.
"""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta

import pytest
import redis as redis_lib
from conftest import PUBLIC_BASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from faults import RedisServer
from ivr_calls import ZHANG, add_agent, load, verified
from rq import Queue
from rq.registry import ScheduledJobRegistry

from adapters import background
from domain.agent_states import Status
from hotline import create_app, worker
from live import agent_states, keys, queueboard, store
from services import accounts, agent_shift, distribution
from simulator.softphone import Exchange, FlaskTransport, RecordingTwilio
from storage import db

RECONCILE = "hotline:dispatch:reconciled"


@pytest.fixture
def family(import_feed):
    load(import_feed)


def waiting(exchange, caller: str):
    phone = verified(exchange, ZHANG, caller).press("1").press("2").press("1")
    assert phone.in_queue
    return phone


def listed(app, clock) -> list[str]:
    with app.app_context():
        found = queueboard.waiting(store.redis(), ["medical"], clock.now().timestamp())
    return [w.call_sid for w in found]


def test_a_caller_whose_leave_notification_was_lost_is_dropped_within_the_reconcile(
    app, exchange, twilio_rest, family, clock
):
    gone = waiting(exchange, "+8613900000201")
    clock.set(clock.now() + timedelta(seconds=1))
    still = waiting(exchange, "+8613900000202")
    exchange.queues.leave(gone)  # left Twilio's queue; the hotline never heard
    assert listed(app, clock) == [gone.call_sid, still.call_sid]
    distribution.run(app, sweep=True)
    assert listed(app, clock) == [still.call_sid]
    members = [r for r in twilio_rest.of("Members") if r.method == "GET"]
    assert len(members) == 1  # the queue's SID was learnt from the waitUrl: no Queues.json
    # The pull goes where the caller really is, and the next sweep leaves Twilio alone a while.
    add_agent(app, "ann")
    assert exchange.agent("ann").dial().take() is still
    distribution.run(app, sweep=True)
    assert len([r for r in twilio_rest.of("Members") if r.method == "GET"]) == 1


def test_the_check_against_twilio_comes_again_once_its_interval_has_passed(
    app, exchange, twilio_rest, family, clock
):
    waiting(exchange, "+8613900000203")
    distribution.run(app, sweep=True)
    with app.app_context():
        store.redis().delete(RECONCILE)  # as if reconcile_seconds had passed
    distribution.run(app, sweep=True)
    assert len([r for r in twilio_rest.of("Members") if r.method == "GET"]) == 2


def test_a_desk_closed_too_long_makes_its_available_agent_offline(
    app, exchange, twilio_rest, family, clock
):
    add_agent(app, "ann")
    distribution.run(app, sweep=True)
    with app.app_context():
        assert agent_states.get(store.redis(), "ann").status is Status.AVAILABLE
        store.redis().delete(keys.AGENT_DESK.format(agent="ann"))  # its heartbeat expired
    distribution.run(app, sweep=True)
    with app.app_context():
        state = agent_states.get(store.redis(), "ann")
    assert (state.status, state.reason) == (Status.OFFLINE, "desk_gone")


# -- Redis restarts empty ----------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def restartable(database_url, own_redis, clock):
    """The app on a Redis that the test restarts, with Twilio's side bound to it."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "REDIS_URL": own_redis.url,
            "CLOCK": clock,
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
    )
    rest = RecordingTwilio()
    app.config["TWILIO_HTTP_CLIENT"] = rest
    exchange = Exchange(FlaskTransport(app.test_client()), TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL)
    rest.exchange = exchange
    yield app, exchange, rest
    db.engine(app).dispose()


def test_after_redis_restarts_empty_the_sweep_restores_agents_and_callers_and_offers_again(
    restartable, own_redis, family, clock
):
    app, exchange, rest = restartable
    add_agent(app, "ann")
    clock.set(clock.now() + timedelta(seconds=5))
    add_agent(app, "bob")
    with app.app_context():
        agent_shift.choose(accounts.find_agent(db.session(), "bob"), "break", "training")
    phone = waiting(exchange, "+8613900000204")
    own_redis.restart()  # everything in Redis is gone; Twilio still holds the caller
    with app.app_context():
        assert agent_states.get(store.redis(), "ann").status is Status.OFFLINE
        assert not agent_states.kept(store.redis())
    made = distribution.run(app, sweep=True)
    with app.app_context():
        redis = store.redis()
        bob = agent_states.get(redis, "bob")
        assert (bob.status, bob.reason) == (Status.BREAK, "training")  # as the log says
        assert agent_states.get(redis, "ann").queues == ("medical",)
    assert [(o.call_sid, o.agent) for o in made] == [(phone.call_sid, "ann")]
    assert any(r.resource == "Queues" for r in rest.requests)  # SIDs asked for again
    exchange.deliver()
    exchange.browser("ann").accept()
    with app.app_context():
        assert agent_states.get(store.redis(), "ann").status is Status.ON_CALL


def test_after_redis_restarts_the_worker_schedules_the_sweep_again(restartable, own_redis):
    app, _, _ = restartable
    with app.app_context():
        runner = worker.Worker([background.queue(app)], connection=store.redis(app))
        own_redis.restart()
        runner.run_maintenance_tasks()
        registry = ScheduledJobRegistry(background.QUEUE, connection=store.redis(app))
        jobs = [job_id for job_id in registry.get_job_ids() if job_id.startswith("hotline-sweep")]
    assert len(jobs) == 1
    assert runner.maintenance_interval <= 30


def test_the_worker_outlives_redis_going_away_under_a_job_it_runs_itself(
    restartable, own_redis, monkeypatch
):
    # A dispatch runs in the worker's own process (no work horse): Redis stopping while
    # rq records its end must not end the worker, which waits for Redis and goes on.
    app, _, _ = restartable
    ran = []

    def dispatch_while_redis_stops() -> int:
        ran.append("dispatch")
        own_redis.stop()
        threading.Timer(1.0, own_redis.start).start()  # back a moment later
        return 0

    monkeypatch.setattr(distribution, "dispatch_job", dispatch_while_redis_stops)
    with app.app_context():
        background.queue(app).enqueue(distribution.DISPATCH_JOB)
        # The Procfile's worker: rq's own connection to the Redis of ``--url``.
        connection = redis_lib.Redis.from_url(own_redis.url)
        runner = worker.Worker(
            [Queue(background.QUEUE, connection=connection)], connection=connection
        )
        assert runner.work(burst=True)  # a job done, and the queue found empty: no crash
        assert ran == ["dispatch"]
        assert runner.get_state() == "idle"
