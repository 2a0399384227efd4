"""Bounds on every input of the agent side: a clear 400, 404 or 413, never a 500."""

from __future__ import annotations

import json

import pytest
from desk_fixtures import page_csrf

HUGE = "99999999999999999999"


@pytest.fixture
def headers(people, make_agent, auth_for):
    make_agent("ann")
    return auth_for("ann")


def open_case(client, headers, **fields):
    body = {"insured_id": "P1", "service": "escort", "critical_illness_confirmed": True, **fields}
    return client.post("/api/cases", json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/cases/{HUGE}"),
        ("post", f"/api/cases/{HUGE}/steps"),
        ("get", "/api/cases/2147483648"),
        ("get", "/api/cases/-1"),
    ],
)
def test_a_case_id_no_row_can_have_is_a_json_404(client, headers, method, path):
    response = getattr(client, method)(path, headers=headers, json={"milestone": "contacted"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_largest_row_id_is_still_looked_up(client, headers):
    response = client.get("/api/cases/2147483647", headers=headers)
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "unknown_case")


def test_a_huge_case_id_on_the_desk_is_a_404_page(desk):
    response = desk.get(f"/agent/cases/{HUGE}")
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)
    posted = desk.post(f"/agent/cases/{HUGE}/steps", data={"csrf_token": page_csrf(desk)})
    assert posted.status_code == 404


def test_an_insured_id_longer_than_any_is_a_404_or_a_400(client, headers):
    long = "P" * 5000
    assert client.get(f"/api/insureds/{long}/eligibility", headers=headers).status_code == 404
    listed = client.get("/api/cases", query_string={"insured_id": long}, headers=headers)
    assert listed.status_code == 400


def test_notes_longer_than_the_limit_are_a_400_and_nothing_is_stored(app, client, headers):
    limit = app.config["CASE_NOTE_MAX_LENGTH"]
    refused = open_case(client, headers, notes="备" * (limit + 1))
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "invalid_notes"
    assert client.get("/api/cases?mine=1", headers=headers).get_json()["cases"] == []
    assert open_case(client, headers, notes="备" * limit).status_code == 201


def test_a_step_note_longer_than_the_limit_is_a_400(app, client, headers):
    case = open_case(client, headers).get_json()
    note = "x" * (app.config["CASE_NOTE_MAX_LENGTH"] + 1)
    response = client.post(
        f"/api/cases/{case['id']}/steps",
        json={"milestone": "contacted", "note": note},
        headers=headers,
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_note")


def test_a_20_mb_body_is_refused_before_it_is_read(client, headers):
    body = json.dumps({"insured_id": "P1", "service": "escort", "notes": "x" * 20_000_000})
    response = client.post(
        "/api/cases", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_a_20_mb_form_on_the_desk_is_a_413_page(desk):
    response = desk.post(
        "/agent/cases",
        data={
            "csrf_token": "x",
            "insured_id": "P1",
            "service": "escort",
            "notes": "x" * 20_000_000,
        },
    )
    assert response.status_code == 413


def test_json_nested_deeper_than_the_parser_can_go_is_a_400(client, headers):
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/cases", data=deep, content_type="application/json", headers=headers
    )
    assert response.status_code == 400


def test_json_nested_beyond_the_limit_is_a_400(client, headers):
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    response = open_case(client, headers, extra=nested)
    assert response.status_code == 400


def test_a_status_change_with_deep_json_is_a_400(desk):
    deep = "[" * 100_000 + "]" * 100_000
    response = desk.post(
        "/agent/status",
        data=deep,
        content_type="application/json",
        headers={"X-CSRF-Token": page_csrf(desk), "Accept": "application/json"},
    )
    assert response.status_code == 400


def test_the_desks_form_limits_the_notes_it_lets_an_agent_type(app, desk):
    html = desk.get("/agent/").get_data(as_text=True)
    assert f'maxlength="{app.config["CASE_NOTE_MAX_LENGTH"]}"' in html


def test_an_overlong_note_on_the_desks_form_is_a_message_not_a_500(app, desk):
    too_long = "x" * (app.config["CASE_NOTE_MAX_LENGTH"] + 1)
    response = desk.post(
        "/agent/cases",
        data={
            "csrf_token": page_csrf(desk),
            "insured_id": "P1",
            "service": "escort",
            "critical_illness_confirmed": "1",
            "notes": too_long,
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "未能受理" in response.get_data(as_text=True)
