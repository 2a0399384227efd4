"""An agent's status (SPEC §6) from the desk and the API, kept in Redis and logged in SQL."""

from __future__ import annotations

from datetime import datetime

from desk_fixtures import page_csrf
from sqlalchemy import select

from domain import agent_states as rules
from domain.agent_states import Status
from live import agent_states, store
from services import agent_shift
from storage import db
from storage.models import AgentStateChange


def state_of(app, username):
    with app.app_context():
        return agent_states.get(store.redis(), username)


def spells(app, username):
    with app.app_context():
        rows = db.session().scalars(
            select(AgentStateChange)
            .where(AgentStateChange.username == username)
            .order_by(AgentStateChange.id)
        )
        return [(r.state, r.reason, r.ended_at is None) for r in rows]


def on_a_call(app, username, clock):
    """``username`` is offered a call and answers it (as the distribution and Twilio do)."""
    with app.app_context():
        agent_shift.change(username, lambda s: rules.offer(s, "CA1", clock.now()))
        agent_shift.answered(username, "CA1")


def test_an_agent_nobody_has_seen_is_offline(app):
    assert state_of(app, "ann").status is Status.OFFLINE


def test_the_status_form_sets_the_status_with_the_time_it_changed(app, desk, clock):
    response = desk.post(
        "/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)}
    )
    assert response.status_code == 302
    state = state_of(app, "ann")
    assert state.status is Status.AVAILABLE
    assert state.since == clock.now()
    assert state.queues == ("medical",)


def test_the_status_selector_posts_json_with_the_csrf_header(app, desk, clock):
    token = page_csrf(desk)
    clock.set(datetime(2026, 3, 10, 11, 0))
    response = desk.post(
        "/agent/status",
        json={"status": "break", "reason": "lunch"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["reason"], body["next"]) == ("break", "lunch", None)
    assert body["since"] == "2026-03-10T11:00:00+08:00"
    assert state_of(app, "ann").status is Status.BREAK


def test_a_status_change_without_the_csrf_token_is_refused(app, desk):
    assert desk.post("/agent/status", data={"status": "available"}).status_code == 400
    assert desk.post("/agent/status", json={"status": "available"}).status_code == 400
    assert state_of(app, "ann").status is Status.OFFLINE


def test_an_unknown_status_is_refused_by_name(desk):
    response = desk.post(
        "/agent/status", json={"status": "lunch"}, headers={"X-CSRF-Token": page_csrf(desk)}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_status"


def test_the_states_calls_set_cannot_be_chosen(app, desk):
    for status in ("offered", "on_call", "wrap_up", "busy"):
        response = desk.post(
            "/agent/status", json={"status": status}, headers={"X-CSRF-Token": page_csrf(desk)}
        )
        assert response.status_code == 422, status
    assert state_of(app, "ann").status is Status.OFFLINE


def test_setting_the_same_status_again_keeps_the_time_it_started(app, desk, clock):
    token = page_csrf(desk)
    desk.post("/agent/status", json={"status": "available"}, headers={"X-CSRF-Token": token})
    first = state_of(app, "ann").since
    clock.set(datetime(2026, 3, 10, 12, 0))
    desk.post("/agent/status", json={"status": "available"}, headers={"X-CSRF-Token": token})
    assert state_of(app, "ann").since == first
    assert spells(app, "ann") == [("available", None, True)]


def test_the_desk_lists_every_state_in_chinese_and_only_agents_choices_are_enabled(app, desk):
    desk.post("/agent/status", data={"status": "break", "csrf_token": page_csrf(desk)})
    html = desk.get("/agent/").get_data(as_text=True)
    assert 'data-testid="status-select"' in html
    assert '<option value="break" selected>小休 Break</option>' in html
    for value, label in (("offered", "振铃"), ("on_call", "通话中"), ("wrap_up", "话后处理")):
        assert f'<option value="{value}" disabled>{label}' in html
    for value, label in (("available", "空闲"), ("offline", "离线")):
        assert f'<option value="{value}">{label}' in html


def test_the_desk_shows_its_agent_on_a_call_and_what_they_asked_for_next(app, desk, clock):
    desk.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)})
    on_a_call(app, "ann", clock)
    response = desk.post("/agent/status", data={"status": "break", "csrf_token": page_csrf(desk)})
    assert response.status_code == 302
    html = desk.get("/agent/").get_data(as_text=True)
    assert '<option value="on_call" selected disabled>通话中' in html
    assert 'data-next="break">之后 then: 小休 Break' in html
    assert "通话及话后处理结束后将切换为「小休 Break」" in html


def test_each_change_is_logged_in_sql_closing_the_spell_before(app, desk, clock):
    token = page_csrf(desk)
    desk.post("/agent/status", json={"status": "available"}, headers={"X-CSRF-Token": token})
    clock.set(datetime(2026, 3, 10, 11, 0))
    desk.post("/agent/status", json={"status": "break"}, headers={"X-CSRF-Token": token})
    assert spells(app, "ann") == [("available", None, False), ("break", None, True)]
    with app.app_context():
        first = db.session().scalars(select(AgentStateChange).order_by(AgentStateChange.id)).first()
    assert first.ended_at.replace(tzinfo=None) == datetime(2026, 3, 10, 3, 0)  # 11:00 +08:00


# -- the JSON API -----------------------------------------------------------------------------


