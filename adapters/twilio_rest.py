"""Twilio's REST API (SMS, outbound calls) through the ``twilio`` library.

Both sides use it: the IVR texts links and dials callbacks, the desk texts
booking confirmations. ``TWILIO_HTTP_CLIENT`` in the app's config replaces the
library's HTTP client, which is how tests see the exact request Twilio would
receive without reaching it (``simulator.softphone.RecordingTwilio``).
"""

from __future__ import annotations

import logging

from flask import Flask
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from adapters.exceptions import NotConfigured, TwilioRefused
from domain.masking import mask_phone, mask_phones_in

log = logging.getLogger(__name__)

CREDENTIALS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
SENDER = "TWILIO_CALLER_ID"
# Seconds to wait for Twilio's API. The library waits forever by default, and a
# demo without Redis sends SMS links inside the webhook, which Twilio abandons at 15 s.
TIMEOUT_SECONDS = 8


def missing_settings(app: Flask, keys) -> list[str]:
    """The settings among ``keys`` that are unset or empty."""
    return [key for key in keys if not app.config.get(key)]


def client(app: Flask) -> Client:
    missing = missing_settings(app, CREDENTIALS)
    if missing:
        raise NotConfigured("Twilio's REST API", missing)
    sid, token = (app.config[key] for key in CREDENTIALS)
    http_client = app.config.get("TWILIO_HTTP_CLIENT") or TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    return Client(sid, token, http_client=http_client)


def sender(app: Flask, dialled: str | None = None) -> str:
    """Who an SMS or a call comes from: the number the caller dialled, else ``TWILIO_CALLER_ID``."""
    origin = dialled or app.config.get(SENDER)
    if not origin:
        raise NotConfigured("the hotline's caller ID", [SENDER])
    return origin


def missing_for_sms(app: Flask, dialled: str | None = None) -> list[str]:
    """The settings an SMS still needs (the sender only when no dialled number stands in)."""
    return missing_settings(app, CREDENTIALS if dialled else (*CREDENTIALS, SENDER))


def send_sms(app: Flask, to: str, body: str, dialled: str | None = None) -> str:
    """Text ``body`` to ``to`` (E.164); returns the message SID. Raises ``NotConfigured``."""
    missing = missing_for_sms(app, dialled)
    if missing:
        raise NotConfigured("SMS", missing)
    origin = sender(app, dialled)
    # A Messaging Service SID (MG...) picks the sending number itself; otherwise one we own.
    via = {"messaging_service_sid": origin} if origin.startswith("MG") else {"from_": origin}
    try:
        message = client(app).messages.create(to=to, body=body, **via)
    except TwilioRestException as exc:
        # Not chained: the original's text, in the job's traceback, quotes the number.
        raise TwilioRefused(
            f"Twilio refused the SMS to {mask_phone(to)}: {refusal(exc, to)}"
        ) from None
    log.info("SMS %s sent to %s", message.sid, mask_phone(to))
    return message.sid


def refusal(exc: TwilioException, *numbers: str) -> str:
    """What Twilio said, fit for a log: its status and code, the ``numbers`` it quotes masked.

    ("HTTP 400 error: Unable to create record: The 'To' number +86138… is not a valid
    phone number." is how the API words a refused number.)
    """
    if isinstance(exc, TwilioRestException):
        return mask_phones_in(f"HTTP {exc.status}, error {exc.code}: {exc.msg}", *numbers)
    return mask_phones_in(str(exc), *numbers)


def public_url(app: Flask, path: str) -> str:
    """An absolute URL Twilio can reach (REST requests need one; TwiML may be relative)."""
    base = app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise NotConfigured("Twilio's requests back to the hotline", ["PUBLIC_BASE_URL"])
    return base.rstrip("/") + path
