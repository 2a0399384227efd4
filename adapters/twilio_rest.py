"""Twilio's REST API (SMS, outbound calls, queue members) through the ``twilio`` library.

Both sides use it: the IVR texts links and dials callbacks, the desk texts
booking confirmations, the distribution dequeues callers to agents. Every request
goes to ``TWILIO_API_BASE_URL`` (SPEC §5; default ``https://api.twilio.com``):
``AtBase`` wraps the library's HTTP client and swaps the origin of each URL the
library builds, so a local stand-in (the simulator, a mock of Twilio's OpenAPI
description) receives exactly what Twilio would — same paths, form, headers and
authentication. ``TWILIO_HTTP_CLIENT`` in the app's config replaces the library's
HTTP client, which is how tests see the exact request Twilio would receive
without reaching it (``simulator.softphone.RecordingTwilio``).

Every call here is made from a background job or thread, never while a webhook waits.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import Flask
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from adapters.exceptions import MemberGone, NotConfigured, TwilioRefused
from domain.masking import mask_phone, mask_phones_in

log = logging.getLogger(__name__)

CREDENTIALS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
TWILIO_API = "https://api.twilio.com"
# Twilio's largest list page: a queue holds at most 1000 callers by default settings
# (the hotline leaves Twilio's queue size alone), so one page lists every member.
PAGE_SIZE = 1000
SENDER = "TWILIO_CALLER_ID"
# Seconds to wait for Twilio's API. The library waits forever by default, and a
# demo without Redis sends SMS links inside the webhook, which Twilio abandons at 15 s.
TIMEOUT_SECONDS = 8
# Where ``client`` keeps the app's client (``app.extensions``).
CLIENTS = "hotline.twilio_clients"


def missing_settings(app: Flask, keys) -> list[str]:
    """The settings among ``keys`` that are unset or empty."""
    return [key for key in keys if not app.config.get(key)]


def client(app: Flask) -> Client:
    """The app's client of Twilio's API: one per process and settings, kept.

    Kept, its HTTP connections to Twilio stay open from one request to the next: a
    client made per request opened a connection (a TLS handshake, to api.twilio.com)
    for each offer's dequeue and each SMS. A forked process (rq's work horse) makes its
    own: two processes must not share a connection.
    """
    missing = missing_settings(app, CREDENTIALS)
    if missing:
        raise NotConfigured("Twilio's REST API", missing)
    sid, token = (app.config[key] for key in CREDENTIALS)
    given = app.config.get("TWILIO_HTTP_CLIENT")
    base = (app.config.get("TWILIO_API_BASE_URL") or TWILIO_API).rstrip("/")
    key = (os.getpid(), sid, token, base, id(given))
    kept = app.extensions.setdefault(CLIENTS, {})
    found = kept.get(key)
    if found is None:
        http_client = given or _http_client()
        if base != TWILIO_API:
            http_client = AtBase(http_client, base)
        # Settings changed (a test's) or a fork: the others are not used again here.
        kept.clear()
        found = kept[key] = Client(sid, token, http_client=http_client)
    return found


def _http_client() -> TwilioHttpClient:
    http_client = TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    # The library's session with its connection pools, settling the environment once.
    settled = SettledSession()
    settled.adapters = http_client.session.adapters
    http_client.session = settled
    return http_client


class SettledSession(requests.Session):
    """requests' session, reading the environment's proxies and CA bundle once per origin.

    The library asks for them before every request (``merge_environment_settings``),
    and requests then walks ``os.environ`` and the proxy bypass list each time: a fifth
    of the CPU of a dequeue (1.0-1.25 ms before, 0.83-1.0 ms after, in process). A
    running process's environment does not change; what it says is kept, per origin
    and arguments.
    """

    def __init__(self):
        super().__init__()
        self._settled: dict[tuple, dict] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        key = (*urlsplit(url)[:2], tuple(sorted((proxies or {}).items())), stream, verify, cert)
        found = self._settled.get(key)
        if found is None:
            # A copy: requests adds the environment's proxies to the dict it is given.
            found = super().merge_environment_settings(
                url, dict(proxies or {}), stream, verify, cert
            )
            self._settled[key] = found
        return {**found, "proxies": dict(found["proxies"])}


class AtBase(HttpClient):
    """The library's HTTP client, sending to ``base`` what it would send to api.twilio.com."""

    def __init__(self, inner: HttpClient, base: str):
        super().__init__(inner.logger, is_async=False, timeout=inner.timeout)
        self.inner = inner
        self.base = base

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        if url.startswith(TWILIO_API + "/"):
            url = self.base + url[len(TWILIO_API) :]
        return self.inner.request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


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


# -- queues (the distribution) -------------------------------------------------------------


def missing_for_queues(app: Flask) -> list[str]:
    """The settings the distribution needs: credentials, and the URL Twilio is sent back to."""
    return missing_settings(app, (*CREDENTIALS, "PUBLIC_BASE_URL"))


def dequeue(app: Flask, queue_sid: str, call_sid: str, url: str) -> None:
    """Take caller ``call_sid`` out of queue ``queue_sid`` to the TwiML at ``url`` (POSTed).

    Raises ``MemberGone`` when Twilio does not find the caller in that queue (they
    hung up, or were taken already); other failures as the library raises them.
    """
    try:
        client(app).queues(queue_sid).members(call_sid).update(url=url, method="POST")
    except TwilioRestException as exc:
        if exc.status in (400, 404):
            raise MemberGone(queue_sid, call_sid) from exc
        raise


@dataclass(frozen=True, slots=True)
class QueueMember:
    call_sid: str
    position: int
    wait_time: int


def queues(app: Flask) -> dict[str, str]:
    """Twilio's queues of the account: friendly name → QueueSid (``Queues.json``)."""
    page = client(app).queues.page(page_size=PAGE_SIZE)
    return {queue.friendly_name: queue.sid for queue in page if queue.friendly_name and queue.sid}


def members(app: Flask, queue_sid: str) -> list[QueueMember]:
    """The callers in queue ``queue_sid`` now, front first (``Queues/{sid}/Members.json``)."""
    page = client(app).queues(queue_sid).members.page(page_size=PAGE_SIZE)
    found = [
        QueueMember(m.call_sid, _whole(m.position), max(0, _whole(m.wait_time)))
        for m in page
        if m.call_sid
    ]
    return sorted(found, key=lambda m: m.position)


def _whole(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
