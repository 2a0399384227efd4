"""Without Redis (the one-process demo), the distribution runs in a loop of the web process.

Kicked by the webhook that confirms a caller in Twilio's queue, it offers the caller
from its own thread — never inside the webhook — and Twilio's REST request leaves from there.
"""

from __future__ import annotations

import threading
import time

import pytest
from ivr_calls import ZHANG, add_agent, load, verified

from adapters import background
from domain.agent_states import Status
from hotline import gunicorn_conf
from live import agent_states, store
from services import agent_shift, distribution


@pytest.fixture
def redis_url():
    """No REDIS_URL: the app keeps its own in-process store, as the demo does."""
    return None


@pytest.fixture
def loop(app):
    running = distribution.loop(app).register()
    running.start()
    yield running
    running.stop()
    running.join(5)


def until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_demo_offers_a_waiting_caller_from_its_loop_not_from_the_webhook(
    app, exchange, twilio_rest, import_feed, loop
):
    load(import_feed)
    add_agent(app, "ann")
    senders = []
    record = twilio_rest.request

    def noting_the_thread(*args, **kwargs):
        senders.append(threading.current_thread().name)
        return record(*args, **kwargs)

    twilio_rest.request = noting_the_thread
    phone = verified(exchange, ZHANG, "+8613900000301").press("1").press("2").press("1")
    assert phone.in_queue
    assert until(lambda: twilio_rest.of("Members"))
    assert senders == [loop.name]  # hotline-dispatch, not the webhook's thread
    assert until(lambda: exchange.redirects)
    exchange.deliver()
    assert exchange.browser("ann").ringing
    with app.app_context():
        assert agent_states.get(store.redis(), "ann").status is Status.OFFERED


def test_the_server_without_redis_starts_the_loop_beside_the_job_runner(app, monkeypatch):
    # The test process keeps its own collector thresholds.
    monkeypatch.setattr(gunicorn_conf, "spread_full_collections", lambda: None)

    class Runner:
        started = False

        def start(self):
            self.started = True

    runner = Runner()
    monkeypatch.setattr(gunicorn_conf, "SHARED_STORE", False)
    monkeypatch.setattr(gunicorn_conf, "in_process_runner", lambda wsgi: runner)
    gunicorn_conf.post_worker_init(type("Worker", (), {"wsgi": app})())
    looped = app.extensions[background.LOOPS][agent_shift.DISPATCH]
    try:
        assert runner.started and looped.is_alive() and looped.daemon
    finally:
        looped.stop()
        looped.join(5)
