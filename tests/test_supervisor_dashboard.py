"""The supervisor dashboard: /api/queues, the /supervisor page and its event stream."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
from desk_fixtures import EventReader
from ivr_calls import add_agent, as_zhang_wei, load
from redis import Redis
from redis.client import Pipeline
from sqlalchemy import event

from agent_assist import dashboard
from domain.workdays import LIBRARY_YEARS, WorkingDays, YearSchedule
from live import store
from runtime import current_clock, current_flows
from storage import db

SPEC_KEYS = ["name", "line", "waiting", "longest_wait_seconds"]
FIGURES = {
    "average_wait_seconds",
    "offered",
    "answered",
    "abandoned",
    "answered_within_20s",
    "service_level",
    "callbacks_pending",
    "line_open",
    "line_hours",
}


@pytest.fixture
def family(import_feed):
    load(import_feed)


@pytest.fixture
def boss(app, make_agent, client_for, auth_for):
    """A supervisor: Bearer headers and a signed-in desk client; quick stream timings."""
    app.config.update(
        SUPERVISOR_REFRESH_SECONDS=0.05, SSE_HEARTBEAT_SECONDS=0.3, SSE_MAX_SECONDS=20
    )
    make_agent("boss", role="supervisor", queues=("medical", "policy"))
    return auth_for("boss"), client_for("boss")


def queues(client, headers) -> dict[str, dict]:
    response = client.get("/api/queues", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {q["name"]: q for q in response.get_json()}


def in_medical_queue(exchange, caller: str):
    phone = as_zhang_wei(exchange, caller).press("2").press("1")  # 门诊预约
    assert phone.in_queue, phone.heard
    return phone


# -- GET /api/queues -----------------------------------------------------------------------


def test_queues_lists_every_queue_of_every_line_with_the_spec_keys_first(client, boss):
    body = client.get("/api/queues", headers=boss[0]).get_json()
    assert [(q["name"], q["line"], q["kind"]) for q in body] == [
        ("medical", "medical", "calls"),
        ("medical-callback", "medical", "callbacks"),
        ("policy", "policy", "calls"),
        ("policy-callback", "policy", "callbacks"),
    ]
    for entry in body:
        assert list(entry)[:4] == SPEC_KEYS
        assert set(entry) >= FIGURES


def test_a_quiet_day_has_no_service_level_and_no_average_wait(client, boss):
    medical = queues(client, boss[0])["medical"]
    assert (medical["waiting"], medical["offered"], medical["longest_wait_seconds"]) == (0, 0, 0)
    assert medical["service_level"] is None and medical["average_wait_seconds"] is None


def test_each_queue_says_whether_its_line_is_open_now_and_its_hours(client, boss, clock):
    found = queues(client, boss[0])  # 10:30: both lines open
    assert found["medical"]["line_open"] and found["policy"]["line_open"]
    assert found["medical"]["line_hours"]["hours_today"] == ["08:00–22:00"]
    clock.set(datetime(2026, 3, 10, 18, 0))
    found = queues(client, boss[0])
    assert found["medical"]["line_open"] and not found["policy"]["line_open"]
    assert found["policy"]["line_hours"]["next_opening"] == "2026-03-11T09:00"


def test_a_call_is_counted_waiting_then_answered_within_the_service_level(
    app, client, boss, exchange, family, clock
):
    add_agent(app, "alice")
    in_medical_queue(exchange, "+8613900000011")
    clock.set(clock.now() + timedelta(seconds=12))
    medical = queues(client, boss[0])["medical"]
    assert (medical["waiting"], medical["offered"], medical["longest_wait_seconds"]) == (1, 1, 12)
    # A caller still waiting counts nowhere yet: no service level rather than 0 %.
    assert (medical["answered"], medical["service_level"]) == (0, None)

    exchange.agent("alice").dial().take()
    medical = queues(client, boss[0])["medical"]
    assert (medical["waiting"], medical["answered"], medical["answered_within_20s"]) == (0, 1, 1)
    assert (medical["service_level"], medical["average_wait_seconds"]) == (1.0, 12)


def test_a_caller_answered_after_the_service_level_lowers_it_and_a_hang_up_is_abandoned(
    app, client, boss, exchange, family, clock
):
    add_agent(app, "alice")
    in_medical_queue(exchange, "+8613900000011")
    gone = in_medical_queue(exchange, "+8613900000012")
    clock.set(clock.now() + timedelta(seconds=45))
    exchange.agent("alice").dial().take()
    gone.hang_up()
    medical = queues(client, boss[0])["medical"]
    assert (medical["offered"], medical["answered"], medical["abandoned"]) == (2, 1, 1)
    assert (medical["answered_within_20s"], medical["service_level"]) == (0, 0.0)
    assert medical["average_wait_seconds"] == 45


def test_a_booked_callback_is_pending_on_its_lines_callback_queue(
    app, client, boss, exchange, family, clock
):
    clock.set(datetime(2026, 3, 10, 22, 30))  # the medical line is closed: a callback offer
    phone = as_zhang_wei(exchange, "+8613900000071").press("2").press("1").press("1")
    assert phone.ended
    found = queues(client, boss[0])
    assert found["medical-callback"]["callbacks_pending"] == 1
    assert found["medical"]["callbacks_pending"] == 0
    assert not found["medical"]["line_open"]


def test_reading_the_figures_costs_the_same_however_many_calls_the_day_had(
    app, exchange, family, monkeypatch
):
    add_agent(app, "alice")
    counted = []
    original_pipe = Pipeline.pipeline_execute_command
    original = Redis.execute_command

    def count_pipe(self, *args, **options):
        counted.append(args[0])
        return original_pipe(self, *args, **options)

    def count(self, *args, **options):
        counted.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(Pipeline, "pipeline_execute_command", count_pipe)
    monkeypatch.setattr(Redis, "execute_command", count)

    statements = []

    def commands_to_read() -> list:
        with app.app_context():
            counted.clear()
            statements.clear()
            engine = db.engine()
            event.listen(engine, "before_cursor_execute", count_statement)
            try:
                dashboard.board(db.session(), store.redis(), current_flows(), current_clock().now())
            finally:
                event.remove(engine, "before_cursor_execute", count_statement)
            return list(counted), len(statements)

    def count_statement(connection, cursor, statement, *args):
        statements.append(statement)

    quiet = commands_to_read()
    for i in range(8):
        in_medical_queue(exchange, f"+86139000001{i:02d}")
        if i % 2:
            exchange.agent("alice").dial().take()
    # The first read after the calls folds their records into the history: the calls'
    # own work, put off from their webhooks (``services.interval_history``).
    commands_to_read()
    busy = commands_to_read()
    assert busy == quiet
    # Three reads for each of the four queues in one round trip; one query of today's rows,
    # after a fold that finds nothing to do (its claim; on PostgreSQL its table lock first).
    fold = 2 if db.engine(app).dialect.name == "postgresql" else 1
    assert (len(busy[0]), busy[1]) == (3 * 4, fold + 1)


def test_queues_answer_401_without_credentials_and_403_to_an_agent(client, make_agent, auth_for):
    response = client.get("/api/queues")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    make_agent("ann")
    response = client.get("/api/queues", headers=auth_for("ann"))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_a_signed_in_supervisor_reads_queues_by_session_cookie(boss):
    response = boss[1].get("/api/queues")
    assert response.status_code == 200 and len(response.get_json()) == 4


# -- the page ------------------------------------------------------------------------------


def test_signing_in_takes_a_supervisor_to_the_dashboard_and_an_agent_to_the_desk(app, make_agent):
    from desk_fixtures import sign_in

    make_agent("boss", role="supervisor")
    make_agent("ann")
    assert sign_in(app.test_client(), "boss").headers["Location"] == "/supervisor/"
    assert sign_in(app.test_client(), "ann").headers["Location"] == "/agent/"


def test_the_dashboard_is_for_supervisors_only(app, client, make_agent, client_for):
    response = client.get("/supervisor/")
    assert response.status_code == 302 and "/agent/signin" in response.headers["Location"]
    make_agent("ann")
    ann = client_for("ann")
    page = ann.get("/supervisor/")
    assert page.status_code == 403
    assert "supervisors" in page.get_data(as_text=True)
    assert ann.get("/supervisor/events").status_code == 403
    assert ann.get("/api/queues").status_code == 403
    assert client.get("/supervisor/events").status_code == 401
    # The desk shows the way to the dashboard only to those who may open it.
    assert "nav-dashboard" not in ann.get("/agent/").get_data(as_text=True)


def test_the_dashboard_shows_queues_agents_and_at_risk_cases_with_masked_names(
    app, boss, make_agent, auth_for, people, clock
):
    make_agent("ann")
    opened = boss[1].post(
        "/api/cases",
        json={
            "insured_id": "P3",
            "service": "outpatient_booking",
            "critical_illness_confirmed": True,
        },
        headers=auth_for("ann"),
    )
    assert opened.status_code == 201, opened.get_data(as_text=True)
    clock.set(datetime(2026, 3, 11, 9, 0))  # the contact deadline is due today
    page = boss[1].get("/supervisor/").get_data(as_text=True)
    assert 'data-queue="medical-callback"' in page and 'data-line="policy"' in page
    assert 'data-username="ann"' in page and 'data-status="offline"' in page
    assert f'data-case-id="{opened.get_json()["id"]}"' in page
    assert "王*" in page and "王芳" not in page
    assert "nav-dashboard" in page


def test_the_stream_pushes_a_snapshot_and_another_when_a_caller_starts_waiting(
    app, boss, exchange, family
):
    reader = EventReader(boss[1].get("/supervisor/events", buffered=False))
    try:
        first = reader.next_named("snapshot").json()
        assert {q["name"]: q["waiting"] for q in first["queues"]}["medical"] == 0
        # The supervisor is not an agent: listed apart, counted nowhere.
        assert first["agents"] == [] and sum(first["agent_counts"].values()) == 0
        assert [s["username"] for s in first["supervisors"]] == ["boss"]
        in_medical_queue(exchange, "+8613900000011")
        later = reader.next_named("snapshot").json()
        medical = {q["name"]: q for q in later["queues"]}["medical"]
        assert (medical["waiting"], medical["offered"]) == (1, 1)
        (line,) = [x for x in later["lines"] if x["line"] == "medical"]
        assert line["waiting"] == 1 and line["open"]
    finally:
        reader.close()


def test_an_unchanged_board_sends_the_time_it_was_checked_not_snapshots(boss, clock):
    reader = EventReader(boss[1].get("/supervisor/events", buffered=False))
    try:
        reader.next_named("snapshot")
        clock.set(clock.now() + timedelta(seconds=1))
        assert all(e.event != "snapshot" for e in reader.until("checked"))
        checked = reader.next_named("checked").json()
        assert checked == {"server_time": clock.now().isoformat()}
    finally:
        reader.close()


# -- the working-day calendar banner ------------------------------------------------------

LAST = LIBRARY_YEARS[-1]  # the last year chinesecalendar has (2026 with 1.11)


def test_from_the_first_of_december_a_missing_next_year_shows_a_banner(boss, clock):
    clock.set(datetime(LAST, 12, 6, 9, 0))
    page = boss[1].get("/supervisor/").get_data(as_text=True)
    banner = page[
        page.index('id="calendar-notice"') : page.index("</p>", page.index("calendar-notice"))
    ]
    assert "hidden" not in banner
    assert f"{LAST + 1}年工作日安排" in banner and "周一至周五" in banner


def test_before_december_the_board_shows_no_calendar_banner(boss, clock):
    clock.set(datetime(LAST, 11, 30, 9, 0))
    page = boss[1].get("/supervisor/").get_data(as_text=True)
    tag = page[page.index('id="calendar-notice"') : page.index(">", page.index("calendar-notice"))]
    assert "hidden" in tag


def test_the_banner_shows_even_when_the_live_figures_are_unavailable(boss, clock, monkeypatch):
    from redis import RedisError

    def down(*_args, **_kwargs):
        raise RedisError("down")

    monkeypatch.setattr(dashboard, "queues", down)
    clock.set(datetime(LAST, 12, 6, 9, 0))
    page = boss[1].get("/supervisor/").get_data(as_text=True)
    assert "实时数据暂不可用" in page
    assert f"{LAST + 1}年工作日安排" in page


def test_the_stream_carries_the_banner_so_an_open_board_shows_it_on_the_day(boss, clock):
    clock.set(datetime(LAST, 12, 1, 0, 5))
    reader = EventReader(boss[1].get("/supervisor/events", buffered=False))
    try:
        notice = reader.next_named("snapshot").json()["calendar_notice"]
    finally:
        reader.close()
    assert notice.startswith(f"{LAST + 1}年工作日安排")


def test_next_year_given_as_data_ends_the_banner(app):
    with app.app_context():
        loaded = current_flows()
    schedule = YearSchedule(holidays=frozenset({date(LAST + 1, 1, 1)}))
    extended = dataclasses.replace(loaded, working_days=WorkingDays({LAST + 1: schedule}))
    assert dashboard.calendar_notice(loaded, date(LAST, 12, 6)) is not None
    assert dashboard.calendar_notice(extended, date(LAST, 12, 6)) is None
    assert dashboard.calendar_notice(extended, date(LAST + 2, 1, 5)).startswith(f"{LAST + 2}年")


def test_queues_add_specs_figures_and_say_which_are_past_their_thresholds(
    app, client, boss, exchange, family, clock
):
    add_agent(app, "alice")
    in_medical_queue(exchange, "+8613900000011")
    short = in_medical_queue(exchange, "+8613900000012")
    short.hang_up()  # at once: a short abandon
    clock.set(clock.now() + timedelta(seconds=45))
    exchange.agent("alice").dial().take()
    medical = queues(client, boss[0])["medical"]
    assert (medical["answered"], medical["answered_within_sl"], medical["short_abandons"]) == (
        1,
        0,
        1,
    )
    assert (medical["abandoned"], medical["service_level"]) == (0, 0.0)
    assert (medical["average_speed_of_answer"], medical["short_abandon_seconds"]) == (45.0, 5)
    assert medical["levels"] == {"service_level": "alert", "average_speed_of_answer": "alert"}
    assert medical["answered_within_20s"] == medical["answered_within_sl"]


def test_todays_figures_survive_a_redis_loss(app, client, boss, exchange, family, clock):
    add_agent(app, "alice")
    in_medical_queue(exchange, "+8613900000011")
    exchange.agent("alice").dial().take()
    with app.app_context():
        store.redis().flushdb()
    medical = queues(client, boss[0])["medical"]
    assert (medical["offered"], medical["answered"], medical["service_level"]) == (1, 1, 1.0)


def test_the_page_says_when_it_was_last_updated_and_lists_supervisors_apart(boss, clock):
    page = boss[1].get("/supervisor/").get_data(as_text=True)
    assert 'data-testid="last-updated"' in page
    assert f'data-at="{clock.now().isoformat()}"' in page and "10:30:00" in page
    assert 'data-testid="supervisors"' in page and 'data-username="boss"' in page
    assert 'data-testid="agent-row"' not in page
    assert "nav-reports" in page
