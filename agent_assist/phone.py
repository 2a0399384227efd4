"""The browser phone: Twilio Voice access tokens for signed-in agents.

The identity is the agent's username, so the IVR's agent TwiML App sees
``From=client:USERNAME``. Without the four settings the desk works, phoneless.
"""

from __future__ import annotations

from flask import Flask
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from adapters import twilio_rest

SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_TWIML_APP_SID")


def missing_settings(app: Flask) -> list[str]:
    return twilio_rest.missing_settings(app, SETTINGS)


def access_token(app: Flask, identity: str) -> dict:
    ttl = int(app.config.get("TWILIO_TOKEN_TTL_SECONDS") or 3600)
    token = AccessToken(
        app.config["TWILIO_ACCOUNT_SID"],
        app.config["TWILIO_API_KEY"],
        app.config["TWILIO_API_SECRET"],
        identity=identity,
        ttl=ttl,
    )
    token.add_grant(
        VoiceGrant(outgoing_application_sid=app.config["TWILIO_TWIML_APP_SID"], incoming_allow=True)
    )
    return {"identity": identity, "token": token.to_jwt(), "ttl": ttl}