def test_an_agent_reads_their_own_state(app, client, make_agent, auth_for):
    make_agent("ann", queues=("medical", "policy"))
    body = client.get("/api/agents/me", headers=auth_for("ann")).get_json()
    assert body == {
        "username": "ann",
        "status": "offline",
        "since": None,
        "next": None,
        "reason": None,
        "queues": [],
        "call_sid": None,
        "seconds": None,
    }
    client.post("/api/agents/me/status", json={"status": "available"}, headers=auth_for("ann"))
    body = client.get("/api/agents/me", headers=auth_for("ann")).get_json()
    assert (body["status"], body["queues"], body["seconds"]) == (
        "available",
        ["medical", "policy"],
        0,
    )


def test_a_change_asked_for_during_a_call_is_kept_for_after_it_with_202(
    app, client, make_agent, auth_for, clock
):
    make_agent("ann")
    client.post("/api/agents/me/status", json={"status": "available"}, headers=auth_for("ann"))
    on_a_call(app, "ann", clock)
    response = client.post(
        "/api/agents/me/status", json={"status": "offline"}, headers=auth_for("ann")
    )
    assert response.status_code == 202
    body = response.get_json()
    assert (body["status"], body["next"], body["call_sid"]) == ("on_call", "offline", "CA1")
    assert state_of(app, "ann").status is Status.ON_CALL


def test_the_api_refuses_a_state_calls_set_and_a_body_that_is_not_json(
    client, make_agent, auth_for
):
    make_agent("ann")
    response = client.post(
        "/api/agents/me/status", json={"status": "on_call"}, headers=auth_for("ann")
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "not_choosable")
    response = client.post("/api/agents/me/status", data="x", headers=auth_for("ann"))
    assert response.status_code == 400


def test_a_cookie_session_must_send_the_csrf_header_to_the_api(desk):
    response = desk.post("/api/agents/me/status", json={"status": "available"})
    assert response.status_code == 403
    response = desk.post(
        "/api/agents/me/status",
        json={"status": "available"},
        headers={"X-CSRF-Token": page_csrf(desk)},
    )
    assert response.status_code == 200


def test_supervisors_have_no_status_of_their_own(client, make_agent, auth_for):
    make_agent("boss", role="supervisor")
    response = client.post(
        "/api/agents/me/status", json={"status": "available"}, headers=auth_for("boss")
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "not_an_agent")
    assert client.get("/api/agents/me", headers=auth_for("boss")).status_code == 403


def test_wrap_up_ends_early_or_is_extended_once(app, client, make_agent, auth_for, clock):
    make_agent("ann")
    client.post("/api/agents/me/status", json={"status": "available"}, headers=auth_for("ann"))
    on_a_call(app, "ann", clock)
    with app.app_context():
        agent_shift.hung_up("ann", "CA1")
    wrap = "/api/agents/me/wrap_up"
    extended = client.post(wrap, json={"action": "extend"}, headers=auth_for("ann"))
    assert extended.status_code == 200
    body = extended.get_json()
    assert (body["status"], body["wrap_up_until"]) == ("wrap_up", "2026-03-10T10:31:00+08:00")
    again = client.post(wrap, json={"action": "extend"}, headers=auth_for("ann"))
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_extended")
    ended = client.post(wrap, json={"action": "end"}, headers=auth_for("ann"))
    assert (ended.status_code, ended.get_json()["status"]) == (200, "available")
    late = client.post(wrap, json={"action": "end"}, headers=auth_for("ann"))
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "not_wrapping_up")
    bad = client.post(wrap, json={"action": "later"}, headers=auth_for("ann"))
    assert bad.status_code == 422


# -- supervisors ----------------------------------------------------------------------------


def test_agents_by_state_are_for_supervisors_only_and_list_no_supervisor(
    app, client, make_agent, desk, clock
):
    desk.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)})
    agent_token = make_agent("bob")
    boss = make_agent("boss", role="supervisor")
    assert (
        client.get("/api/agents", headers={"Authorization": f"Bearer {agent_token}"}).status_code
        == 403
    )
    response = client.get("/api/agents", headers={"Authorization": f"Bearer {boss}"})
    assert response.status_code == 200
    body = response.get_json()
    by_name = {a["username"]: a for a in body["agents"]}
    assert set(by_name) == {"ann", "bob"}
    assert by_name["ann"]["status"] == "available"
    assert by_name["bob"]["status"] == "offline"
    assert by_name["bob"]["queues"] == ["medical"]
    # The supervisor is not an agent: neither listed nor counted (SPEC §6, §7).
    assert "boss" not in by_name
    assert body["counts"] == {
        "offline": 1,
        "available": 1,
        "break": 0,
        "offered": 0,
        "on_call": 0,
        "wrap_up": 0,
    }
    only = client.get("/api/agents?status=available", headers={"Authorization": f"Bearer {boss}"})
    assert [a["username"] for a in only.get_json()["agents"]] == ["ann"]


def test_the_board_shows_an_agent_on_a_call_as_on_a_call(app, client, make_agent, desk, clock):
    desk.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)})
    on_a_call(app, "ann", clock)
    boss = make_agent("boss", role="supervisor")
    body = client.get("/api/agents", headers={"Authorization": f"Bearer {boss}"}).get_json()
    (ann,) = body["agents"]
    assert (ann["status"], ann["call_sid"], body["counts"]["on_call"]) == ("on_call", "CA1", 1)
