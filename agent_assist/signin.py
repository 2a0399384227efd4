"""Signing in to the desk and out (``/agent/signin``, ``/agent/signout``), on the desk's blueprint.

A password per agent; too many attempts on one username are refused for a while
(``live.signin_throttle``). A wrong username and a wrong password get the same
answer. Signing in rotates the CSRF token; signing out sets the agent offline.
"""

from __future__ import annotations

import contextlib
import logging
from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from redis import RedisError

from agent_assist import auth, csrf
from agent_assist.desk_blueprint import bp
from live import signin_throttle, store
from services import accounts, agent_shift
from services.exceptions import UnknownAgent
from storage import db
from storage.models import Agent

log = logging.getLogger(__name__)


@bp.get("/signin")
def signin():
    agent = auth.current_agent()
    if agent is not None:
        return redirect(landing(agent))
    return render_template("desk/signin.html", next=_safe_next(request.args.get("next")))


@bp.post("/signin")
def signin_submit():
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    target = _safe_next(request.form.get("next"))
    if _too_many_attempts(username):
        return (
            render_template(
                "desk/signin.html",
                next=target,
                username=username,
                error="尝试次数过多，请 15 分钟后再试 (too many attempts; try again later)",
            ),
            429,
        )
    agent = None
    try:
        agent = accounts.find_agent(db.session(), username)
    except UnknownAgent:
        agent = None
    if (
        agent is None
        or not accounts.check_password(agent, password)
        or not accounts.may_sign_in(agent)
    ):
        # One message for both: a wrong username must not be told apart from a wrong password.
        return (
            render_template(
                "desk/signin.html",
                next=target,
                username=username,
                error="用户名或密码错误 (wrong username or password)",
            ),
            401,
        )
    with contextlib.suppress(RedisError):
        signin_throttle.forget(store.redis(), username)
    auth.sign_in(agent)
    csrf.rotate()
    log.info("agent %s signed in", agent.username)
    return redirect(target or landing(agent))


def landing(agent: Agent) -> str:
    """Where signing in leads: supervisors to their dashboard, agents to the desk."""
    if agent.role == accounts.SUPERVISOR:
        return url_for("supervisor.home")
    return url_for("desk.home")


@bp.post("/signout")
def signout():
    agent = auth.current_agent()
    if agent is not None:
        # Every session and stream of the account ends, not only this browser's.
        accounts.end_sessions(db.session(), agent.id)
        db.session().commit()
    if agent is not None and agent.role == accounts.AGENT:
        try:
            # Offline now, or once the call holding them is over.
            agent_shift.sign_out(agent.username)
        except RedisError:
            log.warning("could not set %s offline on sign-out", agent.username)
    session.clear()
    return redirect(url_for("desk.signin"))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an absolute or scheme-relative URL (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def _too_many_attempts(username: str) -> bool:
    try:
        return signin_throttle.too_many(store.redis(), username)
    except RedisError:
        return False  # the throttle is a safeguard; passwords are still checked
