"""Who is asking: an agent by API token or by the web session cookie, and views only for them.

Views accept ``Authorization: Bearer TOKEN`` or the web session cookie
(``session["agent_id"]``, set by sign-in). ``login_required`` answers 401 or
403 (JSON views); ``signed_in`` sends anyone else to the sign-in form (pages).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import g, redirect, request, session, url_for
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from services import accounts
from storage import db
from storage.models import Agent

SESSION_KEY = "agent_id"
F = TypeVar("F", bound=Callable)


def current_agent() -> Agent | None:
    """The agent making this request, by Bearer token or else by session cookie."""
    if "agent" not in g:
        g.agent = _authenticate()
    return g.agent


def _authenticate() -> Agent | None:
    header = request.headers.get("Authorization")
    if header is not None:
        # A request that presents credentials is judged by them alone.
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return accounts.agent_for_token(db.session(), token.strip())
    agent_id = session.get(SESSION_KEY)
    if agent_id is None:
        return None
    return db.session().get(Agent, agent_id)


def login_required(*roles: str) -> Callable[[F], F]:
    """Views for signed-in agents; with ``roles``, only for those roles.

    Raises 401 (with ``WWW-Authenticate: Bearer``) or 403; the blueprint decides
    how those look (JSON for the API, a sign-in page for the desk).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            agent = current_agent()
            if agent is None:
                raise Unauthorized(
                    "a valid API token (Authorization: Bearer TOKEN) or a signed-in session "
                    "is required",
                    www_authenticate=WWWAuthenticate("bearer", {"realm": "hotline"}),
                )
            if roles and agent.role not in roles:
                raise Forbidden(f"only for: {', '.join(roles)}")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def signed_in(view):
    """Pages for signed-in agents (``g.desk_agent``); anyone else is sent to the sign-in form."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        agent = current_agent()
        if agent is None:
            return to_signin()
        g.desk_agent = agent
        return view(*args, **kwargs)

    return wrapped


def to_signin():
    """To the sign-in form, and back to this page once signed in."""
    return redirect(url_for("desk.signin", next=request.full_path.rstrip("?")))
