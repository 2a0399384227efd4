"""The simulator's Twilio REST API (``/2010-04-01/…`` at its own origin) and what it does.

The hotline's own REST client (``adapters.twilio_rest``, as the demo runs it with
``TWILIO_API_BASE_URL`` pointing at itself) reaches the simulator through ``InApp``,
an HTTP client of the ``twilio`` library that hands each request to the app's test
client: what the library sends (path, form, Basic auth) is what the simulator reads.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from desk_fixtures import page_csrf
from ivr_calls import ZHANG, load, make_available
from twilio.http import HttpClient
from twilio.http.response import Response

from adapters import twilio_rest
from domain.agent_states import Status
from live import agent_states, store
from services import distribution
from simulator import handsets, switchboard
from simulator.softphone import Exchange, queue_sid
from simulator.terminal import Answers, SimulatorQueues, Terminal, script

ACCOUNT = "AC" + "0" * 32
TOKEN = "test-auth-token"


class InApp(HttpClient):
    """The twilio library's HTTP client, sending each request to the app in process."""

    def __init__(self, client):
        super().__init__(None, is_async=False)
        self.client = client

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **_):
        headers = dict(headers or {})
        if auth:
            pair = f"{auth[0]}:{auth[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        answer = self.client.open(
            url, method=method, query_string=params, data=data or None, headers=headers
        )
        return Response(answer.status_code, answer.get_data(as_text=True))


@pytest.fixture
def twilio(simulated, app, client, exchange) -> Exchange:
    """The demo's settings: Twilio's REST API is the simulator, at the hotline's origin."""
    app.config.update(
        TWILIO_HTTP_CLIENT=InApp(app.test_client()),
        TWILIO_API_BASE_URL=app.config["PUBLIC_BASE_URL"],
        TWILIO_CALLER_ID="+861058001234",
    )
    exchange.queues = SimulatorQueues(exchange)
    return exchange


@pytest.fixture
def family(import_feed):
    load(import_feed)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def in_medical_queue(exchange: Exchange, caller: str):
    phone = exchange.call(caller).dial()
    phone.press(ZHANG[3]).say(ZHANG[1]).press("1").press("2").press("1")
    assert phone.in_queue, phone.heard
    return phone


def phone_of(app, username: str):
    from desk_fixtures import sign_in

    desk = app.test_client()
    assert sign_in(desk, username).status_code == 302
    token = page_csrf(desk)

    def press(action: str | None = None):
        if action is None:
            return desk.get("/simulator/phone").get_json()
        answer = desk.post(f"/simulator/phone/{action}", headers={"X-CSRF-Token": token})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    return press


def agents(app, make_agent, *usernames: str) -> None:
    """Agents with the desk's password, available in this order (the first waited longest)."""
    for username in usernames:
        make_agent(username)
        make_available(app, username)


def status_of(app, username: str) -> Status:
    with app.app_context():
        return agent_states.get(store.redis(), username).status


def call_of(app, sid: str) -> switchboard.SimulatedCall:
    with app.app_context():
        return switchboard.queues().get(sid)


# -- the API itself -------------------------------------------------------------------------


def test_the_rest_api_refuses_requests_without_the_accounts_credentials(twilio, client):
    url = f"/2010-04-01/Accounts/{ACCOUNT}/Queues.json"
    for headers in ({}, basic(ACCOUNT, "wrong token"), basic("AC" + "1" * 32, TOKEN)):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.get_json() == {"code": 20003, "message": "Authenticate", "status": 401}
    assert client.get(url, headers=basic(ACCOUNT, TOKEN)).status_code == 200
    other = client.get(
        f"/2010-04-01/Accounts/{'AC' + '1' * 32}/Queues.json", headers=basic(ACCOUNT, TOKEN)
    )
    assert other.status_code == 404 and other.get_json()["code"] == 20404


def test_without_the_simulator_there_is_no_rest_api(app, client):
    assert client.get(f"/2010-04-01/Accounts/{ACCOUNT}/Queues.json").status_code == 404


