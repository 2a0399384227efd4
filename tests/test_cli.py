"""The operator's `hotline` commands: agents and tokens, serve, the console script."""

from __future__ import annotations

import hashlib
import importlib
import logging
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hotline import gunicorn_app, gunicorn_conf
from hotline.cli import make_cli
from services import accounts
from storage import db
from storage.models import Agent, ApiToken


def eligibility(client, token, insured_id="P1"):
    return client.get(
        f"/api/insureds/{insured_id}/eligibility",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def person(import_feed):
    doc = {"people": [{"id": "P1", "name": "张伟", "phones": ["+8613900000001"]}]}
    assert import_feed(doc).exit_code == 0


def test_agent_add_prints_a_working_token_as_the_last_line(runner, client, person):
    result = runner.invoke(args=["agent", "add", "alice", "--queues", "medical,policy"])
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert eligibility(client, token).status_code == 200


def test_agent_add_generates_a_password_and_prints_it_before_the_token(app, runner):
    result = runner.invoke(args=["agent", "add", "bob", "--role", "supervisor"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    (password_line,) = [line for line in lines if line.startswith("Password (shown once): ")]
    assert lines.index(password_line) < len(lines) - 1
    password = password_line.split(": ", 1)[1]
    with app.app_context():
        agent = accounts.find_agent(db.session(), "bob")
        assert (agent.role, agent.queue_list) == ("supervisor", ["medical", "policy"])
        assert accounts.check_password(agent, password)
        assert not accounts.check_password(agent, "wrong password")


def test_agent_add_with_a_password_does_not_print_one(app, runner):
    result = runner.invoke(args=["agent", "add", "carol", "--password", "correct horse"])
    assert result.exit_code == 0, result.output
    assert "Password" not in result.stdout
    with app.app_context():
        agent = accounts.find_agent(db.session(), "carol")
        assert accounts.check_password(agent, "correct horse")
        assert agent.password_hash != "correct horse"


def test_tokens_are_stored_only_as_their_sha256(app, runner):
    token = runner.invoke(args=["agent", "add", "dave"]).stdout.splitlines()[-1]
    with app.app_context():
        stored = db.session().scalars(select(ApiToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["erin", "--queues", "medical,xyz"], "give one or more of medical, policy"),
        (["erin", "--queues", ""], "give one or more of medical, policy"),
        (["no spaces"], "use 1-64 letters"),
        (["erin", "--password", "short"], "at least 8 characters"),
    ],
)
def test_agent_add_refuses_bad_values_with_a_message(app, runner, args, message):
    result = runner.invoke(args=["agent", "add", *args])
    assert result.exit_code == 1
    assert message in result.stderr
    with app.app_context():
        assert db.session().scalars(select(Agent)).all() == []


def test_agent_add_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["agent", "add", "erin", "--role", "admin"])
    assert result.exit_code == 2
    assert "agent" in result.stderr and "supervisor" in result.stderr


def test_agent_add_refuses_a_username_that_is_taken(runner):
    assert runner.invoke(args=["agent", "add", "frank"]).exit_code == 0
    result = runner.invoke(args=["agent", "add", "frank"])
    assert result.exit_code == 1
    assert 'username "frank" is taken' in result.stderr


def test_agent_token_issues_another_working_token(runner, client, person):
    first = runner.invoke(args=["agent", "add", "gina"]).stdout.splitlines()[-1]
    result = runner.invoke(args=["agent", "token", "gina"])
    assert result.exit_code == 0, result.output
    second = result.stdout.splitlines()[-1]
    assert second != first
    assert eligibility(client, first).status_code == 200
    assert eligibility(client, second).status_code == 200


def test_agent_token_can_revoke_the_others(runner, client, person):
    first = runner.invoke(args=["agent", "add", "hank"]).stdout.splitlines()[-1]
    result = runner.invoke(args=["agent", "token", "hank", "--revoke-others"])
    second = result.stdout.splitlines()[-1]
    assert "Revoked 1 earlier token(s)" in result.stdout
    assert eligibility(client, first).status_code == 401
    assert eligibility(client, second).status_code == 200


def test_agent_revoke_stops_every_token(runner, client, person):
    token = runner.invoke(args=["agent", "add", "ivan"]).stdout.splitlines()[-1]
    result = runner.invoke(args=["agent", "revoke", "ivan"])
    assert "Revoked 1 token(s) of ivan." in result.stdout
    assert eligibility(client, token).status_code == 401


def test_agent_commands_name_an_unknown_agent(runner):
    for command in ("token", "revoke", "password"):
        result = runner.invoke(args=["agent", command, "nobody"])
        assert result.exit_code == 1
        assert 'no agent "nobody"' in result.stderr


def test_agent_password_sets_a_new_password(app, runner):
    runner.invoke(args=["agent", "add", "jane", "--password", "first password"])
    result = runner.invoke(args=["agent", "password", "jane", "--password", "second password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        agent = accounts.find_agent(db.session(), "jane")
        assert accounts.check_password(agent, "second password")
        assert not accounts.check_password(agent, "first password")


def test_agent_list_shows_roles_queues_and_live_tokens(runner):
    runner.invoke(args=["agent", "add", "kate", "--queues", "policy"])
    runner.invoke(args=["agent", "add", "liam", "--role", "supervisor"])
    runner.invoke(args=["agent", "revoke", "liam"])
    lines = runner.invoke(args=["agent", "list"]).stdout.splitlines()
    assert lines[0].split() == ["kate", "agent", "policy", "1", "token(s)"]
    assert lines[1].split() == ["liam", "supervisor", "medical,policy", "0", "token(s)"]


def test_the_console_script_runs_commands_against_the_configured_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(make_cli(), ["agent", "add", "mia"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(make_cli(), ["agent", "list"])
    assert listed.stdout.startswith("mia ")
    help_text = runner.invoke(make_cli(), ["--help"]).stdout
    for command in ("import", "agent", "serve", "db"):
        assert f"  {command} " in help_text


# -- serve ---------------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch, app, tmp_path):
    """Runs `serve` up to starting gunicorn, and records what it would start."""
    started = {}
    # `serve --demo` keeps a signing token in the instance folder: not the real one.
    monkeypatch.setattr(app, "instance_path", str(tmp_path))

    def run(self):
        started["options"] = self.options
        started["factory"] = self.factory

    monkeypatch.setattr(gunicorn_app.Server, "run", run)
    monkeypatch.setattr(gunicorn_conf, "SHARED_STORE", False)  # as with REDIS_URL unset
    return started


def test_serve_starts_gunicorn_with_one_worker_without_redis(runner, served):
    result = runner.invoke(args=["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    options = served["options"]
    assert options["bind"] == "0.0.0.0:8123"
    # gevent: hundreds of open event streams per worker (benchmarks/README.md).
    assert options["worker_class"] == "gevent"
    assert options["worker_connections"] >= 500
    assert options["workers"] == 1
    assert options["post_fork"] is gunicorn_conf.post_fork
    assert options["post_request"] is gunicorn_conf.post_request
    assert "Serving on http://127.0.0.1:8123" in result.stdout


def test_serve_runs_with_every_setting_the_procfiles_config_gives_gunicorn(runner, served):
    result = runner.invoke(args=["serve"])
    assert result.exit_code == 0, result.output
    options = served["options"]
    # What ``gunicorn --config python:hotline.gunicorn_conf`` would read, nothing left out.
    assert options["pre_request"] is gunicorn_conf.pre_request
    assert options["access_log_format"] == gunicorn_conf.access_log_format
    assert options["post_worker_init"] is gunicorn_conf.post_worker_init
    assert "SHARED_STORE" not in options and "log" not in options


def test_serve_says_why_it_ignores_extra_workers_without_redis(runner, served):
    result = runner.invoke(args=["serve", "--workers", "4"])
    assert result.exit_code == 0, result.output
    assert served["options"]["workers"] == 1
    assert "REDIS_URL is unset: one worker process" in result.stdout


def test_serve_starts_while_the_database_is_down_and_says_so(monkeypatch, clock, tmp_path):
    from hotline import create_app

    app = create_app(
        {"TESTING": True, "CLOCK": clock, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    )
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    monkeypatch.setattr(gunicorn_app.Server, "run", lambda self: None)
    result = app.test_cli_runner().invoke(args=["serve", "--port", "8124"])
    assert result.exit_code == 0, result.output
    assert "cannot use the database at postgresql" in result.stderr
    assert "serving without it for now" in result.stderr
    assert "Serving on http://127.0.0.1:8124" in result.stdout


def test_the_procfiles_server_starts_when_the_database_is_down(monkeypatch, caplog):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x")
    master = SimpleNamespace(log=logging.getLogger("gunicorn.error"))  # gunicorn's Arbiter
    gunicorn_conf.on_starting(master)  # before: exit status 1, and no server at all
    assert "serving without it" in caplog.text


def test_serve_demo_loads_the_demo_and_prints_working_accounts(runner, client, served):
    result = runner.invoke(args=["serve", "--demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "demo-agent" in out and "demo-supervisor" in out
    tokens = [line.split()[-1] for line in out.splitlines() if "token:" in line]
    passwords = [line.split()[-1] for line in out.splitlines() if "password:" in line]
    assert len(tokens) == len(passwords) == 2
    (curl,) = [line.strip() for line in out.splitlines() if line.strip().startswith("curl ")]
    assert f"Authorization: Bearer {tokens[0]}" in curl
    assert "http://127.0.0.1:8000/api/insureds/D03/eligibility" in curl
    response = eligibility(client, tokens[0], "D03")
    assert response.status_code == 200
    assert response.get_json()["tier"] == "haohua"


def test_serve_demo_twice_keeps_the_data_and_replaces_the_demo_tokens(runner, client, served):
    first = runner.invoke(args=["serve", "--demo"]).stdout
    old = next(line.split()[-1] for line in first.splitlines() if "token:" in line)
    second = runner.invoke(args=["serve", "--demo"]).stdout
    new = next(line.split()[-1] for line in second.splitlines() if "token:" in line)
    assert "people:   11 in feed: 0 new, 0 updated, 11 unchanged" in second
    assert eligibility(client, old, "D03").status_code == 401
    assert eligibility(client, new, "D03").status_code == 200


def test_gunicorn_settings_follow_redis_url(monkeypatch):
    try:
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.setenv("WEB_CONCURRENCY", "4")
        importlib.reload(gunicorn_conf)
        assert gunicorn_conf.workers == 1
        assert gunicorn_app.settings(workers=3)["workers"] == 1
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
        importlib.reload(gunicorn_conf)
        assert gunicorn_conf.workers == 4
        assert gunicorn_app.settings(workers=3)["workers"] == 3
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)


def test_gevent_workers_let_psycopg2_yield_while_it_waits(monkeypatch):
    import psycopg2.extensions

    monkeypatch.setattr(gunicorn_conf, "worker_class", "gevent")
    before = psycopg2.extensions.get_wait_callback()
    try:
        gunicorn_conf.post_fork(None, None)
        assert psycopg2.extensions.get_wait_callback() is not None
    finally:
        psycopg2.extensions.set_wait_callback(before)


def test_gthread_can_still_be_chosen(monkeypatch):
    try:
        monkeypatch.setenv("HOTLINE_WORKER_CLASS", "gthread")
        importlib.reload(gunicorn_conf)
        assert gunicorn_app.settings()["worker_class"] == "gthread"
        assert gunicorn_app.settings()["threads"] >= 200
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_conf)


def test_a_gevent_worker_lets_other_connections_run_between_two_requests_of_one():
    gevent = pytest.importorskip("gevent")
    turns = []
    gevent.spawn(turns.append, "another connection")
    gunicorn_conf.post_request(worker=None, req=None, environ={}, resp=None)
    assert turns == ["another connection"]
