"""Agents, their passwords and API tokens, and how their sessions end.

A token is shown once and stored only as its SHA-256, so a copy of the
database gives no one a working token.

A desk session carries the account's ``session_generation`` as it was at sign-in;
signing out, a new password, revoking tokens and disabling the account move the
number on (``end_sessions``), which ends every session of the account at its next
request and every open event stream at its next look (``still_valid``). A disabled
account cannot sign in, and its tokens stop working.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services import defaults
from services.exceptions import InvalidAgent, UnknownAgent
from storage.models import Agent, ApiToken
from storage.prepared import Planned

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
    """A new sign-in password; every session signed in with the old one ends."""
    if len(password) < defaults.PASSWORD_MIN_LENGTH:
        raise InvalidAgent(f"password: at least {defaults.PASSWORD_MIN_LENGTH} characters")
    agent.password_hash = generate_password_hash(password)
    _next_generation(agent)


def check_password(agent: Agent, password: str) -> bool:
    return bool(agent.password_hash) and check_password_hash(agent.password_hash, password)


def may_sign_in(agent: Agent) -> bool:
    return agent.disabled_at is None


# -- sessions ---------------------------------------------------------------------------


def _next_generation(agent: Agent) -> None:
    agent.session_generation = (agent.session_generation or 0) + 1


def end_sessions(db_session: Session, agent_id: int) -> None:
    """End every desk session and event stream of the account (in SQL, so no race loses it)."""
    db_session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(session_generation=Agent.session_generation + 1)
        .execution_options(synchronize_session=False)
    )
    db_session.expire_all()


def disable(db_session: Session, agent: Agent, now: datetime) -> bool:
    """A departed agent: no sign-in, no token, every session ended. False if already so."""
    if agent.disabled_at is not None:
        return False
    agent.disabled_at = now
    _next_generation(agent)
    db_session.flush()
    return True


def enable(db_session: Session, agent: Agent) -> bool:
    """Undo ``disable``: the account may sign in and use its live tokens again."""
    if agent.disabled_at is None:
        return False
    agent.disabled_at = None
    db_session.flush()
    return True


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request was signed in with: a session (at a generation) or an API token."""

    agent_id: int
    role: str
    generation: int
    token_hash: str | None = None


def still_valid(db_session: Session, credential: Credential) -> bool:
    """Whether ``credential`` still signs its agent in: the account is enabled, its sessions
    have not been ended since, and a token has not been revoked."""
    row = db_session.execute(
        select(Agent.session_generation, Agent.disabled_at).where(Agent.id == credential.agent_id)
    ).first()
    if row is None or row.disabled_at is not None:
        return False
    if row.session_generation != credential.generation:
        return False
    if credential.token_hash is None:
        return True
    return db_session.scalar(_LIVE_TOKEN, {"token_hash": credential.token_hash}) is not None


def issue_token(db_session: Session, agent: Agent, now: datetime) -> str:
    """A new API token for ``agent``: returned once, stored only as a hash."""
    token = secrets.token_urlsafe(defaults.TOKEN_BYTES)
    db_session.add(ApiToken(agent_id=agent.id, token_hash=hash_token(token), created_at=now))
    db_session.flush()
    return token


# Only what judging a request needs, as plain columns: every API request makes this
# look-up, and an ORM ``Agent`` (loading, identity map) cost a fifth of an eligibility
# request's CPU. Planned once per PostgreSQL connection.
_TOKEN_CREDENTIAL = Planned(
    "hotline_token_credential",
    select(
        Agent.id.label("agent_id"),
        Agent.role.label("role"),
        Agent.session_generation.label("generation"),
    )
    .join(ApiToken, ApiToken.agent_id == Agent.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        Agent.disabled_at.is_(None),
    ),
)
_LIVE_TOKEN = select(ApiToken.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None)
)


def token_credential(db_session: Session, token: str) -> Credential | None:
    """What a live (unrevoked) token of an enabled agent signs in as, read each time."""
    token_hash = hash_token(token)
    row = _TOKEN_CREDENTIAL.execute(db_session.connection(), {"token_hash": token_hash}).first()
    if row is None:
        return None
    return Credential(row.agent_id, row.role, row.generation, token_hash)


def revoke_token(db_session: Session, token: str, now: datetime) -> bool:
    """Revoke one token; the account's sessions and streams end with it."""
    token_hash = hash_token(token)
    agent_id = db_session.scalar(select(ApiToken.agent_id).where(ApiToken.token_hash == token_hash))
    result = db_session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if result.rowcount and agent_id is not None:
        end_sessions(db_session, agent_id)
    return result.rowcount > 0


def revoke_tokens(db_session: Session, agent: Agent, now: datetime) -> int:
    """Revoke every live token of ``agent`` and end their sessions; returns how many tokens."""
    result = db_session.execute(
        update(ApiToken)
        .where(ApiToken.agent_id == agent.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    end_sessions(db_session, agent.id)
    return result.rowcount
