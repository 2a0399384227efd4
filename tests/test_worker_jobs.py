"""Which jobs the Procfile's worker runs itself and which in a forked work horse."""

from __future__ import annotations

import os
import time

import pytest
import redis as redis_lib
from rq import Queue

from adapters import background
from hotline import worker
from services import call_jobs


@pytest.fixture
def runner(app, redis_url):
    if redis_url is None:
        pytest.skip("needs a Redis for rq")
    connection = redis_lib.Redis.from_url(redis_url)
    with app.app_context():  # the test's app, not one of the worker's own (and its set-up)
        return worker.Worker(
            [Queue(background.QUEUE, connection=connection)], connection=connection
        )


def test_the_worker_sends_an_sms_link_itself_without_forking(app, runner, monkeypatch):
    sent = []
    monkeypatch.setattr(call_jobs, "send_sms", lambda *args: sent.append((os.getpid(), args)))
    with app.app_context():
        call_jobs.enqueue_sms(app, "+8613812345678", "【重疾管家】", None, "CA1-sms")
        assert runner.work(burst=True)
    # A horse would have sent it in a process of its own, and this list would be empty.
    assert sent == [(os.getpid(), ("+8613812345678", "【重疾管家】", None))]


def test_other_jobs_still_run_in_a_work_horse(app, runner, monkeypatch):
    ran = []
    monkeypatch.setattr(call_jobs, "reconcile", lambda: ran.append(os.getpid()))
    with app.app_context():
        job = background.queue(app).enqueue("services.call_jobs.reconcile")
        assert runner.work(burst=True)
        assert job.get_status(refresh=True) == "finished"
    assert ran == []  # appended in the horse's copy of this process


def test_the_workers_pubsub_thread_stops_within_seconds_once_unsubscribed(runner):
    # The thread then waits for a subscription; rq's own wait is 60 s at a time, and
    # redis-py's stop() waits for the thread: a worker's teardown took up to a minute.
    runner.subscribe()
    runner.pubsub.unsubscribe()
    time.sleep(0.5)  # the thread has read the unsubscription and waits again
    started = time.monotonic()
    runner.pubsub_thread.stop()
    runner.pubsub_thread.join(10)
    assert not runner.pubsub_thread.is_alive()
    assert time.monotonic() - started < 3
    runner.pubsub.close()
