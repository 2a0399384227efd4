"""Agents' figures from hand-made state logs and calls: folded once, live today, no supervisors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain import agent_states as rules
from domain.agent_states import AgentState, Status
from live import agent_states, store
from services import agent_history, call_records, reports
from storage import db
from storage.models import AgentInterval, AgentStateChange

TZ = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ)


def spells(app, username: str, *entries) -> None:
    """(state, reason, started, ended) spells of ``username``, as the shift logs them (UTC)."""
    with app.app_context():
        session = db.session()
        for state, reason, started, ended in entries:
            session.add(
                AgentStateChange(
                    username=username,
                    state=state,
                    reason=reason,
                    started_at=started.astimezone(UTC),
                    ended_at=ended.astimezone(UTC) if ended else None,
                )
            )
        session.commit()


def fold(app) -> int:
    with app.app_context():
        folded = agent_history.fold(db.session(), TZ)
        db.session().commit()
        return folded


def figures(app, first: date, last: date | None = None) -> dict[str, dict]:
    with app.app_context():
        rows = reports.agents(db.session(), first, last or first, TZ, local(10, 18))
    return {row["username"]: row for row in rows}


def a_shift(app):
    spells(
        app,
        "ann",
        ("available", None, local(10, 9), local(10, 9, 30)),
        ("offered", None, local(10, 9, 30), local(10, 9, 31)),
        ("break", "missed", local(10, 9, 31), local(10, 9, 40)),
        ("available", None, local(10, 9, 40), local(10, 10)),
        ("on_call", None, local(10, 10), local(10, 10, 20)),
        ("wrap_up", None, local(10, 10, 20), local(10, 10, 22)),
        ("offline", None, local(10, 10, 22), local(10, 12)),
    )


def test_ended_spells_are_folded_into_the_history_once(app):
    a_shift(app)
    assert fold(app) == 7
    assert fold(app) == 0
    with app.app_context():
        rows = db.session().scalars(select(AgentInterval).order_by(AgentInterval.interval_start))
        found = {row.interval_start.replace(tzinfo=None): row for row in rows}
    first, second, third = sorted(found)  # 09:00, 09:30 and 10:00; offline is not counted
    assert found[first].state_available_seconds == 1800
    assert found[third].state_on_call_seconds == 1200
    assert found[second].missed_offers == 1
    assert found[second].state_offered_seconds == 60
    assert found[second].state_break_seconds == 540
    ann = figures(app, date(2026, 3, 10))["ann"]
    assert (ann["missed_offers"], ann["state_on_call_seconds"], ann["state_wrap_up_seconds"]) == (
        1,
        1200,
        120,
    )
    assert ann["occupancy"] == round(1320 / (1800 + 60 + 1200 + 1200 + 120), 4)


def test_spells_not_folded_yet_and_the_one_going_on_count_all_the_same(app):
    a_shift(app)
    folded_first = figures(app, date(2026, 3, 10))
    fold(app)
    assert figures(app, date(2026, 3, 10)) == folded_first
    spells(app, "bob", ("break", "missed", local(10, 17, 0), None))
    bob = figures(app, date(2026, 3, 10))["bob"]  # seen at 18:00
    assert (bob["missed_offers"], bob["state_break_seconds"]) == (1, 3600)
    assert fold(app) == 0  # still going on: not in the history yet


def test_a_spell_across_midnight_is_split_between_the_days(app):
    spells(app, "ann", ("available", None, local(9, 23, 45), local(10, 0, 15)))
    fold(app)
    assert figures(app, date(2026, 3, 9))["ann"]["state_available_seconds"] == 900
    assert figures(app, date(2026, 3, 10))["ann"]["state_available_seconds"] == 900
    assert figures(app, date(2026, 3, 9), date(2026, 3, 10))["ann"]["state_available_seconds"] == (
        1800
    )


def test_handled_calls_talk_and_wrap_up_reach_the_agent_as_the_calls_end(app):
    with app.app_context():
        session = db.session()
        for sid, talk, wrap in (("CA1", 100, 20), ("CA2", 200, None)):
            call_records.note(
                session, sid, local(10, 10), queue="medical", enqueued_at=local(10, 10)
            )
            call_records.answered(session, sid, local(10, 10, 1), "ann", 60)
            call_records.note(session, sid, local(10, 10, 1), talk_seconds=talk)
            if wrap is not None:
                call_records.note(session, sid, local(10, 10, 1), wrap_up_seconds=wrap)
        session.commit()
    ann = figures(app, date(2026, 3, 10))["ann"]
    assert (ann["handled"], ann["talk_seconds"], ann["wrap_up_seconds"]) == (2, 300, 20)
    assert ann["average_handle_time"] == 160


def test_a_supervisors_own_log_is_not_an_agents(app, make_agent):
    make_agent("boss", role="supervisor")
    spells(app, "boss", ("available", None, local(10, 9), local(10, 10)))
    a_shift(app)
    assert set(figures(app, date(2026, 3, 10))) == {"ann"}


# -- live: /api/agents and the board -----------------------------------------------------------


@pytest.fixture
def staff(app, make_agent, auth_for, clock):
    make_agent("ann")
    make_agent("boss", role="supervisor")
    clock.set(datetime(2026, 3, 10, 18, 0))
    return auth_for("boss")


def test_the_agents_api_lists_agents_only_with_todays_figures(app, client, staff):
    a_shift(app)
    with app.app_context():
        agent_states.change(
            store.redis(), "boss", lambda s: rules.choose(s, "available", local(10, 17))
        )
    body = client.get("/api/agents", headers=staff).get_json()
    assert [a["username"] for a in body["agents"]] == ["ann"]
    assert sum(body["counts"].values()) == 1  # the supervisor is not counted
    (ann,) = body["agents"]
    assert (ann["handled_today"], ann["missed_offers_today"]) == (0, 1)
    assert ann["average_handle_time_today"] is None
    assert ann["call_seconds"] is None


def test_an_agent_on_a_call_shows_the_calls_seconds(app, client, staff, monkeypatch):
    on_call = AgentState(Status.ON_CALL, local(10, 17, 58), call_sid="CA1")
    monkeypatch.setattr(agent_states, "get_many", lambda redis, names: {"ann": on_call})
    (ann,) = client.get("/api/agents", headers=staff).get_json()["agents"]
    assert (ann["status"], ann["seconds"], ann["call_seconds"]) == ("on_call", 120, 120)
    assert ann["state_threshold"] == {"warn": 600.0, "alert": 1200.0}
