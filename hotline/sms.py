"""Text messages to customers through Twilio's REST API.

The ``twilio`` client takes its HTTP client from the app (``TWILIO_HTTP_CLIENT``),
which is how tests see the exact request Twilio would receive without reaching it.
"""

from __future__ import annotations

import logging

from flask import Flask
from twilio.rest import Client

from domain.masking import mask_phone

log = logging.getLogger(__name__)


class SmsNotConfigured(RuntimeError):
    """TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or TWILIO_CALLER_ID is missing."""


def missing_settings(app: Flask) -> list[str]:
    return [
        key
        for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID")
        if not app.config.get(key)
    ]


def client(app: Flask) -> Client:
    return Client(
        app.config["TWILIO_ACCOUNT_SID"],
        app.config["TWILIO_AUTH_TOKEN"],
        http_client=app.config.get("TWILIO_HTTP_CLIENT"),
    )


def send(app: Flask, to: str, body: str) -> str:
    """Send ``body`` to ``to`` (E.164); returns the message SID. Raises ``SmsNotConfigured``."""
    missing = missing_settings(app)
    if missing:
        raise SmsNotConfigured(f"SMS is not configured: set {', '.join(missing)}")
    # The hotline's own number, as the IVR's SMS and callbacks use when no call is at hand.
    sender = app.config["TWILIO_CALLER_ID"]
    # A Messaging Service SID (MG...) picks the sender itself; otherwise a number we own.
    origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
    message = client(app).messages.create(to=to, body=body, **origin)
    log.info("SMS %s sent to %s", message.sid, mask_phone(to))
    return message.sid
