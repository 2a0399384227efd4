"""Agent status (available / busy / wrap-up / offline) set from the desk, kept in Redis."""

from __future__ import annotations

from datetime import datetime

from desk_fixtures import page_csrf

from live import presence, store


def status_of(app, username):
    with app.app_context():
        return presence.get(store.redis(), username)


def test_an_agent_nobody_has_seen_is_offline(app):
    assert status_of(app, "ann").status is presence.Status.OFFLINE


def test_the_status_form_sets_the_status_with_the_time_it_changed(app, desk, clock):
    response = desk.post(
        "/agent/status", data={"status": "available", "csrf_token": page_csrf(desk)}
    )
    assert response.status_code == 302
    status = status_of(app, "ann")
    assert status.status is presence.Status.AVAILABLE
    assert status.since == clock.now()


def test_the_status_selector_posts_json_with_the_csrf_header(app, desk, clock):
    token = page_csrf(desk)
    clock.set(datetime(2026, 3, 10, 11, 0))
    response = desk.post(
        "/agent/status", json={"status": "wrap_up"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "wrap_up"
    assert response.get_json()["since"] == "2026-03-10T11:00:00+08:00"
    assert status_of(app, "ann").status is presence.Status.WRAP_UP


def test_a_status_change_without_the_csrf_token_is_refused(app, desk):
    assert desk.post("/agent/status", data={"status": "available"}).status_code == 400
    assert desk.post("/agent/status", json={"status": "available"}).status_code == 400
    assert status_of(app, "ann").status is presence.Status.OFFLINE


def test_an_unknown_status_is_refused_by_name(desk):
    response = desk.post(
        "/agent/status", json={"status": "lunch"}, headers={"X-CSRF-Token": page_csrf(desk)}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_status"


def test_setting_the_same_status_again_keeps_the_time_it_started(app, desk, clock):
    token = page_csrf(desk)
    desk.post("/agent/status", json={"status": "busy"}, headers={"X-CSRF-Token": token})
    first = status_of(app, "ann").since
    clock.set(datetime(2026, 3, 10, 12, 0))
    desk.post("/agent/status", json={"status": "busy"}, headers={"X-CSRF-Token": token})
    assert status_of(app, "ann").since == first


def test_the_desk_page_shows_the_status_selector_with_the_current_status(desk):
    desk.post("/agent/status", data={"status": "busy", "csrf_token": page_csrf(desk)})
    html = desk.get("/agent/").get_data(as_text=True)
    assert 'data-testid="status-select"' in html
    assert '<option value="busy" selected>' in html


def test_agents_by_status_are_for_supervisors_only(app, client, make_agent, desk):
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
    assert by_name["ann"]["status"] == "available"
    assert by_name["bob"]["status"] == "offline"
    assert body["counts"]["available"] == 1
    # The supervisor is not an agent: neither listed nor counted (SPEC §6, §7).
    assert body["counts"]["offline"] == 1 and "boss" not in by_name
    only = client.get("/api/agents?status=available", headers={"Authorization": f"Bearer {boss}"})
    assert [a["username"] for a in only.get_json()["agents"]] == ["ann"]
