"""CSRF protection for the cookie-signed-in desk: a per-session token on every form.

The token lives in the (signed) session and is compared in constant time with
the ``csrf_token`` form field or the ``X-CSRF-Token`` header. Requests that
authenticate with ``Authorization: Bearer`` carry no ambient credential, so they
need no token; everything riding on the session cookie does.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from werkzeug.exceptions import BadRequest

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CSRFError(BadRequest):
    description = "the form has expired or did not come from this site; reload the page and retry"


def token() -> str:
    """This session's token, made on first use (templates call it as ``csrf_token()``)."""
    value = session.get(SESSION_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate() -> str:
    """A fresh token, e.g. on sign-in, so a token seen before signing in is worthless after."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def uses_bearer() -> bool:
    return request.headers.get("Authorization") is not None


def check() -> None:
    """Refuse an unsafe request riding on the session cookie without this session's token."""
    if request.method in SAFE_METHODS or uses_bearer():
        return
    expected = session.get(SESSION_KEY)
    given = request.headers.get(HEADER) or request.form.get(FORM_FIELD) or ""
    if not expected or not hmac.compare_digest(str(expected), str(given)):
        raise CSRFError()
