"""Twilio's REST API is reached at TWILIO_API_BASE_URL, and nothing else changes (SPEC §5)."""

from __future__ import annotations

from conftest import TWILIO_ACCOUNT_SID

from adapters import twilio_rest


def test_by_default_requests_go_to_twilio(app, twilio_rest):
    twilio_rest_module_sends(app)
    (sent,) = twilio_rest.requests
    assert sent.url == (
        f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    )


def test_a_base_url_changes_the_origin_and_keeps_twilios_path_form_and_credentials(
    app, twilio_rest
):
    twilio_rest_module_sends(app)
    app.config["TWILIO_API_BASE_URL"] = "http://127.0.0.1:8000/simulator/twilio/"
    twilio_rest_module_sends(app)
    direct, moved = twilio_rest.requests
    assert moved.url == (
        "http://127.0.0.1:8000/simulator/twilio/2010-04-01/Accounts/"
        f"{TWILIO_ACCOUNT_SID}/Messages.json"
    )
    assert (moved.method, moved.data) == (direct.method, direct.data)
    assert (moved.auth, moved.headers) == (direct.auth, direct.headers)
    assert moved.auth[0] == TWILIO_ACCOUNT_SID


def twilio_rest_module_sends(app) -> None:
    twilio_rest.send_sms(app, "+8613812345678", "【重疾管家】", "+861058001234")
