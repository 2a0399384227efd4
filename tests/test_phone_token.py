"""The browser phone's Twilio Voice access token (``GET /agent/token``)."""

from __future__ import annotations

import base64
import json

PHONE = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_API_KEY": "SK" + "2" * 32,
    "TWILIO_API_SECRET": "not-a-real-secret-but-long-enough-for-hs256",
    "TWILIO_TWIML_APP_SID": "AP" + "3" * 32,
}


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_without_twilio_settings_the_token_endpoint_says_so_and_the_desk_still_works(desk):
    response = desk.get("/agent/token")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "phone_not_configured"
    for key in PHONE:
        assert key in error["message"]
    page = desk.get("/agent/")
    assert page.status_code == 200
    assert 'data-configured="no"' in page.get_data(as_text=True)


def test_a_signed_in_agent_gets_a_voice_token_for_their_username(app, desk):
    app.config.update(PHONE)
    response = desk.get("/agent/token")
    assert response.status_code == 200
    body = response.get_json()
    assert body["identity"] == "ann"
    token = claims(body["token"])
    assert token["iss"] == PHONE["TWILIO_API_KEY"]
    assert token["sub"] == PHONE["TWILIO_ACCOUNT_SID"]
    assert token["grants"]["identity"] == "ann"
    voice = token["grants"]["voice"]
    assert voice["incoming"] == {"allow": True}
    assert voice["outgoing"]["application_sid"] == PHONE["TWILIO_TWIML_APP_SID"]
    assert token["exp"] - token["nbf"] <= 3600 + 60


def test_the_token_endpoint_refuses_anyone_not_signed_in(app, client):
    app.config.update(PHONE)
    response = client.get("/agent/token")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
