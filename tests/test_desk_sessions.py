"""Sessions end when they should: sign-out, a new password, revoked tokens, a disabled account.

Every session and open event stream of the account ends, not only the one in front
of whoever asked; a disabled account cannot sign in or use its tokens.
"""

from __future__ import annotations

import pytest
from desk_fixtures import PASSWORD, EventReader, page_csrf, sign_in

from services import accounts
from storage import db

ELIGIBILITY = "/api/insureds/P1/eligibility"


@pytest.fixture
def quick(app):
    """Streams that look at their sign-in often, so a test need not wait seconds."""
    app.config.update(
        ACCOUNT_CHECK_SECONDS=0.1, SSE_HEARTBEAT_SECONDS=0.2, SSE_BLOCK_MS=50, SSE_MAX_SECONDS=20
    )
    return app


@pytest.fixture
def ann(people, make_agent, client_for):
    make_agent("ann")
    return client_for("ann")


def signed_in(client) -> bool:
    return client.get("/agent/").status_code == 200


def sign_out(client) -> None:
    response = client.post("/agent/signout", data={"csrf_token": page_csrf(client)})
    assert response.status_code == 302


def cli(runner, *args):
    result = runner.invoke(args=["agent", *args])
    assert result.exit_code == 0, result.output
    return result.output


def open_stream(client, path="/agent/events", headers=None) -> EventReader:
    response = client.get(path, headers=headers or {}, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    return EventReader(response)


def test_signing_out_ends_every_session_of_the_account(ann, client_for):
    other = client_for("ann")
    assert signed_in(ann) and signed_in(other)
    sign_out(ann)
    assert not signed_in(ann)
    assert not signed_in(other)
    # A fresh sign-in works as ever.
    assert sign_in(other, "ann").status_code == 302 and signed_in(other)


def test_another_agent_signing_out_ends_nothing_of_yours(ann, make_agent, client_for):
    make_agent("bob")
    bob = client_for("bob")
    sign_out(bob)
    assert signed_in(ann)


def test_a_new_password_ends_every_session(ann, runner):
    cli(runner, "password", "ann", "--password", "a brand new password")
    assert not signed_in(ann)
    assert sign_in(ann, "ann", "a brand new password").status_code == 302
    assert signed_in(ann)


def test_revoking_the_accounts_tokens_ends_its_sessions_too(ann, runner, auth_for):
    headers = auth_for("ann")
    cli(runner, "revoke", "ann")
    assert not signed_in(ann)
    assert ann.get(ELIGIBILITY, headers=headers).status_code == 401


def test_a_disabled_agent_is_locked_out_at_once(ann, runner, client, auth_for):
    headers = auth_for("ann")
    assert "Disabled ann" in cli(runner, "disable", "ann")
    assert not signed_in(ann)
    # Neither the token nor the right password gets in.
    assert client.get(ELIGIBILITY, headers=headers).status_code == 401
    refused = sign_in(client, "ann")
    assert refused.status_code == 401
    assert "用户名或密码错误" in refused.get_data(as_text=True)
    assert "disabled" in cli(runner, "list")


def test_enabling_lets_the_agent_back_with_their_password_and_live_tokens(
    ann, runner, client, auth_for
):
    headers = auth_for("ann")
    cli(runner, "disable", "ann")
    assert "Enabled ann" in cli(runner, "enable", "ann")
    assert client.get(ELIGIBILITY, headers=headers).status_code == 200
    assert sign_in(client, "ann").status_code == 302


def test_disabling_or_enabling_twice_says_so(ann, runner):
    cli(runner, "disable", "ann")
    assert "already disabled" in cli(runner, "disable", "ann")
    cli(runner, "enable", "ann")
    assert "was not disabled" in cli(runner, "enable", "ann")


def test_disabling_sets_the_agent_offline(app, ann, runner):
    from domain import agent_states as rules
    from live import agent_states, store
    from runtime import current_clock

    with app.app_context():
        now = current_clock().now()
        agent_states.change(store.redis(), "ann", lambda s: rules.choose(s, "available", now))
    cli(runner, "disable", "ann")
    with app.app_context():
        assert agent_states.get(store.redis(), "ann").status == rules.Status.OFFLINE


def test_an_open_event_stream_ends_when_the_account_signs_out_elsewhere(quick, ann, client_for):
    stream = open_stream(ann)
    stream.next_named("status")
    sign_out(client_for("ann"))
    ended = stream.next_named("signed_out")
    assert ended.json()["reason"] == "signed_out"
    with pytest.raises(StopIteration):
        stream.next()


def test_a_stream_opened_with_a_token_ends_when_the_token_is_revoked(
    app, quick, ann, client, auth_for, agent_tokens, clock
):
    stream = open_stream(client, headers=auth_for("ann"))
    stream.next_named("status")
    with app.app_context():
        assert accounts.revoke_token(db.session(), agent_tokens["ann"], clock.now())
        db.session().commit()
    stream.next_named("signed_out")


def test_the_supervisors_stream_ends_when_the_account_is_disabled(
    quick, people, make_agent, client_for, runner
):
    quick.config["SUPERVISOR_REFRESH_SECONDS"] = 0.05
    make_agent("boss", role="supervisor")
    boss = client_for("boss")
    stream = open_stream(boss, "/supervisor/events")
    stream.next_named("snapshot")
    cli(runner, "disable", "boss")
    stream.next_named("signed_out")


def test_a_stream_keeps_going_while_the_sign_in_holds(quick, ann):
    stream = open_stream(ann)
    stream.next_named("status")
    # Several looks at the account later, still streaming heartbeats.
    for _ in range(3):
        assert stream.until_heartbeat() is not None


def test_a_session_cookie_from_before_the_password_change_is_refused_by_the_api(ann, runner):
    assert ann.get(ELIGIBILITY).status_code == 200
    cli(runner, "password", "ann", "--password", PASSWORD + " new")
    assert ann.get(ELIGIBILITY).status_code == 401


def test_a_request_without_the_session_cookie_builds_no_cookie_signer(app, ann, monkeypatch):
    built = []
    interface = app.session_interface
    original = interface.get_signing_serializer

    def counting(flask_app):
        built.append(True)
        return original(flask_app)

    monkeypatch.setattr(interface, "get_signing_serializer", counting)
    assert app.test_client().get("/api/cases").status_code == 401
    assert built == []
    # A signed-in desk reads its cookie (and is still signed in) as before.
    assert signed_in(ann)
    assert built