def test_an_sms_is_answered_as_twilio_does_and_reaches_the_callers_handset(twilio, app, client):
    with app.app_context():
        sent = twilio_rest.send_sms(app, "+8613900000606", "您的预约已受理")
    assert sent.startswith("SM") and len(sent) == 34
    handset = twilio.get(twilio.url("/simulator/phones/+8613900000606"))
    assert handset[0] == 200
    found = json.loads(handset[1])
    assert [(m["sid"], m["body"], m["from"]) for m in found["messages"]] == [
        (sent, "您的预约已受理", "+861058001234")
    ]
    missing = client.post(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"To": "+8613900000606", "From": "+861058001234"},
        headers=basic(ACCOUNT, TOKEN),
    )
    assert missing.status_code == 400 and missing.get_json()["code"] == 21602


def place_callback(app, to: str, callback_id: int):
    """The hotline calls ``to`` back, as ``services.callbacks`` asks Twilio to."""
    return twilio_rest.client(app).calls.create(
        to=to,
        from_="+861058001234",
        url=twilio_rest.public_url(app, f"/ivr/callback/answer?id={callback_id}"),
        status_callback=twilio_rest.public_url(app, f"/ivr/status?callback={callback_id}"),
        timeout=20,
    )


def test_a_call_the_hotline_places_rings_the_handset_once_and_rings_out_to_its_callback(
    twilio, app, client, clock
):
    with app.app_context():
        call = place_callback(app, "+8613900000606", 1)
    assert call.sid.startswith("CA") and call.to == "+8613900000606"

    _, body = twilio.get(twilio.url("/simulator/phones/+8613900000606"))
    ringing = json.loads(body)["calls"]
    assert [(c["sid"], c["url"]) for c in ringing] == [
        (call.sid, "https://hotline.example.com/ivr/callback/answer?id=1")
    ]
    url = twilio.url("/simulator/phones/+8613900000606/answer")
    assert twilio.post(url, {"CallSid": call.sid})[0] == 200
    assert twilio.post(url, {"CallSid": call.sid})[0] == 409  # answered once only

    with app.app_context():
        unanswered = place_callback(app, "+8613900000607", 2)
    clock.set(clock.now() + timedelta(seconds=21))
    twilio.get(twilio.url("/simulator/phones/+8613900000607"))  # any request: Twilio's clock
    posted = [(url, form) for url, form, _ in twilio.log if "callback=2" in url]
    assert posted == []  # the simulator posts it in process, not through the test's exchange
    with app.app_context():
        assert handsets.outbound(store.redis(), unanswered.sid)["state"] == "no-answer"


# -- the distribution, end to end through the simulator ---------------------------------------


def test_an_offer_rings_the_agents_simulated_phone_who_answers_and_hangs_up(
    twilio, app, family, clock, make_agent
):
    agents(app, make_agent, "ann")
    press = phone_of(app, "ann")
    caller = in_medical_queue(twilio, "+8613900000606")
    assert press()["state"] == "idle"

    made = distribution.run(app)
    assert [(o.call_sid, o.agent) for o in made] == [(caller.call_sid, "ann")]
    ringing = press()
    assert ringing["state"] == "ringing" and ringing["call_sid"] == caller.call_sid
    assert ringing["caller"] == "139****0606" and ringing["expires_in"] == 15
    assert status_of(app, "ann") is Status.OFFERED
    assert call_of(app, caller.call_sid).state == switchboard.RINGING
    # Taken out of Twilio's queue: no longer a member of it.
    with app.app_context():
        assert twilio_rest.members(app, queue_sid("medical")) == []

    assert press("accept")["state"] == "on_call"
    assert status_of(app, "ann") is Status.ON_CALL
    assert call_of(app, caller.call_sid).state == switchboard.BRIDGED

    clock.set(clock.now() + timedelta(seconds=42))
    assert press("hangup")["state"] == "idle"
    assert status_of(app, "ann") is Status.WRAP_UP
    ended = call_of(app, caller.call_sid)
    assert ended.state == switchboard.ENDED and ended.heard  # the goodbye


