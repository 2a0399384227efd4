"""The simulator (``/simulator``): Twilio's queues and an agent's "take the next call" without
Twilio. Callers wait in the app's store; taking one goes through the real webhooks."""

from __future__ import annotations

import pytest
from desk_fixtures import EventReader, page_csrf
from ivr_calls import ZHANG, load, make_available, message

from hotline import create_app
from live import announcements, store
from simulator.softphone import Exchange, FlaskTransport
from simulator.terminal import SimulatorQueues


@pytest.fixture
def family(import_feed):
    load(import_feed)


@pytest.fixture
def twilio(simulated, client, exchange) -> Exchange:
    """Twilio's side as the terminal plays it: callers wait in the server's simulator."""
    exchange.queues = SimulatorQueues(exchange)
    return exchange


def in_medical_queue(exchange: Exchange, caller: str):
    """张伟, verified, asking for an outpatient booking: enqueued in medical."""
    phone = exchange.call(caller).dial()
    phone.press(ZHANG[3]).say(ZHANG[1]).press("1").press("2").press("1")
    assert phone.in_queue, phone.heard
    return phone


def screen_pops(app, agent: str) -> list[announcements.CallTaken]:
    with app.app_context():
        entries = store.redis().xrange(announcements.stream_key(agent))
    return [announcements.decode(fields) for _, fields in entries]


def take(client, headers=None, **form):
    return client.post(
        "/simulator/take", data=form, headers={"Accept": "application/json", **(headers or {})}
    )


# -- on only when asked ----------------------------------------------------------------------


def test_without_the_setting_there_is_no_simulator_and_no_desk_button(app, client, desk):
    assert client.get("/simulator/").status_code == 404
    assert client.post("/simulator/take").status_code == 404
    page = client.get("/agent/").get_data(as_text=True)
    assert "take-next" not in page
    assert "接听下一个来电（模拟）" not in page


@pytest.mark.parametrize(("value", "registered"), [("1", True), ("true", True), ("0", False)])
def test_hotline_simulator_in_the_settings_decides_whether_it_is_registered(
    database_url, value, registered
):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "HOTLINE_SIMULATOR": value})
    assert ("simulator" in app.blueprints) is registered


def test_the_callers_side_must_be_signed_like_twilio(twilio, client):
    assert client.get("/simulator/").status_code == 403
    assert (
        client.post("/simulator/callers", data={"CallSid": "CA1", "Queue": "medical"}).status_code
        == 403
    )
    status, body = twilio.get(twilio.url("/simulator/"))
    assert status == 200, body


# -- the queue -------------------------------------------------------------------------------


def test_callers_wait_first_come_first_served_and_leave_when_they_hang_up(twilio, family):
    first = in_medical_queue(twilio, "+8613900000011")
    second = in_medical_queue(twilio, "+8613900000012")
    assert twilio.position(first) == (1, 2)
    assert twilio.position(second) == (2, 2)
    assert "您前面还有1位客户" in "".join(second.wait(queue_time=5))
    first.hang_up()
    assert twilio.queues.state(first)["state"] == "left"
    assert twilio.position(second) == (1, 1)


def test_the_store_keeps_each_callers_number_action_and_time_enqueued(
    simulated, twilio, family, clock
):
    from simulator import switchboard

    phone = in_medical_queue(twilio, "+8613900000013")
    with simulated.app_context():
        held = switchboard.queues().get(phone.call_sid)
    assert (held.queue, held.caller, held.state) == ("medical", "+8613900000013", "waiting")
    assert held.action.startswith("https://hotline.example.com/ivr/queue/done?line=medical")
    assert held.enqueued_at == clock.now().timestamp()


def test_a_caller_who_presses_1_on_hold_leaves_the_queue_for_a_callback(twilio, family):
    phone = in_medical_queue(twilio, "+8613900000014")
    phone.press_in_queue("1")
    assert message("callback_booked", when="稍后", phone_tail="五六七八") in phone.heard
    assert twilio.queues.state(phone)["state"] == "left"
    assert twilio.position(phone) == (0, 0)


def test_a_caller_the_hotline_refuses_to_bridge_goes_back_to_the_front(
    simulated, twilio, client, family, make_agent, auth_for, monkeypatch
):
    make_agent("ann")
    make_available(simulated, "ann")
    phone = in_medical_queue(twilio, "+8613900000015")
    post = FlaskTransport.post

    def connect_fails(self, url, form, headers):
        if "/ivr/queue/connect" in url:
            return 500, "Internal Server Error"
        return post(self, url, form, headers)

    monkeypatch.setattr(FlaskTransport, "post", connect_fails)
    refused = take(client, auth_for("ann"))
    assert refused.status_code == 502
    assert refused.get_json()["error"]["code"] == "webhook_failed"
    monkeypatch.setattr(FlaskTransport, "post", post)
    assert twilio.position(phone) == (1, 1)
    assert take(client, auth_for("ann")).get_json()["call_sid"] == phone.call_sid


