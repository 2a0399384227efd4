"""Desk, dashboard and their event streams while the database or Redis is down: 503, never 500.

Pages answer a 503 page that says which part is down and reloads itself; scripts
get the JSON error body; an event stream answers an ``unavailable`` event and the
browser reconnects after ``retry``.
"""

from __future__ import annotations

import pytest
from desk_fixtures import EventReader

from agent_assist import auth
from hotline import create_app
from services import accounts
from storage import db

CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/x"


def make_app(clock, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "CLOCK": clock, **config})


def signed_in_as(app, agent_id: int):
    """A browser holding a desk session (signed cookie) for agent ``agent_id``."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["agent_id"] = agent_id
        session[auth.GENERATION_KEY] = 0  # a new account's: nothing has ended its sessions
        session["csrf_token"] = "t"
    return client


@pytest.fixture
def no_database(clock, redis_url):
    return make_app(clock, DATABASE_URL=CLOSED_POSTGRES, REDIS_URL=redis_url)


@pytest.fixture
def no_redis(clock, database_url):
    app = make_app(clock, DATABASE_URL=database_url, REDIS_URL=CLOSED_REDIS)
    with app.app_context():
        session = db.session()
        for name, role in (("ann", "agent"), ("sue", "supervisor")):
            accounts.add_agent(session, name, role, ["medical"], ["medical", "policy"])
        session.commit()
    yield app
    db.engine(app).dispose()


PAGES = ["/agent/", "/agent/cases/1", "/supervisor/"]


@pytest.mark.parametrize("path", PAGES)
def test_without_the_database_a_page_is_a_503_page_that_retries(no_database, path):
    response = signed_in_as(no_database, 1).get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "数据库暂时无法连接" in page
    assert 'http-equiv="refresh"' in page


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/agent/status", {"status": "available"}),
        ("/agent/cases", {"insured_id": "P1", "service": "escort"}),
        ("/agent/cases/1/steps", {"milestone": "contacted"}),
        ("/agent/signin", {"username": "ann", "password": "x"}),
    ],
)
def test_without_the_database_a_form_sent_gets_a_503_page_without_resending(
    no_database, path, form
):
    response = signed_in_as(no_database, 1).post(path, data={**form, "csrf_token": "t"})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "数据库暂时无法连接" in page and 'http-equiv="refresh"' not in page


def test_without_the_database_a_script_gets_the_json_error(no_database):
    response = signed_in_as(no_database, 1).get(
        "/agent/token", headers={"Accept": "application/json"}
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"


@pytest.mark.parametrize("path", ["/agent/events", "/supervisor/events"])
def test_without_the_database_a_stream_says_unavailable_and_when_to_come_back(no_database, path):
    response = signed_in_as(no_database, 1).get(path)
    assert response.status_code == 200  # EventSource gives up for good on any other status
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    assert body.startswith("retry: ")
    assert "event: unavailable" in body and "database_unavailable" in body


def test_without_redis_the_agents_stream_says_unavailable_then_ends(no_redis):
    response = signed_in_as(no_redis, 1).get("/agent/events")
    assert response.status_code == 200
    reader = EventReader(response)
    assert reader.next().event is None  # retry
    event = reader.next()
    assert event.event == "unavailable" and event.json()["code"] == "store_unavailable"
    with pytest.raises(StopIteration):
        reader.next()


def test_without_redis_the_dashboard_stream_says_unavailable(no_redis):
    response = signed_in_as(no_redis, 2).get("/supervisor/events")
    assert response.status_code == 200
    assert "event: unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "agent"), [("/agent/", 1), ("/supervisor/", 2)])
def test_without_redis_the_pages_still_open_and_say_live_data_is_missing(no_redis, path, agent):
    response = signed_in_as(no_redis, agent).get(path)
    assert response.status_code == 200
    assert "实时数据暂不可用" in response.get_data(as_text=True)


def test_without_redis_setting_a_status_is_a_503_for_scripts(no_redis):
    response = signed_in_as(no_redis, 1).post(
        "/agent/status", json={"status": "available"}, headers={"X-CSRF-Token": "t"}
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "store_unavailable"
