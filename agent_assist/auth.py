"""Who is asking: an agent by API token or by the web session cookie, and views only for them.

Views accept ``Authorization: Bearer TOKEN`` or the web session cookie
(``session["agent_id"]`` and the account's session generation, set by sign-in).
A session whose account has since signed out, changed password, had its tokens
revoked or been disabled is no session (``services.accounts``). ``login_required``
answers 401 or 403 (JSON views); ``signed_in`` sends anyone else to the sign-in
form (pages). ``still_signed_in`` lets an event stream look again as it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Flask, g, redirect, request, session, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from services import accounts
from storage import db
from storage.models import Agent

SESSION_KEY = "agent_id"
GENERATION_KEY = "generation"
F = TypeVar("F", bound=Callable)


def current_agent() -> Agent | None:
    """The agent making this request, by Bearer token or else by session cookie."""
    if "agent" not in g:
        credential = current_credential()
        # A token's check reads no ``Agent``: the account is loaded only for views that use it.
        g.agent = None if credential is None else db.session().get(Agent, credential.agent_id)
    return g.agent


def current_credential() -> accounts.Credential | None:
    """What the agent of this request signed in with (None: nobody signed in)."""
    if "credential" not in g:
        g.credential = _authenticate()
    return g.credential


def sign_in(agent: Agent) -> None:
    """Start a fresh session for ``agent`` (the caller rotates the CSRF token)."""
    session.clear()
    session[SESSION_KEY] = agent.id
    session[GENERATION_KEY] = agent.session_generation
    session.permanent = True


def _authenticate() -> accounts.Credential | None:
    header = request.headers.get("Authorization")
    if header is not None:
        # A request that presents credentials is judged by them alone.
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return accounts.token_credential(db.session(), token.strip())
    agent_id = session.get(SESSION_KEY)
    if agent_id is None:
        return None
    agent = db.session().get(Agent, agent_id) if isinstance(agent_id, int) else None
    if (
        agent is None
        or not accounts.may_sign_in(agent)
        or session.get(GENERATION_KEY) != agent.session_generation
    ):
        # Ended elsewhere (signed out, new password, disabled): forget it here too.
        session.clear()
        return None
    g.agent = agent  # read already: the views that want the account need not read it again
    return accounts.Credential(agent.id, agent.role, agent.session_generation)


def still_signed_in(app: Flask) -> Callable[[], bool]:
    """For a stream that outlives its request: does this request's sign-in still hold?

    Each call reads the account afresh. A database that cannot answer signs no one
    out: the stream's own error handling deals with an outage.
    """
    credential = current_credential()

    def check() -> bool:
        if credential is None:
            return False
        with app.app_context():
            try:
                return accounts.still_valid(db.session(), credential)
            except SQLAlchemyError:
                return True

    return check


def login_required(*roles: str) -> Callable[[F], F]:
    """Views for signed-in agents; with ``roles``, only for those roles.

    Raises 401 (with ``WWW-Authenticate: Bearer``) or 403; the blueprint decides
    how those look (JSON for the API, a sign-in page for the desk).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            credential = current_credential()
            if credential is None:
                raise Unauthorized(
                    "a valid API token (Authorization: Bearer TOKEN) or a signed-in session "
                    "is required",
                    www_authenticate=WWWAuthenticate("bearer", {"realm": "hotline"}),
                )
            if roles and credential.role not in roles:
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