# -- taking the next call ------------------------------------------------------------------------


def test_taking_with_nobody_waiting_says_so(
    simulated, twilio, client, family, make_agent, auth_for
):
    make_agent("ann")
    make_available(simulated, "ann")
    response = take(client, auth_for("ann"))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "queue_empty"
    assert "medical" in error["message"]
    # Nobody to take: the agent's phone hung up, and they are available again.
    assert client.get("/api/agents/me", headers=auth_for("ann")).get_json()["status"] == (
        "available"
    )


def test_an_agent_who_is_not_available_is_told_so(twilio, client, family, make_agent, auth_for):
    make_agent("ann")
    in_medical_queue(twilio, "+8613900000016")
    response = take(client, auth_for("ann"))
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == message("agent_not_available")


def test_an_agent_takes_the_head_and_their_stream_gets_its_screen_pop(
    simulated, twilio, client, family, make_agent, auth_for
):
    make_agent("ann")
    make_available(simulated, "ann")
    first = in_medical_queue(twilio, "+8613900000021")
    second = in_medical_queue(twilio, "+8613900000022")
    response = take(client, auth_for("ann"))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["call_sid"], body["queue"], body["agent"]) == (first.call_sid, "medical", "ann")
    assert body["caller"] == "139****0021"
    (pop,) = screen_pops(simulated, "ann")
    assert (pop.call_sid, pop.verified, pop.policyholder_id) == (first.call_sid, True, "P1")
    state = twilio.queues.state(first)
    assert (state["state"], state["agent"]) == ("bridged", "ann")
    assert state["heard"] == [message("queue_connecting")]
    assert twilio.position(second) == (1, 1)
    # On the call, she takes no other; once it and its wrap-up are over, the next.
    assert take(client, auth_for("ann")).status_code == 422
    first.hang_up()
    client.post("/api/agents/me/wrap_up", json={"action": "end"}, headers=auth_for("ann"))
    # The /ivr/agent request was signed and checked like Twilio's.
    assert take(client, auth_for("ann")).get_json()["call_sid"] == second.call_sid


def test_an_agent_cannot_take_a_call_from_a_queue_they_do_not_serve(
    simulated, twilio, client, family, make_agent, auth_for
):
    make_agent("pat", queues=("policy",))
    make_available(simulated, "pat")
    phone = in_medical_queue(twilio, "+8613900000031")
    refused = take(client, auth_for("pat"), queue="medical")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_your_queue"
    # Without naming a queue, /ivr/agent dials theirs: nobody waits there.
    assert take(client, auth_for("pat")).get_json()["error"]["code"] == "queue_empty"
    assert twilio.position(phone) == (1, 1)
    assert screen_pops(simulated, "pat") == []


def test_nobody_takes_a_call_without_signing_in(twilio, client, family):
    phone = in_medical_queue(twilio, "+8613900000032")
    response = take(client)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert twilio.position(phone) == (1, 1)


# -- the desk's button ------------------------------------------------------------------------


def test_the_desk_button_takes_the_next_call_and_the_screen_pop_arrives_on_the_stream(
    simulated, twilio, desk, family
):
    simulated.config.update(SSE_HEARTBEAT_SECONDS=0.3, SSE_BLOCK_MS=50)
    page = desk.get("/agent/").get_data(as_text=True)
    assert 'data-testid="take-next"' in page and "接听下一个来电（模拟）" in page
    phone = in_medical_queue(twilio, "+8613900000041")
    stream = desk.get("/agent/events", buffered=False)
    reader = EventReader(stream)
    try:
        token = page_csrf(desk)
        desk.post("/agent/status", json={"status": "available"}, headers={"X-CSRF-Token": token})
        response = desk.post(
            "/simulator/take", headers={"Accept": "application/json", "X-CSRF-Token": token}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        pop = reader.next_named("screen_pop").json()
    finally:
        reader.close()
    assert pop["call_sid"] == phone.call_sid
    assert pop["policyholder"]["name"] == "张*"
    assert pop["eligibility"]["insured_id"] == "P1"


def test_the_desk_form_without_javascript_gets_a_message_on_its_page(twilio, desk, family):
    token = page_csrf(desk)
    desk.post("/agent/status", data={"status": "available", "csrf_token": token})
    response = desk.post("/simulator/take", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    assert "nobody is waiting in the medical queue" in response.get_data(as_text=True)


def test_the_desk_session_needs_its_csrf_token_to_take_a_call(simulated, desk, family):
    response = desk.post("/simulator/take", headers={"Accept": "application/json"})
    assert response.status_code == 400
