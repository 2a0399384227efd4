"""A kicked job: one rq job for all the kicks before it runs, run again for kicks during it."""

from __future__ import annotations

import pytest

from adapters import background
from live import store
from services import agent_shift, distribution

FLAG = "hotline:test:kicks"
FUNC = "services.distribution.dispatch_job"


@pytest.fixture
def rq_app(app):
    if background.in_process(app):
        pytest.skip("needs a Redis for rq")
    with app.app_context():
        yield app


def kick(app) -> None:
    background.kick(app, "test", FUNC, FLAG)


def jobs(app) -> list[str]:
    return [job.func_name for job in background.queue(app).jobs]


def runs_kicked_during(app, kicks_per_run: list[int]) -> list[int]:
    """``kicked_runs`` whose n-th run kicks ``kicks_per_run[n]`` times; the runs made."""
    made = []

    def run() -> int:
        for _ in range(kicks_per_run[len(made)] if len(made) < len(kicks_per_run) else 0):
            kick(app)
        made.append(len(made))
        return 1

    assert background.kicked_runs(app, FUNC, FLAG, run) == len(made)
    return made


def test_kicks_before_the_job_begins_enqueue_one_job(rq_app):
    for _ in range(5):
        kick(rq_app)
    assert jobs(rq_app) == [FUNC]


def test_a_job_with_no_kick_during_its_run_runs_once_and_the_next_kick_enqueues_again(rq_app):
    kick(rq_app)
    background.queue(rq_app).empty()  # the worker took the job
    assert runs_kicked_during(rq_app, [0]) == [0]
    assert store.redis(rq_app).exists(FLAG) == 0
    kick(rq_app)
    assert jobs(rq_app) == [FUNC]


def test_kicks_during_a_run_run_the_job_again_instead_of_enqueueing_one(rq_app):
    kick(rq_app)
    background.queue(rq_app).empty()
    assert runs_kicked_during(rq_app, [3, 1, 0]) == [0, 1, 2]
    assert jobs(rq_app) == []


def test_a_job_kicked_past_its_time_leaves_the_rest_to_one_successor(rq_app, monkeypatch):
    monkeypatch.setattr(background, "KICKED_SECONDS", 0.0)
    kick(rq_app)
    background.queue(rq_app).empty()
    assert runs_kicked_during(rq_app, [2]) == [0]
    assert jobs(rq_app) == [FUNC]  # behind any job already waiting
    kick(rq_app)  # still counted for the successor: no second job
    assert jobs(rq_app) == [FUNC]


def test_the_count_expires_should_the_job_be_lost(rq_app):
    kick(rq_app)
    kick(rq_app)
    assert 0 < store.redis(rq_app).ttl(FLAG) <= background.KICK_SECONDS


def test_a_failed_run_lets_the_next_kick_enqueue_a_job(rq_app):
    kick(rq_app)
    background.queue(rq_app).empty()

    def fails() -> int:
        raise RuntimeError("the database is down")

    with pytest.raises(RuntimeError):
        background.kicked_runs(rq_app, FUNC, FLAG, fails)
    kick(rq_app)
    assert jobs(rq_app) == [FUNC]


def test_the_dispatch_job_runs_again_for_offers_asked_for_during_its_run(
    rq_app, twilio_rest, monkeypatch
):
    runs = []

    def run(app, sweep=False):
        runs.append(sweep)
        if len(runs) == 1:
            agent_shift.ask_for_offers()  # say, an agent became available meanwhile
        return []

    monkeypatch.setattr(distribution, "run", run)
    agent_shift.ask_for_offers()
    assert jobs(rq_app) == [distribution.DISPATCH_JOB]
    background.queue(rq_app).empty()
    assert distribution.dispatch_job() == 0
    assert runs == [False, False]
    assert jobs(rq_app) == []