def test_an_offer_nobody_answers_rings_out_and_goes_to_the_next_agent(
    twilio, app, family, clock, make_agent
):
    agents(app, make_agent, "ann", "bob")
    ann, bob = phone_of(app, "ann"), phone_of(app, "bob")
    caller = in_medical_queue(twilio, "+8613900000606")
    first = distribution.run(app)
    assert [o.agent for o in first] == ["ann"]
    assert ann()["state"] == "ringing"

    clock.set(clock.now() + timedelta(seconds=16))
    assert ann()["state"] == "idle"  # asking is enough: the Dial's timeout is over
    with app.app_context():
        missed = agent_states.get(store.redis(), "ann")
    assert (missed.status, missed.reason) == (Status.BREAK, "missed")
    assert call_of(app, caller.call_sid).state == switchboard.WAITING

    second = distribution.run(app)
    assert [(o.call_sid, o.agent) for o in second] == [(caller.call_sid, "bob")]
    assert bob()["state"] == "ringing"
    assert bob("reject")["state"] == "idle"
    assert status_of(app, "bob") is Status.BREAK


def test_a_caller_who_hangs_up_while_the_agent_talks_ends_the_call_for_both(
    twilio, app, family, make_agent
):
    agents(app, make_agent, "ann")
    press = phone_of(app, "ann")
    caller = in_medical_queue(twilio, "+8613900000606")
    distribution.run(app)
    press("accept")
    status, _ = twilio.post(twilio.url(f"/simulator/callers/{caller.call_sid}/hangup"), {})
    assert status == 200
    assert press()["state"] == "idle"
    assert status_of(app, "ann") is Status.WRAP_UP
    assert call_of(app, caller.call_sid).state == switchboard.ENDED


# -- the terminal phone: texts on its screen, the hotline's calls answered ---------------------


def test_a_text_sent_while_the_terminal_waits_shows_on_its_screen(twilio, app, family):
    lines: list[str] = []

    def screen(line: str) -> None:
        lines.append(line)
        if line.startswith("（排队中"):  # the hotline texts him while he waits
            with app.app_context():
                twilio_rest.send_sms(app, "+8613900000606", "预约链接 https://example.com/b/1")

    phone = Terminal(
        twilio,
        Answers(script(f"{ZHANG[3]},{ZHANG[1]},1,2,1")),
        caller="+8613900000606",
        echo=screen,
        poll_every=0.05,
        max_wait=0.3,
    )
    assert phone.run() == 0
    assert "  短信 SMS（+861058001234）: 预约链接 https://example.com/b/1" in lines
    # Texts it had before the call are not shown again as new.
    again: list[str] = []
    Terminal(twilio, Answers(script("")), caller="+8613900000606", echo=again.append).run()
    assert not [line for line in again if "短信" in line]


def test_hotline_call_answer_picks_up_the_hotlines_call_and_follows_its_twiml(twilio, app, family):
    with app.app_context():
        placed = twilio_rest.client(app).calls.create(
            to="+8613900000606",
            from_="+861058001234",
            url=twilio_rest.public_url(app, "/ivr/voice"),
            status_callback=twilio_rest.public_url(app, "/ivr/status?callback=7"),
        )
    lines: list[str] = []
    phone = Terminal(
        twilio,
        Answers(script("")),
        caller="+8613900000606",
        echo=lines.append,
        answer=True,
        poll_every=0.05,
        max_wait=1,
    )
    assert phone.run() == 0
    assert "来电 +861058001234 振铃，接听 answered" in lines
    assert phone.phone.call_sid == placed.sid and phone.phone.direction == "outbound-api"
    assert any(line.startswith("  热线: ") for line in lines)  # the TwiML at its Url, heard
    told = [status for url, _, status in twilio.log if url.endswith("/ivr/status?callback=7")]
    assert told == [200]  # its StatusCallback, told the call's end
    # Nothing else rings: a second --answer gives up after --max-wait.
    idle = Terminal(twilio, Answers(script("")), echo=lines.append, answer=True, max_wait=0.1)
    assert idle.run() == 1
