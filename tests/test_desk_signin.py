"""Signing in to the agent desk: password, session cookie, CSRF, sign-out."""

from __future__ import annotations

from desk_fixtures import PASSWORD, csrf_from, page_csrf, sign_in

from domain.agent_states import Status
from live import agent_states, store


def test_the_sign_in_form_is_a_visible_page_with_stable_ids(client):
    page = client.get("/agent/signin")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for testid in ("signin-form", "signin-username", "signin-password", "signin-submit"):
        assert f'data-testid="{testid}"' in html


def test_the_desk_sends_a_visitor_who_is_not_signed_in_to_the_sign_in_form(client):
    response = client.get("/agent/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/agent/signin?next=/agent/")


def test_an_agent_signs_in_with_username_and_password_and_sees_the_desk(client, make_agent):
    make_agent("ann")
    response = sign_in(client, "ann")
    assert response.status_code == 302
    assert response.headers["Location"] == "/agent/"
    desk = client.get("/agent/")
    assert desk.status_code == 200
    assert 'data-testid="agent-name">ann<' in desk.get_data(as_text=True)


def test_the_session_cookie_is_http_only_and_same_site_lax(client, make_agent):
    make_agent("ann")
    response = sign_in(client, "ann")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, make_agent):
    make_agent("ann")
    wrong = sign_in(client, "ann", "not the password")
    unknown = sign_in(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert 'data-testid="signin-error"' in response.get_data(as_text=True)
        assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/agent/").status_code == 302


def test_signing_in_without_the_forms_csrf_token_is_refused(client, make_agent):
    make_agent("ann")
    response = client.post("/agent/signin", data={"username": "ann", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/agent/").status_code == 302


def test_a_token_from_before_signing_in_is_useless_after(client, make_agent):
    make_agent("ann")
    before = csrf_from(client.get("/agent/signin").get_data(as_text=True))
    sign_in(client, "ann")
    response = client.post("/agent/status", data={"status": "available", "csrf_token": before})
    assert response.status_code == 400


def test_after_sign_in_the_agent_returns_to_the_page_they_asked_for(client, make_agent):
    make_agent("ann")
    page = client.get("/agent/signin?next=/agent/cases/7")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/agent/signin",
        data={
            "username": "ann",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/agent/cases/7",
        },
    )
    assert response.headers["Location"] == "/agent/cases/7"


def test_sign_in_never_redirects_to_another_site(client, make_agent):
    make_agent("ann")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = csrf_from(client.get("/agent/signin").get_data(as_text=True))
        response = client.post(
            "/agent/signin",
            data={"username": "ann", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.headers["Location"] == "/agent/"
        client.post("/agent/signout", data={"csrf_token": page_csrf(client)})


def test_signing_out_needs_the_csrf_token_then_ends_the_session(app, client, make_agent):
    make_agent("ann")
    sign_in(client, "ann")
    client.post("/agent/status", data={"status": "available", "csrf_token": page_csrf(client)})
    assert client.post("/agent/signout").status_code == 400
    assert client.get("/agent/").status_code == 200
    response = client.post("/agent/signout", data={"csrf_token": page_csrf(client)})
    assert response.headers["Location"] == "/agent/signin"
    assert client.get("/agent/").status_code == 302
    with app.app_context():
        state = agent_states.get(store.redis(), "ann")
    assert (state.status, state.reason) == (Status.OFFLINE, "signed_out")


def test_repeated_failed_sign_ins_are_locked_out_for_a_while(client, make_agent):
    make_agent("ann")
    for _ in range(10):
        assert sign_in(client, "ann", "guess").status_code == 401
    assert sign_in(client, "ann", PASSWORD).status_code == 429
