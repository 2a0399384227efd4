"""What Twilio may send besides a tidy call: bad signatures, garbage, retries, withheld numbers.

Unsigned or badly signed requests get 403; anything else gets valid TwiML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from conftest import PUBLIC_BASE_URL, TWILIO_AUTH_TOKEN
from ivr_calls import WANG, ZHANG, load, message, offered, verified
from twilio.request_validator import RequestValidator

from ivr.call_state import WITHHELD
from ivr.callers import caller_number
from services import call_notes, lockout
from simulator.softphone import Exchange
from storage import db, repository

WEBHOOKS = [
    "/ivr/voice",
    "/ivr/gather?step=1",
    "/ivr/status",
    "/ivr/agent",
    "/ivr/queue/wait?line=medical",
    "/ivr/queue/key?line=medical",
    "/ivr/queue/done?line=medical&step=3",
    "/ivr/queue/connect?line=medical",
    "/ivr/callback/answer?id=1",
    "/ivr/callback/connect?id=1",
]


@pytest.fixture
def family(import_feed):
    load(import_feed)


def form(**extra) -> dict[str, str]:
    base = {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + "1" * 32,
        "From": "+8613900001111",
        "To": "+861058001234",
        "Caller": "+8613900001111",
        "Called": "+861058001234",
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    base.update(extra)
    return base


def sign(url: str, params: dict, token: str = TWILIO_AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    return root


# -- signatures ----------------------------------------------------------------------------


def test_twilios_published_signature_vector_is_what_the_validator_computes():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sign(url, params, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("path", WEBHOOKS)
def test_an_unsigned_request_is_forbidden(client, twilio_rest, path):
    assert client.post(path, data=form()).status_code == 403


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_request_signed_with_another_token_is_forbidden(client, twilio_rest, path):
    url = PUBLIC_BASE_URL + path
    response = client.post(
        path, data=form(), headers={"X-Twilio-Signature": sign(url, form(), "not-the-token")}
    )
    assert response.status_code == 403


def test_a_signature_for_other_parameters_is_forbidden(client, twilio_rest):
    url = PUBLIC_BASE_URL + "/ivr/gather?step=1"
    signature = sign(url, form(Digits="1"))
    response = client.post(
        "/ivr/gather?step=1", data=form(Digits="2"), headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_a_signature_for_another_step_is_forbidden(client, twilio_rest):
    signature = sign(PUBLIC_BASE_URL + "/ivr/gather?step=1", form())
    response = client.post(
        "/ivr/gather?step=2", data=form(), headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_behind_a_proxy_the_public_url_is_what_was_signed(client, twilio_rest, family):
    # Flask sees http://localhost/…; Twilio signed the public https URL.
    url = PUBLIC_BASE_URL + "/ivr/voice"
    response = client.post(
        "http://localhost/ivr/voice", data=form(), headers={"X-Twilio-Signature": sign(url, form())}
    )
    twiml(response)


def test_without_a_public_base_url_the_request_url_is_checked(app, client, twilio_rest, family):
    app.config["PUBLIC_BASE_URL"] = None
    url = "http://internal.example:8000/ivr/voice"
    response = client.post(url, data=form(), headers={"X-Twilio-Signature": sign(url, form())})
    twiml(response)
    wrong = sign(PUBLIC_BASE_URL + "/ivr/voice", form())
    assert client.post(url, data=form(), headers={"X-Twilio-Signature": wrong}).status_code == 403


def test_without_an_auth_token_nothing_is_accepted(app, client, twilio_rest):
    app.config["TWILIO_AUTH_TOKEN"] = None
    url = PUBLIC_BASE_URL + "/ivr/voice"
    response = client.post(
        "/ivr/voice", data=form(), headers={"X-Twilio-Signature": sign(url, form())}
    )
    assert response.status_code == 403


# -- garbage -------------------------------------------------------------------------------


def post(exchange: Exchange, path: str, **params):
    url = exchange.url(path)
    status, body = exchange.post(url, form(**params))
    assert status == 200, body
    root = ET.fromstring(body)
    return [(e.tag, (e.text or "").strip()) for e in root.iter() if e.tag == "Say"], root


@pytest.mark.parametrize("digits", ["abc", "12", "１２３４５６", "*#*#", "12a456"])
def test_garbage_digits_are_asked_for_again(exchange, family, digits):
    phone = exchange.call().dial()
    phone.press(digits)
    assert message("invalid_digits") in phone.heard
    assert phone.heard[-2:] == [message("ask_suffix"), offered("person")]


@pytest.mark.parametrize("digits", ["12345678901234567890", "3456789", " ", "0" * 1000])
def test_digits_twilio_would_never_send_are_asked_for_again(exchange, family, digits):
    phone = exchange.call().dial()
    said, _ = post(exchange, "/ivr/gather?step=1", CallSid=phone.call_sid, Digits=digits)
    assert said[-2][1] == message("ask_suffix")


def test_an_answer_without_digits_or_speech_is_a_silence(exchange, family):
    phone = exchange.call().dial().silence()
    assert phone.heard[-3:] == [message("no_digits"), message("ask_suffix"), offered("person")]


def test_every_key_reaches_the_hotline_so_a_lone_hash_is_a_wrong_key(exchange, family):
    phone = verified(exchange, WANG)
    gather = phone.gather
    assert gather.get("finishOnKey") == "" and gather.get("actionOnEmptyResult") == "true"
    phone.press("#")
    assert message("wrong_input") in phone.heard and message("no_input") not in phone.heard
    phone.silence()
    assert phone.heard.count(message("no_input")) == 1


def test_an_empty_speech_result_is_a_silence(exchange, family):
    phone = exchange.call().dial().press(ZHANG[3])
    url = exchange.url(phone.gather.get("action"), phone.document_url)
    body = phone.request(url, SpeechResult="", Confidence="0.0")
    assert message("no_speech") in body and message("ask_name") in body


def test_speech_that_is_no_name_is_asked_for_again(exchange, family):
    phone = exchange.call().dial().press(ZHANG[3])
    url = exchange.url(phone.gather.get("action"), phone.document_url)
    body = phone.request(url, SpeechResult="。", Confidence="0.3")
    assert message("invalid_speech") in body and message("ask_name") in body


def test_an_unknown_call_starts_again_politely(exchange, family):
    said, _ = post(exchange, "/ivr/gather?step=4", CallSid="CA" + "9" * 32, Digits="345678")
    assert [text for _, text in said] == [
        message("lost"),
        message("ask_suffix"),
        offered("person"),
    ]


def test_a_request_without_a_call_sid_still_gets_a_person(exchange, family):
    params = form()
    del params["CallSid"]
    status, body = exchange.post(exchange.url("/ivr/voice"), params)
    assert status == 200
    assert ET.fromstring(body).find("Enqueue").text == "medical"


def test_a_garbled_step_is_taken_as_an_answer_to_the_current_question(exchange, family):
    phone = exchange.call().dial()
    said, _ = post(exchange, "/ivr/gather?step=abc", CallSid=phone.call_sid, Digits="345678")
    assert said[-2][1] == message("ask_name")


def test_a_step_from_the_future_repeats_the_question_and_changes_nothing(app, exchange, family):
    phone = exchange.call("+8613900000091").dial().press(WANG[3])
    said, _ = post(
        exchange,
        "/ivr/gather?step=9",
        CallSid=phone.call_sid,
        From="+8613900000091",
        SpeechResult="李四",
    )
    assert said[-2][1] == message("ask_name")
    phone.say(WANG[1])
    assert message("verified") in phone.heard


def test_a_retried_webhook_gets_the_same_twiml_and_runs_nothing_twice(app, exchange, family):
    phone = exchange.call().dial().press(ZHANG[3])
    url = exchange.url(phone.gather.get("action"), phone.document_url)
    first = phone.request(url, SpeechResult="张伟", Confidence="0.9")
    second = phone.request(url, SpeechResult="李四", Confidence="0.9")
    assert first == second  # the first answer stands, whatever the retry carries
    phone.run(url, first)
    assert message("verified") in phone.heard


def test_a_retried_voice_webhook_does_not_start_the_call_twice(exchange, family):
    phone = exchange.call().dial()
    first = phone.last_twiml
    assert phone.request(exchange.url("/ivr/voice")) == first


# -- withheld numbers ----------------------------------------------------------------------

WITHHELD_IDS = [
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "+266696687",
    "+7378742833",
    "+86282452253",
    "+2562533",
    "+8656696",
    "",
]


@pytest.mark.parametrize("raw", WITHHELD_IDS)
def test_withheld_caller_ids_are_recognised_before_parsing(raw):
    assert caller_number(raw) is None


def test_real_numbers_are_normalised():
    assert caller_number("+86 138 1234 5678") == "+8613812345678"
    assert caller_number("13812345678") == "+8613812345678"
    assert caller_number("client:alice") is None
    assert caller_number("not a number") is None


@pytest.mark.parametrize("raw", WITHHELD_IDS)
def test_a_withheld_caller_can_still_authenticate(exchange, family, raw):
    phone = verified(exchange, WANG, caller=raw)
    assert offered("repeat") in phone.heard


def test_withheld_callers_share_one_failure_count(app, exchange, family):
    for raw in ("anonymous", "+266696687"):
        exchange.call(raw).dial().press("999999").say("张三").hang_up()
    with app.app_context():
        call_notes.written()  # the tries, written a moment later
        counted = repository.candidates(db.session(), None, lockout.number_subject(WITHHELD), 0)
    assert counted.number_failures == 2


# -- a status callback for a call the IVR never saw ----------------------------------------


def test_a_status_callback_for_an_unknown_call_is_accepted(exchange, family):
    status, body = exchange.post(exchange.url("/ivr/status"), form(CallStatus="completed"))
    assert status == 200 and ET.fromstring(body).tag == "Response"


def test_the_queue_documents_accept_what_twilio_sends_even_when_odd(exchange, family):
    for path, params in [
        ("/ivr/queue/wait?line=nope", {"QueuePosition": "x"}),
        ("/ivr/queue/key", {"Digits": ""}),
        ("/ivr/queue/done?line=medical", {"QueueResult": "bridged"}),
        ("/ivr/queue/done", {"QueueResult": "something-new"}),
        ("/ivr/queue/connect", {"DequeingCallSid": ""}),
        ("/ivr/callback/answer?id=abc", {}),
        ("/ivr/callback/connect?id=999", {"Digits": "1"}),
    ]:
        post(exchange, path, **params)
