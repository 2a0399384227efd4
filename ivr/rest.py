"""Twilio's REST API (SMS, outbound calls) through the ``twilio`` library.

``TWILIO_HTTP_CLIENT`` in the app's config replaces the library's HTTP client:
tests pass one that records the requests Twilio would receive.
"""

from __future__ import annotations

from flask import Flask
from twilio.rest import Client


class NotConfigured(RuntimeError):
    """TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or PUBLIC_BASE_URL is missing."""


def client(app: Flask) -> Client:
    sid, token = app.config.get("TWILIO_ACCOUNT_SID"), app.config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise NotConfigured("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
    return Client(sid, token, http_client=app.config.get("TWILIO_HTTP_CLIENT"))


def public_url(app: Flask, path: str) -> str:
    """An absolute URL Twilio can reach (REST requests need one; TwiML may be relative)."""
    base = app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise NotConfigured("PUBLIC_BASE_URL is required for Twilio to reach the hotline")
    return base.rstrip("/") + path
