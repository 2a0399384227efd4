"""Agents, their passwords and API tokens.

A token is shown once and stored only as its SHA-256, so a copy of the
database gives no one a working token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services import defaults
from services.exceptions import InvalidAgent, UnknownAgent
from storage.models import Agent, ApiToken

AGENT = "agent"
SUPERVISOR = "supervisor"
ROLES = (AGENT, SUPERVISOR)
# Twilio Client identities (``client:USERNAME``) allow these characters.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


def add_agent(
    db_session: Session,
    username: str,
    role: str,
    queues: Iterable[str],
    allowed_queues: Iterable[str],
    password: str | None = None,
) -> Agent:
    """A new agent account; raises ``InvalidAgent`` saying what is wrong."""
    if not USERNAME.fullmatch(username or ""):
        raise InvalidAgent(
            f'username "{username}": use 1-64 letters, digits, "_", "." or "-", '
            "starting with a letter or digit"
        )
    if role not in ROLES:
        raise InvalidAgent(f'role "{role}": must be one of {", ".join(ROLES)}')
    queues = [q.strip() for q in queues if q.strip()]
    allowed = list(allowed_queues)
    unknown = [q for q in queues if q not in allowed]
    if unknown or not queues:
        raise InvalidAgent(
            f"queues {','.join(queues) or '(none)'}: give one or more of {', '.join(allowed)}"
        )
    if db_session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise InvalidAgent(f'username "{username}" is taken')
    agent = Agent(username=username, role=role, queues=",".join(dict.fromkeys(queues)))
    if password is not None:
        set_password(agent, password)
    db_session.add(agent)
    db_session.flush()
    return agent


def find_agent(db_session: Session, username: str) -> Agent:
    agent = db_session.scalar(select(Agent).where(Agent.username == username))
    if agent is None:
        raise UnknownAgent(username)
    return agent


def set_password(agent: Agent, password: str) -> None:
    if len(password) < defaults.PASSWORD_MIN_LENGTH:
        raise InvalidAgent(f"password: at least {defaults.PASSWORD_MIN_LENGTH} characters")
    agent.password_hash = generate_password_hash(password)


def check_password(agent: Agent, password: str) -> bool:
    return bool(agent.password_hash) and check_password_hash(agent.password_hash, password)


def issue_token(db_session: Session, agent: Agent, now: datetime) -> str:
    """A new API token for ``agent``: returned once, stored only as a hash."""
    token = secrets.token_urlsafe(defaults.TOKEN_BYTES)
    db_session.add(ApiToken(agent_id=agent.id, token_hash=hash_token(token), created_at=now))
    db_session.flush()
    return token


_AGENT_FOR_TOKEN = (
    select(Agent)
    .join(ApiToken, ApiToken.agent_id == Agent.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def agent_for_token(db_session: Session, token: str) -> Agent | None:
    """The agent whose live (unrevoked) token this is, read from the database each time."""
    return db_session.scalar(_AGENT_FOR_TOKEN, {"token_hash": hash_token(token)})


def revoke_token(db_session: Session, token: str, now: datetime) -> bool:
    result = db_session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0


def revoke_tokens(db_session: Session, agent: Agent, now: datetime) -> int:
    """Revoke every live token of ``agent``; returns how many there were."""
    result = db_session.execute(
        update(ApiToken)
        .where(ApiToken.agent_id == agent.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount
