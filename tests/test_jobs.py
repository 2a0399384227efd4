"""Jobs: the booking confirmation SMS (sent once) and the overdue-SLA sweep (flags once).

Twilio is reached through ``simulator.softphone.RecordingTwilio``, an ``http_client`` that
records the exact REST request and answers with Twilio's documented Message resource.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import TWILIO_ACCOUNT_SID as ACCOUNT
from ivr_calls import run_jobs
from rq import Queue
from sqlalchemy import select

from adapters import background
from hotline import worker
from live import store
from services import case_jobs
from storage import db
from storage.models import Case, CaseDeadline


@pytest.fixture
def twilio(app, twilio_rest):
    app.config["TWILIO_CALLER_ID"] = "+8640060580560"
    return twilio_rest


@pytest.fixture
def api(client, make_agent, people):
    headers = {"Authorization": f"Bearer {make_agent('ann')}"}

    def post(path, body):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    return post


def booked_case(api, **changes) -> int:
    body = {
        "insured_id": "P1",
        "service": "outpatient_booking",
        "critical_illness_confirmed": True,
        "hospital": "四川大学华西医院",
        "contact_phone": "13912345678",
        **changes,
    }
    case = api("/api/cases", body)
    api(
        f"/api/cases/{case['id']}/steps",
        {"milestone": "booked", "visit_on": "2026-03-16", "visit_period": "am"},
    )
    return case["id"]


def sms_requests(fake):
    return fake.of("Messages")


def needs_redis(app):
    if not app.config.get("REDIS_URL"):
        pytest.skip("needs a real Redis for rq")


def test_booking_a_case_texts_the_customer_once(app, twilio, api):
    needs_redis(app)
    case_id = booked_case(api)
    run_jobs(app)
    sent = sms_requests(twilio)
    assert len(sent) == 1
    request = sent[0]
    assert request.method == "POST"
    assert request.url == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request.data["To"] == "+8613912345678"
    assert request.data["From"] == "+8640060580560"
    assert "门诊预约" in request.data["Body"]
    assert "3月16日上午" in request.data["Body"]
    assert "至少提前1个工作日" in request.data["Body"]
    with app.app_context():
        case = db.session().get(Case, case_id)
        assert case.confirmation_sid == "SM" + "1".zfill(32)


def test_the_confirmation_job_run_twice_sends_one_sms(app, twilio, api):
    needs_redis(app)
    case_id = booked_case(api)
    background.queue(app).enqueue(case_jobs.send_booking_confirmation, case_id)
    run_jobs(app)
    with app.app_context():
        assert case_jobs.send_booking_confirmation(case_id) == "SM" + "1".zfill(32)
    assert len(sms_requests(twilio)) == 1


def test_a_twilio_failure_is_retried_and_the_sms_still_goes_once(app, twilio, api):
    twilio.fail_next()
    app.config["REDIS_URL"] = None  # in-process: the failure is logged, not retried
    case_id = booked_case(api)
    with app.app_context():
        assert db.session().get(Case, case_id).confirmation_claimed_at is None
        sid = case_jobs.send_booking_confirmation(case_id)  # the retry
        again = case_jobs.send_booking_confirmation(case_id)
    assert sid == again
    assert len(sms_requests(twilio)) == 2  # the failed attempt and the one that went


def test_without_redis_the_sms_is_sent_in_process_at_once(app, twilio, api):
    app.config["REDIS_URL"] = None
    booked_case(api)
    assert len(sms_requests(twilio)) == 1


def test_without_twilio_settings_nothing_is_sent_and_nothing_is_claimed(app, api):
    app.config["REDIS_URL"] = None
    case_id = booked_case(api)
    with app.app_context():
        case = db.session().get(Case, case_id)
        assert case.confirmation_sid is None
        assert case.confirmation_claimed_at is None


def test_a_booked_is_used_service_is_confirmed_without_cancellation_terms(app, twilio, api):
    app.config["REDIS_URL"] = None
    case = api(
        "/api/cases",
        {"insured_id": "P1", "service": "second_opinion", "critical_illness_confirmed": True},
    )
    api(f"/api/cases/{case['id']}/steps", {"milestone": "booked"})
    body = sms_requests(twilio)[0].data["Body"]
    assert "国内二次诊疗已预约成功" in body
    assert "不可取消" in body


# -- the overdue sweep ----------------------------------------------------------------------


def test_the_sweep_flags_passed_deadlines_once(app, api, clock):
    api(
        "/api/cases",
        {"insured_id": "P1", "service": "outpatient_booking", "critical_illness_confirmed": True},
    )
    with app.app_context():
        assert case_jobs.sweep_overdue_cases() == 0  # due tomorrow
    clock.set(datetime(2026, 3, 12, 0, 0))
    with app.app_context():
        assert case_jobs.sweep_overdue_cases() == 1
        assert case_jobs.sweep_overdue_cases() == 0
        flagged = db.session().scalars(select(CaseDeadline.overdue_at)).all()
    assert datetime(2026, 3, 12, 0, 0) in flagged


def test_the_sweep_leaves_met_and_closed_cases_alone(app, api, clock):
    met = api(
        "/api/cases",
        {"insured_id": "P1", "service": "outpatient_booking", "critical_illness_confirmed": True},
    )
    api(f"/api/cases/{met['id']}/steps", {"milestone": "contacted"})
    closed = api(
        "/api/cases", {"insured_id": "P3", "service": "escort", "critical_illness_confirmed": True}
    )
    api(f"/api/cases/{closed['id']}/steps", {"milestone": "cancelled"})
    clock.set(datetime(2026, 3, 20, 9, 0))
    with app.app_context():
        assert case_jobs.sweep_overdue_cases() == 0


def test_the_sweep_runs_by_hand_from_the_cli(app, runner, api, clock):
    api("/api/cases", {"insured_id": "P1", "service": "escort", "critical_illness_confirmed": True})
    clock.set(datetime(2026, 3, 10, 12, 0))
    result = runner.invoke(args=["cases", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 deadline(s) newly overdue" in result.output
    assert "0 deadline(s)" in runner.invoke(args=["cases", "sweep"]).output


def test_the_recurring_sweep_is_scheduled_once_per_slot(app, clock):
    needs_redis(app)
    first = case_jobs.schedule_sweeps(app, 15)
    again = case_jobs.schedule_sweeps(app, 15)
    assert first == again == "hotline-sla-sweep-202603101045"
    scheduled = Queue(background.QUEUE, connection=store.redis(app)).scheduled_job_registry
    assert scheduled.get_job_ids() == [first]


def test_the_next_sweep_slot_is_the_next_whole_interval():
    at = datetime(2026, 3, 10, 10, 30)
    assert case_jobs.next_slot(at, 15) == datetime(2026, 3, 10, 10, 45)
    assert case_jobs.next_slot(datetime(2026, 3, 10, 23, 59), 15) == datetime(2026, 3, 11, 0, 0)


def test_a_job_outside_a_request_builds_its_own_app(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setattr(worker, "_app", None)
    built = worker.worker_app()
    assert built is worker.worker_app()
    assert built.config["DATABASE_URL"].endswith("x.sqlite3")


def test_confirmation_texts_carry_the_rules_notice_in_working_days(app, api, twilio):
    app.config["REDIS_URL"] = None
    case = api(
        "/api/cases",
        {"insured_id": "P1", "service": "nursing_carer", "critical_illness_confirmed": True},
    )
    api(f"/api/cases/{case['id']}/steps", {"milestone": "booked", "visit_on": "2026-03-25"})
    body = sms_requests(twilio)[0].data["Body"]
    assert "至少提前3个工作日" in body
