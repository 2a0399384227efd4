"""The screen-pop pushed over server-sent events (SPEC §4 step 7, §5 ``GET /agent/events``).

The IVR is simulated through its seam, ``live.announcements.announce``.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from desk_fixtures import EventReader, call, page_csrf

from domain import agent_states as rules
from live import agent_states, announcements, keys, queueboard, store
from services import agent_shift

SPEC_FIELDS = {
    "call_sid",
    "verified",
    "policyholder",
    "insured_id",
    "service",
    "line",
    "queue_seconds",
    "eligibility",
    "sla",
}


@pytest.fixture
def announce(app):
    def send(event):
        with app.app_context():
            return announcements.announce(store.redis(), event)

    return send


@pytest.fixture
def stream(app, client):
    """Open /agent/events (as the signed-in session, or with headers); closed afterwards."""
    readers = []

    def open_stream(headers=None, on=None):
        response = (on or client).get("/agent/events", headers=headers or {}, buffered=False)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/event-stream"
        reader = EventReader(response)
        readers.append(reader)
        return reader

    yield open_stream
    for reader in readers:
        reader.close()


def test_a_taken_call_pops_on_the_agents_screen_with_the_spec_fields(
    client, people, desk, stream, announce, auth_for
):
    reader = stream()
    assert reader.next_named("status").json()["status"] == "offline"
    entry_id = announce(call("ann"))
    event = reader.next_named("screen_pop")
    assert event.id == entry_id
    pop = event.json()
    assert set(pop) >= SPEC_FIELDS
    assert pop["call_sid"] == "CA0001"
    assert pop["verified"] is True
    assert pop["policyholder"] == {"id": "P1", "name": "张*", "phone": "138****5678"}
    assert pop["insured_id"] == "P1"
    assert pop["service"] == "outpatient_booking"
    assert pop["line"] == "medical"
    assert pop["queue_seconds"] == 42
    assert pop["replayed"] is False
    api = client.get("/api/insureds/P1/eligibility", headers=auth_for("ann"))
    assert pop["eligibility"] == api.get_json()
    assert pop["eligibility"]["tier"] == "zunxiang"


def test_the_screen_pop_carries_the_deadlines_a_request_opened_today_would_have(
    people, desk, stream, announce, clock
):
    clock.set(datetime(2026, 2, 13, 16, 0))  # Friday before Spring Festival 2026
    reader = stream()
    announce(call("ann", service="inpatient_fast_track"))
    pop = reader.next_named("screen_pop").json()
    by_key = {d["key"]: d for d in pop["sla"]}
    assert by_key["contact"]["due_on"] == "2026-02-14"  # the 调休 Saturday
    assert by_key["contact"]["working_days"] == 1
    assert by_key["booking"]["due_on"] is None  # runs from complete materials
    assert by_key["booking"]["working_days"] == 10


def test_names_and_phones_on_the_screen_pop_are_masked(people, desk, stream, announce):
    reader = stream()
    announce(call("ann", insured_id="P2", service="escort"))
    event = reader.next_named("screen_pop")
    assert "张伟" not in event.data and "张小明" not in event.data
    assert "13812345678" not in event.data
    pop = event.json()
    assert pop["insured"] == {"id": "P2", "name": "张*明"}
    assert pop["sla"][0]["hours"] == 1


def test_other_agents_never_receive_the_event(
    app, people, desk, stream, announce, make_agent, client_for
):
    make_agent("bob")
    bob = client_for("bob")
    theirs = stream(on=bob)
    assert theirs.next_named("status").json()["username"] == "bob"
    announce(call("ann"))
    arrived = theirs.until_heartbeat()
    assert all(e.event != "screen_pop" for e in arrived)
    # Nor on reconnecting, with or without an id.
    again = stream(on=bob, headers={"Last-Event-ID": "0-0"})
    assert all(e.event != "screen_pop" for e in again.until_heartbeat())


def test_an_unverified_caller_pops_with_the_masked_caller_id_and_no_eligibility(
    people, desk, stream, announce
):
    reader = stream()
    announce(
        call(
            "ann",
            verified=False,
            policyholder_id=None,
            insured_id=None,
            service=None,
            caller="+8613511112222",
        )
    )
    pop = reader.next_named("screen_pop").json()
    assert pop["verified"] is False
    assert pop["policyholder"] == {"id": None, "name": None, "phone": "135****2222"}
    assert pop["eligibility"] is None
    assert pop["service"] is None
    assert pop["sla"] is None


def test_a_reconnecting_client_gets_what_it_missed_after_its_last_event_id(
    people, desk, stream, announce
):
    first = stream()
    seen = announce(call("ann", call_sid="CA1"))
    assert first.next_named("screen_pop").id == seen
    first.close()
    missed = announce(call("ann", call_sid="CA2"))
    again = stream(headers={"Last-Event-ID": seen})
    event = again.next_named("screen_pop")
    assert (event.id, event.json()["call_sid"], event.json()["replayed"]) == (missed, "CA2", True)


def test_reconnecting_with_nothing_missed_sends_the_current_call_again(
    people, desk, stream, announce
):
    first = stream()
    seen = announce(call("ann", call_sid="CA1"))
    first.next_named("screen_pop")
    first.close()
    again = stream(headers={"Last-Event-ID": seen})
    event = again.next_named("screen_pop")
    assert (event.id, event.json()["call_sid"], event.json()["replayed"]) == (seen, "CA1", True)


def test_a_fresh_connection_gets_the_current_call_until_the_agent_is_available_again(
    app, people, desk, stream, announce, clock
):
    announce(call("ann", call_sid="CA1"))
    assert stream().next_named("screen_pop").json()["call_sid"] == "CA1"
    clock.set(datetime(2026, 3, 10, 10, 40))
    desk.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)})
    assert all(e.event != "screen_pop" for e in stream().until_heartbeat())


def test_an_offer_pops_with_its_ring_time_and_the_agents_state_follows_the_call(
    app, people, desk, stream, announce, clock
):
    desk.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)})
    reader = stream()
    assert reader.next_named("status").json()["status"] == "available"
    with app.app_context():
        agent_shift.change("ann", lambda s: rules.offer(s, "CA0001", clock.now()))
    announce(call("ann", offer=True, expires_in=15))
    # The new state and the pop arrive in either order, as the stream's loop finds them.
    seen = {}
    while len(seen) < 2:
        event = reader.next()
        if event.event in ("screen_pop", "status"):
            seen[event.event] = event.json()
    pop, status = seen["screen_pop"], seen["status"]
    assert (pop["offer"], pop["expires_in"], pop["replayed"]) == (True, 15, False)
    assert (status["status"], status["call_sid"]) == ("offered", "CA0001")
    # A fresh connection shows the ringing call again, and not once the agent has moved on.
    assert stream().next_named("screen_pop").json()["call_sid"] == "CA0001"
    clock.set(datetime(2026, 3, 10, 10, 31))
    with app.app_context():
        agent_shift.withdrawn("ann", "CA0001")
    assert all(e.event != "screen_pop" for e in stream().until_heartbeat())


def test_an_open_stream_keeps_an_available_agent_available(app, people, desk, stream, clock):
    desk.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)})
    reader = stream()
    reader.next_named("status")
    with app.app_context():
        redis = store.redis()
        assert agent_states.desks_open(redis, ["ann"]) == {"ann"}
        redis.delete(keys.AGENT_DESK.format(agent="ann"))
    stream().next_named("status")  # a (re)connection says the desk is there again
    with app.app_context():
        assert agent_states.desks_open(store.redis(), ["ann"]) == {"ann"}


def test_the_stream_answers_a_bearer_token_too(people, make_agent, stream, announce):
    token = make_agent("cat")
    reader = stream(headers={"Authorization": f"Bearer {token}"})
    announce(call("cat"))
    assert reader.next_named("screen_pop").json()["call_sid"] == "CA0001"


def test_the_stream_refuses_anyone_not_signed_in(client):
    response = client.get("/agent/events")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    bad = client.get("/agent/events", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_idle_streams_get_heartbeat_comments(desk, stream):
    reader = stream()
    assert reader.next().data == ""  # retry hint
    events = reader.until_heartbeat()
    assert [e.event for e in events] == ["status", "queue"]


def test_the_queue_panel_lists_waiting_callers_masked_and_updates_live(app, desk, stream, clock):
    entered = clock.now().replace(minute=28)
    with app.app_context():
        redis = store.redis()
        queueboard.enqueued(redis, "medical", "CAW1", entered.timestamp())
        queueboard.describe(
            redis, "CAW1", queueboard.Caller(name="欧阳娜娜", service="escort", tier="anxin")
        )
    reader = stream()
    queue = reader.next_named("queue").json()
    assert queue["callers"] == [
        {
            "call_sid": "CAW1",
            "queue": "medical",
            "name": "欧**娜",
            "service": "escort",
            "tier": "anxin",
            "since": "2026-03-10T10:28:00+08:00",
        }
    ]
    with app.app_context():
        queueboard.left(store.redis(), "medical", "CAW1", "hangup")
    assert reader.next_named("queue").json()["callers"] == []


def test_a_caller_the_ivr_has_not_described_is_listed_without_details(app, desk, stream, clock):
    with app.app_context():
        queueboard.enqueued(store.redis(), "medical", "CAW2", clock.now().timestamp())
    callers = stream().next_named("queue").json()["callers"]
    assert [(c["call_sid"], c["name"], c["service"]) for c in callers] == [("CAW2", "", None)]


def test_a_queue_the_agent_does_not_serve_is_not_shown(app, desk, stream, clock):
    with app.app_context():
        redis = store.redis()
        queueboard.enqueued(redis, "policy", "CAP1", clock.now().timestamp())
    assert stream().next_named("queue").json()["callers"] == []


def test_the_desk_page_has_the_screen_pop_fields_for_the_browser(desk):
    html = desk.get("/agent/").get_data(as_text=True)
    for testid in (
        "screen-pop",
        "sp-call-sid",
        "sp-verified",
        "sp-policyholder-name",
        "sp-policyholder-phone",
        "sp-insured-name",
        "sp-service",
        "sp-line",
        "sp-queue-seconds",
        "sp-tier",
        "sp-sla",
        "queue-panel",
        "eligibility",
        "case-form",
    ):
        assert f'data-testid="{testid}"' in html, testid
