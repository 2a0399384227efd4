"""Twilio's signature on a webhook: ``X-Twilio-Signature`` over the public URL and the form.

Twilio signs the URL it requested, which behind a proxy is ``PUBLIC_BASE_URL``
+ path + query rather than the URL Flask sees. Without an auth token nothing is
signed: every request is refused.

The one module of the IVR that reads ``flask.request``: it is the check every
webhook blueprint (the IVR's, the simulator's) runs before its views.
"""

from __future__ import annotations

from flask import current_app, request
from twilio.request_validator import RequestValidator


def public_url() -> str:
    """The URL Twilio requested and signed: the public origin behind a proxy."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + ("?" + query if query else "")


def signed_by_twilio() -> bool:
    """The request carries a valid ``X-Twilio-Signature`` (never true without a token)."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(
        token
        and signature
        and RequestValidator(token).validate(public_url(), request.form, signature)
    )
