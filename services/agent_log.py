"""The agent-state log in SQL (``agent_state_log``): each spell of each agent in one state.

The live state is in Redis (``live.agent_states``); this is its history, which the
supervisors' reports read (time per state, handle time, missed offers) and which
puts the states back should Redis lose them. A change opens a spell and closes the
one before. Two processes may log an agent's changes out of order (each logs its own
right after making it): a spell is closed at the start of the next one by time, so
the log comes out the same whichever lands first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from domain.agent_states import AgentState, Status
from storage.models import AgentStateChange
from storage.prepared import Prepared


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def opened(session: Session, username: str, state: AgentState) -> None:
    """``username`` entered ``state`` (at ``state.since``): open its spell, close the one before."""
    begun = _utc(state.since)
    connection = session.connection()
    _CLOSE.execute(connection, {"username": username, "begun": begun})
    _OPEN.execute(
        connection,
        {
            "username": username,
            "state": str(state.status),
            "reason": state.reason,
            "begun": begun,
            "call_sid": state.call_sid,
            "counted": False,
        },
    )


# Every change of every agent writes these two (the distribution's offers several a
# second): built and compiled once, as the ORM's flush cost more than running them.
def _close(dialect):
    """The spell going on at ``begun`` (or a later one's end past it) ends at ``begun``."""
    log = AgentStateChange.__table__
    begun = bindparam("begun", type_=log.c.started_at.type)
    return (
        update(log)
        .where(
            log.c.username == bindparam("username", type_=log.c.username.type),
            log.c.started_at <= begun,
            or_(log.c.ended_at.is_(None), log.c.ended_at > begun),
        )
        .values(ended_at=begun)
    )


def _open(dialect):
    """The new spell, ended already if a later one was logged first (out of order)."""
    log = AgentStateChange.__table__
    username = bindparam("username", type_=log.c.username.type)
    begun = bindparam("begun", type_=log.c.started_at.type)
    later = (
        select(func.min(log.c.started_at))
        .where(log.c.username == username, log.c.started_at > begun)
        .scalar_subquery()
    )
    return insert(log).values(
        username=username,
        state=bindparam("state", type_=log.c.state.type),
        reason=bindparam("reason", type_=log.c.reason.type),
        started_at=begun,
        ended_at=later,
        call_sid=bindparam("call_sid", type_=log.c.call_sid.type),
        counted=bindparam("counted", type_=log.c.counted.type),
    )


_CLOSE = Prepared(_close)
_OPEN = Prepared(_open)


def open_spells(session: Session) -> dict[str, AgentState]:
    """Each agent's latest spell still open: their state, should Redis have lost it."""
    log = AgentStateChange.__table__
    latest = (
        select(log.c.username, func.max(log.c.id).label("id"))
        .where(log.c.ended_at.is_(None))
        .group_by(log.c.username)
        .subquery()
    )
    rows = session.execute(select(log).join(latest, and_(log.c.id == latest.c.id))).mappings()
    return {
        row["username"]: AgentState(
            status=Status(row["state"]),
            since=_utc(row["started_at"]),
            reason=row["reason"],
            call_sid=row["call_sid"],
        )
        for row in rows
    }
