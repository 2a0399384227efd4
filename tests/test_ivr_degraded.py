"""Degraded mode: with Redis or the database unreachable every webhook still answers TwiML.

The caller reaches a person (Twilio holds the queue, so no Redis is needed) or,
with the line closed, hears an apology with the line's number and hours.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from conftest import PUBLIC_BASE_URL, TWILIO_AUTH_TOKEN
from ivr_calls import FLOWS, ZHANG, add_agent, at, load, message

from hotline import create_app
from ivr.spoken import spoken_digits
from simulator.softphone import Exchange, FlaskTransport
from storage import db

CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_POSTGRES = "postgresql://postgres@127.0.0.1:1/x"
# Not a benchmark: a hang check. A dead Redis or database must not hold a call.
PROMPT = 5.0


def make_app(clock, **config):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "CLOCK": clock,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            **config,
        }
    )


@pytest.fixture
def no_redis(database_url, clock, import_feed):
    load(import_feed)
    app = make_app(clock, DATABASE_URL=database_url, REDIS_URL=CLOSED_REDIS)
    yield app
    db.engine(app).dispose()


@pytest.fixture
def no_database(redis_url, clock):
    if redis_url is None:
        pytest.skip("needs a real Redis")
    app = make_app(clock, DATABASE_URL=CLOSED_POSTGRES, REDIS_URL=redis_url)
    yield app
    db.engine(app).dispose()


def phone_for(app) -> Exchange:
    return Exchange(FlaskTransport(app.test_client()), TWILIO_AUTH_TOKEN, base_url=PUBLIC_BASE_URL)


def answer(exchange: Exchange, path: str, **params) -> ET.Element:
    phone = exchange.call()
    started = time.monotonic()
    status, body = exchange.post(exchange.url(path), phone.params(**params))
    assert time.monotonic() - started < PROMPT
    assert status == 200, body
    return ET.fromstring(body)


def said(root: ET.Element) -> list[str]:
    return [(e.text or "").strip() for e in root.iter("Say")]


MEDICAL = FLOWS.line("medical")
# Its number as a caller hears it: digit by digit (SPEC §8), not 4006-058-056.
MEDICAL_SAID = "四零零六，零五八，零五六"


def test_without_redis_an_incoming_call_is_put_through_to_a_person(no_redis, clock):
    root = answer(phone_for(no_redis), "/ivr/voice")
    assert root.find("Enqueue").text == MEDICAL.queue
    assert said(root) == [message("degraded_transfer")]


def test_without_redis_a_closed_line_gives_its_number_and_hours(no_redis, clock):
    at(clock, 23, 0)
    root = answer(phone_for(no_redis), "/ivr/voice")
    assert root.find("Enqueue") is None and root.find("Hangup") is not None
    assert said(root) == [
        message(
            "degraded_closed", line_name=MEDICAL.name, hours="8点至22点", line_phone=MEDICAL_SAID
        )
    ]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ivr/gather?step=1", {"Digits": ZHANG[3]}),
        ("/ivr/gather?step=2", {"SpeechResult": "张伟"}),
        ("/ivr/queue/done?line=medical&step=5", {"QueueResult": "leave"}),
        ("/ivr/callback/connect?id=1", {"Digits": "1"}),
        ("/ivr/callback/answer?id=1", {}),
    ],
)
def test_without_redis_every_step_still_gets_the_caller_to_a_person(no_redis, clock, path, params):
    root = answer(phone_for(no_redis), path, **params)
    assert root.find("Enqueue") is not None or said(root)


def test_without_redis_the_hold_music_still_plays(no_redis, clock):
    root = answer(phone_for(no_redis), "/ivr/queue/wait?line=medical", QueuePosition="4")
    assert root.find(".//Play").text == FLOWS.call_flow.voice.hold_music
    assert said(root)[0].startswith("您前面还有3位客户")


def test_without_redis_an_agent_still_gets_a_queue(no_redis, clock):
    # Their state is unknown without Redis: the degraded answer still serves their queue.
    add_agent(no_redis, "alice", ["policy"], available=False)
    exchange = phone_for(no_redis)
    agent = exchange.agent("alice").dial()
    assert agent.queue == "policy"


def test_without_redis_the_end_of_a_bridged_call_just_hangs_up(no_redis, clock):
    root = answer(phone_for(no_redis), "/ivr/queue/done?line=medical", QueueResult="bridged")
    assert [e.tag for e in root] == ["Hangup"]


def test_without_redis_the_agents_connect_document_still_connects(no_redis, clock):
    root = answer(phone_for(no_redis), "/ivr/queue/connect?line=medical", DequeingCallSid="CA1")
    assert said(root) == [message("queue_connecting")]
    assert {e.tag for e in root} <= {"Say", "Play", "Pause", "Redirect"}


def test_without_the_database_the_greeting_plays_and_authentication_goes_to_a_person(
    no_database, clock
):
    exchange = phone_for(no_database)
    phone = exchange.call().dial()
    assert phone.heard[-2] == message("ask_suffix")
    phone.press(ZHANG[3]).say(ZHANG[1])
    assert phone.queue == MEDICAL.queue
    assert message("degraded_transfer") in phone.heard


def test_without_the_database_an_agent_serves_the_default_line(no_database, clock):
    agent = phone_for(no_database).agent("alice").dial()
    assert agent.queue == MEDICAL.queue


def test_without_the_database_a_closed_line_still_says_when_it_opens(no_database, clock):
    clock.set(datetime(2026, 3, 10, 6, 0))
    phone = phone_for(no_database).call().dial().press(ZHANG[3]).say(ZHANG[1])
    assert phone.ended
    assert "8点至22点" in phone.heard[-1] and MEDICAL_SAID in phone.heard[-1]


# -- documents of the right kind, whatever fails -----------------------------------------

# Verbs Twilio plays in a queue's wait document, and on a caller's leg as an agent takes them.
WAIT_VERBS = {"Say", "Play", "Pause", "Redirect", "Leave", "Gather"}
BRIDGE_VERBS = {"Say", "Play", "Pause", "Redirect"}


def verbs(root: ET.Element) -> set[str]:
    return {element.tag for element in root}


def test_an_absurd_queue_position_still_gets_a_wait_document(app, exchange, clock):
    root = answer(exchange, "/ivr/queue/wait?line=medical", QueuePosition="9" * 400)
    assert verbs(root) <= WAIT_VERBS and root.find("Enqueue") is None
    assert root.find(".//Play").text == FLOWS.call_flow.voice.hold_music


def test_a_wait_document_that_fails_is_hold_music_never_an_enqueue(
    app, exchange, clock, monkeypatch
):
    from ivr import hold

    def broken(*_args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(hold, "wait", broken)
    root = answer(exchange, "/ivr/queue/wait?line=medical", QueuePosition="3")
    assert verbs(root) == {"Play"}


def test_the_agents_connect_document_that_fails_still_only_says(app, exchange, clock, monkeypatch):
    from ivr import dequeue

    def broken(*_args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(dequeue, "answer", broken)
    root = answer(exchange, "/ivr/queue/connect?line=medical", DequeingCallSid="CA1")
    assert verbs(root) <= BRIDGE_VERBS
    assert said(root) == [message("queue_connecting")]


def test_the_degraded_answer_says_transfer_only_where_a_transfer_follows(no_redis, clock):
    for hour in (10, 23):
        at(clock, hour)
        root = answer(phone_for(no_redis), "/ivr/voice")
        tags = [element.tag for element in root]
        for index, text in enumerate(said(root)):
            if "转接" in text:
                assert "Enqueue" in tags[index + 1 :], (hour, tags)


# -- the number's Fallback URL --------------------------------------------------------------


def fallback(exchange: Exchange, failed: str) -> ET.Element:
    return answer(
        exchange,
        "/ivr/fallback",
        ErrorCode="11205",
        ErrorUrl=f"{PUBLIC_BASE_URL}{failed}",
    )


def test_the_fallback_url_answers_the_degraded_call_from_memory(no_redis, clock):
    root = fallback(phone_for(no_redis), "/ivr/gather?step=3")
    assert root.find("Enqueue").text == MEDICAL.queue
    assert said(root) == [message("degraded_transfer")]


def test_the_fallback_url_of_the_other_line_gives_its_hours_when_closed(no_redis, clock):
    at(clock, 23, 0)
    policy = FLOWS.line("policy")
    root = fallback(phone_for(no_redis), "/ivr/queue/done?line=policy&step=4")
    assert root.find("Enqueue") is None
    assert spoken_digits(FLOWS.call_flow.speech, policy.phone) in said(root)[0]


def test_the_fallback_of_a_wait_document_is_a_wait_document(no_redis, clock):
    root = fallback(phone_for(no_redis), "/ivr/queue/wait?line=medical")
    assert verbs(root) <= WAIT_VERBS and root.find("Enqueue") is None


def test_the_fallback_url_is_signed_like_every_webhook(no_redis, clock):
    exchange = phone_for(no_redis)
    form = exchange.call().params(ErrorCode="11205", ErrorUrl=f"{PUBLIC_BASE_URL}/ivr/voice")
    status, _ = exchange.post(exchange.url("/ivr/fallback"), form, sign=False)
    assert status == 403


# -- counted -------------------------------------------------------------------------------


def test_degraded_answers_are_counted_per_reason_for_healthz(no_redis, clock):
    exchange = phone_for(no_redis)
    answer(exchange, "/ivr/voice")
    answer(exchange, "/ivr/voice")
    fallback(exchange, "/ivr/voice")
    health = no_redis.test_client().get("/healthz").get_json()
    assert health["degraded_answers"] == {"fallback": 1, "redis": 2}


def test_counts_made_while_redis_was_down_reach_redis_once_it_answers(app, exchange, clock):
    if not app.config.get("REDIS_URL"):
        pytest.skip("needs a real Redis")
    from ivr import degraded
    from live import degraded_answers, store

    with app.test_request_context():
        degraded.tally().note(degraded.REDIS)  # as if counted during the outage
    answer(exchange, "/ivr/voice")  # an ordinary call, Redis answering
    with app.app_context():
        assert degraded_answers.on(store.redis(), "2026-03-10") == {"redis": 1}


# -- callbacks while Redis is down ------------------------------------------------------


def test_without_redis_leaving_the_queue_books_the_callback_in_sql(no_redis, clock):
    from services import callbacks
    from storage.models import Callback

    exchange = phone_for(no_redis)
    root = answer(exchange, "/ivr/queue/done?line=medical&step=5", QueueResult="leave")
    assert [e.tag for e in root][-1] == "Hangup"
    assert any("预约回电" in text for text in said(root))
    with no_redis.app_context():
        (booked,) = db.session().query(Callback).all()
    assert (booked.status, booked.line, booked.number) == (
        callbacks.PENDING,
        "medical",
        "+8613900001111",
    )
