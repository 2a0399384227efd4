"""Jobs without Redis (the one-process demo): run at once, or by the web process's runner.

Here the app is made as ``hotline serve`` makes it with REDIS_URL unset: on the
embedded store, with no rq worker. SMS links are sent while the webhook is
answered; callbacks wait in rq's scheduled registry until the runner that
``gunicorn_conf`` starts finds them due by the app's clock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from ivr_calls import FLOW, ZHANG, as_zhang_wei, at, book_after_hours, load, message
from sqlalchemy import select

from adapters import background
from hotline import gunicorn_conf
from live import store
from services import call_jobs
from storage import db
from storage.models import Callback, CaseDeadline


@pytest.fixture
def redis_url():
    """No REDIS_URL: the app keeps its own in-process store, as the demo does."""
    return None


@pytest.fixture
def family(import_feed):
    load(import_feed)


@pytest.fixture
def runner_of_jobs(app):
    return gunicorn_conf.in_process_runner(app)


def the_callback(app) -> Callback:
    with app.app_context():
        return db.session().scalars(select(Callback)).one()


def ask_for_the_online_consult_link(exchange, clock):
    at(clock, 3)
    phone = as_zhang_wei(exchange, caller="+8613900007777").press("1").press("1")
    assert message("sms_queued", service="线上问诊", phone_tail="五六七八") in phone.heard
    return phone


def test_the_demo_runs_on_the_embedded_store(app):
    assert background.in_process(app)
    assert type(store.redis(app)).__module__.startswith("fakeredis")


def test_in_the_demo_an_sms_link_is_sent_while_the_call_goes_on(
    app, exchange, twilio_rest, clock, family
):
    ask_for_the_online_consult_link(exchange, clock)
    (sms,) = twilio_rest.of("Messages")  # no worker ran: it went in-process
    assert sms.data["To"] == ZHANG[2]
    assert sms.data["From"] == exchange.number
    assert FLOW.sms["online_consult"].url in sms.data["Body"]


def test_in_the_demo_an_sms_asked_for_twice_by_the_same_step_is_sent_once(app, twilio_rest):
    for _ in range(2):
        call_jobs.enqueue_sms(app, ZHANG[2], "链接", "+861058001234", ref="CA1-3")
    call_jobs.enqueue_sms(app, ZHANG[2], "链接", "+861058001234", ref="CA1-4")
    assert len(twilio_rest.of("Messages")) == 2


def test_in_the_demo_without_twilio_the_caller_hears_the_link_cannot_be_sent(
    app, exchange, twilio_rest, clock, family, caplog
):
    app.config["TWILIO_ACCOUNT_SID"] = None  # the auth token still signs the webhooks
    at(clock, 3)
    with caplog.at_level(logging.WARNING, logger="adapters.background"):
        phone = as_zhang_wei(exchange, caller="+8613900007777").press("1").press("1")
    # Not told it is on its way (SPEC §8): told it cannot be sent, and offered a person.
    assert message("sms_unavailable", service="线上问诊") in phone.heard
    assert not any("短信发送至" in said for said in phone.heard)
    assert "转人工服务为您办理请按0。" in phone.heard
    assert not phone.ended
    # No job was queued to fail later.
    assert twilio_rest.requests == []
    assert [r for r in caplog.records if r.name == "adapters.background"] == []


def test_in_the_demo_a_twilio_outage_is_logged_and_the_call_goes_on(
    app, exchange, twilio_rest, clock, family, caplog
):
    twilio_rest.fail_next(500)
    with caplog.at_level(logging.ERROR, logger="adapters.background"):
        phone = ask_for_the_online_consult_link(exchange, clock)
    assert not phone.ended
    assert len(twilio_rest.of("Messages")) == 1
    (record,) = [r for r in caplog.records if r.name == "adapters.background"]
    assert "services.call_jobs.send_sms failed" in record.getMessage() and record.exc_info


def test_in_the_demo_a_callback_is_dialled_by_the_runner_when_due(
    app, exchange, twilio_rest, clock, family, runner_of_jobs
):
    book_after_hours(exchange, clock)
    runner_of_jobs.tick()
    assert twilio_rest.of("Calls") == []  # 22:31: not due until the line opens at 08:00
    assert the_callback(app).status == "pending"
    at(clock, 8, 0, day=11)
    runner_of_jobs.tick()
    (request,) = twilio_rest.of("Calls")
    assert request.data["To"] == ZHANG[2]
    callback = the_callback(app)
    assert (callback.status, callback.attempts) == ("dialling", 1)
    runner_of_jobs.tick()
    assert len(twilio_rest.of("Calls")) == 1


def test_in_the_demo_a_callback_the_store_forgot_is_dialled_after_a_restart(
    app, exchange, twilio_rest, clock, family, runner_of_jobs
):
    book_after_hours(exchange, clock)
    with app.app_context():
        store.redis().flushdb()  # the embedded store does not outlive the process
    at(clock, 8, 0, day=11)
    runner_of_jobs.tick()  # reconciles from SQL, which schedules the callback, due now
    runner_of_jobs.tick()
    assert len(twilio_rest.of("Calls")) == 1
    assert the_callback(app).status == "dialling"


def test_in_the_demo_the_runner_sweeps_slas_on_their_slots(app, api_case, clock, runner_of_jobs):
    runner_of_jobs.tick()
    clock.set(datetime(2026, 3, 12, 0, 0))  # the first deadline has passed
    runner_of_jobs.tick()
    with app.app_context():
        flagged = db.session().scalars(select(CaseDeadline.overdue_at)).all()
    assert datetime(2026, 3, 12, 0, 0) in flagged


def test_a_scheduled_job_not_yet_due_waits(app, clock):
    with app.app_context():
        later = clock.now().astimezone(UTC).replace(year=2027)
    assert (
        background.enqueue_at(app, later, "services.call_jobs.reconcile", job_id="later")
        is not None
    )
    assert background.run_due(app) == 0
    assert background.enqueue_at(app, later, "services.call_jobs.reconcile", job_id="later") is None


@pytest.fixture
def api_case(client, make_agent, people):
    headers = {"Authorization": f"Bearer {make_agent('ann')}"}
    body = {"insured_id": "P1", "service": "outpatient_booking", "critical_illness_confirmed": True}
    response = client.post("/api/cases", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()


def test_in_the_demo_the_cli_leaves_the_recurring_sweep_to_the_server(app, runner):
    result = runner.invoke(args=["cases", "sweep", "--schedule"])
    assert result.exit_code == 0, result.output
    assert "REDIS_URL is unset: the server sweeps in-process instead." in result.output
    assert background.queue(app).scheduled_job_registry.get_job_ids() == []


def test_the_real_twilio_client_gives_up_before_twilio_abandons_the_webhook():
    from adapters import twilio_rest
    from hotline import create_app

    app = create_app(
        {"TESTING": True, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t"}
    )
    http_client = twilio_rest.client(app).http_client
    assert 0 < http_client.timeout < 15
