"""The agent-state log in SQL: each change opens a spell and closes the one before, in any order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.agent_states import AgentState, Status
from services import agent_log
from storage import db
from storage.models import AgentStateChange

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CHANGES = [
    AgentState(status=Status.AVAILABLE, since=START),
    AgentState(status=Status.OFFERED, since=START + timedelta(seconds=5), call_sid="CA1"),
    AgentState(status=Status.BREAK, since=START + timedelta(seconds=20), reason="missed"),
    AgentState(status=Status.AVAILABLE, since=START + timedelta(minutes=5)),
]


def logged(app, username: str) -> list[tuple]:
    with app.app_context():
        rows = db.session().scalars(
            select(AgentStateChange)
            .where(AgentStateChange.username == username)
            .order_by(AgentStateChange.started_at)
        )
        return [
            (
                row.state,
                row.reason,
                row.call_sid,
                row.started_at.replace(tzinfo=None),
                row.ended_at.replace(tzinfo=None) if row.ended_at else None,
                row.counted,
            )
            for row in rows
        ]


def log(app, username: str, changes) -> None:
    with app.app_context():
        session = db.session()
        for state in changes:
            agent_log.opened(session, username, state)
            session.commit()


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_each_spell_ends_where_the_next_begins_and_the_last_goes_on(app):
    log(app, "ann", CHANGES)
    assert logged(app, "ann") == [
        ("available", None, None, naive(CHANGES[0].since), naive(CHANGES[1].since), False),
        ("offered", None, "CA1", naive(CHANGES[1].since), naive(CHANGES[2].since), False),
        ("break", "missed", None, naive(CHANGES[2].since), naive(CHANGES[3].since), False),
        ("available", None, None, naive(CHANGES[3].since), None, False),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(CHANGES))))[1::5])
def test_the_log_comes_out_the_same_whichever_change_lands_first(app, order):
    log(app, "ann", CHANGES)
    log(app, "bob", [CHANGES[i] for i in order])
    assert logged(app, "bob") == logged(app, "ann")


def test_one_agents_changes_leave_anothers_spells_alone(app):
    log(app, "ann", CHANGES[:1])
    log(app, "bob", CHANGES[1:])
    assert logged(app, "ann") == [
        ("available", None, None, naive(CHANGES[0].since), None, False),
    ]


def test_a_spell_logged_here_reads_back_as_one_the_orm_wrote(app):
    """The times are stored in the form SQLAlchemy writes (SQLite keeps them as text)."""
    with app.app_context():
        session = db.session()
        session.add(
            AgentStateChange(username="ann", state="available", started_at=CHANGES[0].since)
        )
        session.commit()
    log(app, "ann", CHANGES[1:2])
    assert [row[3:5] for row in logged(app, "ann")] == [
        (naive(CHANGES[0].since), naive(CHANGES[1].since)),
        (naive(CHANGES[1].since), None),
    ]
