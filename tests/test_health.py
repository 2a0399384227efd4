"""``/healthz`` and ``/readyz`` (SPEC §5 Operations), and migrating once the database is back."""

from __future__ import annotations

import time

import pytest
from faults import FREEZE, PASS, REFUSE, StallingProxy
from sqlalchemy import make_url

from hotline import create_app
from hotline.migrator import Migrator
from storage import db, schema

CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/x"
# /readyz gives each backend a second; a little more for the request itself.
READY_SECONDS = 1.5


def make_app(clock, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock, **config})


def ready(app) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json(), time.monotonic() - started


def test_ready_when_the_database_and_redis_answer_and_the_schema_is_current(app):
    status, body, _ = ready(app)
    assert (status, body) == (200, {"database": "ok", "redis": "ok", "schema": "ok"})


def test_not_ready_without_the_database_and_says_so(clock, redis_url):
    app = make_app(clock, DATABASE_URL=CLOSED_POSTGRES, REDIS_URL=redis_url)
    status, body, seconds = ready(app)
    assert status == 503
    assert body == {"database": "unavailable", "redis": "ok", "schema": "unknown"}
    assert seconds < READY_SECONDS


def test_not_ready_without_redis_and_says_so(clock, database_url):
    app = make_app(clock, DATABASE_URL=database_url, REDIS_URL=CLOSED_REDIS)
    status, body, seconds = ready(app)
    assert status == 503
    assert body == {"database": "ok", "redis": "unavailable", "schema": "ok"}
    assert seconds < READY_SECONDS
    db.engine(app).dispose()


def test_not_ready_while_the_schema_is_behind(clock, tmp_path):
    app = make_app(clock, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    status, body, _ = ready(app)
    assert (status, body["schema"]) == (503, "outdated")


def test_healthz_answers_whatever_the_backends_do(clock):
    app = make_app(clock, DATABASE_URL=CLOSED_POSTGRES, REDIS_URL=CLOSED_REDIS)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


@pytest.fixture
def proxy(postgres_url):
    upstream = make_url(postgres_url)
    stalling = StallingProxy(upstream.host, upstream.port)
    yield stalling
    stalling.close()


def test_a_frozen_database_is_unready_within_a_second(clock, proxy, postgres_url, redis_url):
    url = make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)
    app = make_app(clock, DATABASE_URL=url, REDIS_URL=redis_url)
    assert ready(app)[0] == 200
    proxy.set(FREEZE)
    status, body, seconds = ready(app)
    assert (status, body["database"]) == (503, "unavailable")
    assert seconds < READY_SECONDS


def test_ready_again_without_a_restart_once_the_database_is_back(
    clock, proxy, postgres_url, redis_url
):
    url = make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)
    app = make_app(clock, DATABASE_URL=url, REDIS_URL=redis_url)
    proxy.set(REFUSE)
    assert ready(app)[0] == 503
    proxy.set(PASS)
    time.sleep(db.BREAKER_SECONDS)  # the breaker lets a probe through after its pause
    assert ready(app)[:2] == (200, {"database": "ok", "redis": "ok", "schema": "ok"})
    db.engine(app).dispose()


def test_the_migrator_brings_an_empty_database_up_to_date(clock, tmp_path):
    app = make_app(clock, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    migrator = Migrator(app)
    assert migrator.attempt()
    assert schema.current(db.engine(app)) == schema.head()


def test_the_migrator_waits_for_a_database_that_is_down_then_migrates(clock, tmp_path):
    path = tmp_path / "later" / "fresh.sqlite3"  # its folder does not exist yet: cannot open
    app = make_app(clock, DATABASE_URL=f"sqlite:///{path}")
    migrator = Migrator(app, every_seconds=0.1)
    migrator.start()
    time.sleep(0.3)
    assert not migrator.done.is_set()
    path.parent.mkdir()
    assert migrator.done.wait(5)
    assert schema.current(db.engine(app)) == schema.head()
