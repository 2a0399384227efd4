"""Twilio's signature on a webhook: ``X-Twilio-Signature`` over the public URL and the form.

Twilio signs the URL it requested, which behind a proxy is ``PUBLIC_BASE_URL``
+ path + query rather than the URL Flask sees. Without an auth token nothing is
signed: every request is refused.

The one module of the IVR that reads ``flask.request``: it is the check every
webhook blueprint (the IVR's, the simulator's) runs before its views.
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app, request
from twilio.request_validator import RequestValidator


def public_url() -> str:
    """The URL Twilio requested and signed: the public origin behind a proxy."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + ("?" + query if query else "")


@lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def signed_by_twilio() -> bool:
    """The request carries a valid ``X-Twilio-Signature`` (never true without a token).

    What ``RequestValidator.validate`` accepts, for a form-encoded webhook: the URL
    signed as requested, or with its default port added or taken away (Twilio signs
    either way). ``validate`` computes both signatures every time; here the second
    is computed only when the first does not match: one HMAC per genuine webhook.
    """
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not (token and signature):
        return False
    validator, form = _validator(token), _Values(request.form.lists())
    expected = signature.encode()
    for candidate in _url_forms(public_url()):
        if hmac.compare_digest(validator.compute_signature(candidate, form).encode(), expected):
            return True
    return False


class _Values(dict):
    """The form as each name's values, asked for as ``RequestValidator`` asks first.

    Its ``get_values`` tries ``getall``, then ``getlist``: handed werkzeug's form, it
    raises and catches an AttributeError for each of the twenty-odd parameters Twilio
    sends — half the cost of the signature (measured, 31 µs against 12 µs).
    """

    def getall(self, name: str) -> list[str]:
        return self[name]


def _url_forms(url: str):
    """The URL as requested, then with its default port written out or taken away."""
    parts = urlsplit(url)
    yield parts.geturl()
    if parts.port:
        yield parts._replace(netloc=parts.netloc.split(":")[0]).geturl()
    else:
        port = 443 if parts.scheme == "https" else 80
        yield parts._replace(netloc=f"{parts.netloc}:{port}").geturl()
