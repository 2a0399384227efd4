"""Service requests (cases): opening them, their deadlines, milestones and the uses they record."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from desk_fixtures import page_csrf
from sqlalchemy import func, select

from storage import db
from storage.models import Case, ServiceUse


@pytest.fixture
def api(client, make_agent, people):
    """POST/GET helpers for the API as agent "ann" (Bearer)."""
    headers = {"Authorization": f"Bearer {make_agent('ann')}"}

    class Api:
        def open(self, **body):
            body.setdefault("critical_illness_confirmed", True)
            return client.post("/api/cases", json=body, headers=headers)

        def step(self, case_id, **body):
            return client.post(f"/api/cases/{case_id}/steps", json=body, headers=headers)

        def get(self, path):
            return client.get(path, headers=headers)

        def remaining(self, insured, service, on=None):
            query = f"?on={on}" if on else ""
            body = client.get(f"/api/insureds/{insured}/eligibility{query}", headers=headers)
            entry = next(s for s in body.get_json()["services"] if s["code"] == service)
            return entry["remaining"], entry["used"]

    return Api()


def uses(app, insured="P1"):
    with app.app_context():
        return (
            db.session()
            .execute(
                select(ServiceUse.service, ServiceUse.count, ServiceUse.ref).where(
                    ServiceUse.insured_id == insured, ServiceUse.source == "case"
                )
            )
            .all()
        )


def deadlines(body):
    return {d["key"]: d for d in body["deadlines"]}


# -- opening a case -------------------------------------------------------------------------


def test_opening_a_case_holds_the_use_and_dates_the_first_deadline(app, api):
    response = api.open(insured_id="P1", service="outpatient_booking", hospital="华西医院")
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "open"
    assert body["use"] == {
        "outcome": "held",
        "reason": "requested",
        "units": 1,
        "unit": "times",
        "counted_on": None,
    }
    # Tuesday 2026-03-10: contact by Wednesday; the rest waits for complete materials.
    found = deadlines(body)
    assert found["contact"]["due_on"] == "2026-03-11"
    assert found["contact"]["state"] == "on_track"
    assert found["feedback"]["due_on"] is None
    assert found["feedback"]["state"] == "pending"
    assert uses(app) == [("outpatient_booking", 1, f"case:{body['id']}:booking")]
    assert api.remaining("P1", "outpatient_booking") == (0, 1)


def test_a_request_the_insured_is_not_entitled_to_is_refused_saying_why(api):
    cases = [
        ("P2", "inpatient_fast_track", "not_in_tier"),  # 安心 has no fast-track
        ("P4", "escort", "waiting_period"),
        ("P5", "escort", "no_tier"),
    ]
    for insured, service, reason in cases:
        response = api.open(insured_id=insured, service=service)
        assert response.status_code == 422, (insured, service)
        error = response.get_json()["error"]
        assert error["code"] == "not_entitled"
        assert error["reason"] == reason
        assert error["message"]


def test_a_used_quota_refuses_the_next_request(api):
    assert api.open(insured_id="P1", service="escort").status_code == 201
    second = api.open(insured_id="P1", service="escort")
    assert second.status_code == 422
    assert second.get_json()["error"]["reason"] == "quota_used"
    assert "1 of 1" in second.get_json()["error"]["message"]


def test_a_service_for_a_critical_illness_needs_the_agents_confirmation(api):
    response = api.open(insured_id="P1", service="escort", critical_illness_confirmed=False)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "critical_illness_unconfirmed"
    assert (
        api.open(
            insured_id="P1", service="online_consult", critical_illness_confirmed=False
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("insured", "service", "hospital", "doctor", "status"),
    [
        ("P2", "outpatient_booking", "华西医院", None, 422),  # 安心: no designation
        ("P1", "outpatient_booking", "华西医院", None, 201),  # 尊享: hospital
        ("P1", "surgery_fast_track", "华西医院", "李医生", 422),  # 尊享: not the doctor
        ("P3", "surgery_fast_track", "华西医院", "李医生", 201),  # 豪华: both
        ("P3", "second_opinion", "华西医院", None, 422),  # never designated
    ],
)
def test_only_the_designations_the_tier_allows_are_accepted(
    api, insured, service, hospital, doctor, status
):
    response = api.open(insured_id=insured, service=service, hospital=hospital, doctor=doctor)
    assert response.status_code == status
    if status == 422:
        assert response.get_json()["error"]["code"] == "designation_not_allowed"


def test_bad_input_is_refused_with_a_json_error(api):
    assert api.open(insured_id="P1").status_code == 400
    assert api.open(insured_id="P1", service="spa_day").get_json()["error"]["code"] == (
        "unknown_service"
    )
    assert api.open(insured_id="P404", service="escort").status_code == 404
    bad_date = api.open(insured_id="P1", service="escort", visit_on="next week")
    assert bad_date.get_json()["error"]["code"] == "invalid_date"
    bad_phone = api.open(insured_id="P1", service="escort", contact_phone="12")
    assert bad_phone.get_json()["error"]["code"] == "invalid_phone"


def test_the_same_request_submitted_twice_is_one_case_and_one_use(app, client, api, make_agent):
    headers = {"Authorization": f"Bearer {make_agent('bob')}", "Idempotency-Key": "form-123"}
    body = {"insured_id": "P1", "service": "escort", "critical_illness_confirmed": True}
    first = client.post("/api/cases", json=body, headers=headers)
    again = client.post("/api/cases", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(uses(app)) == 1
    other = client.post(
        "/api/cases", json={**body, "service": "outpatient_booking"}, headers=headers
    )
    assert other.status_code == 409


def test_a_request_across_national_day_is_due_after_the_holiday(api, clock):
    clock.set(datetime(2025, 9, 30, 15, 0))
    body = api.open(insured_id="P3", service="care_planner").get_json()
    assert deadlines(body)["contact"]["due_on"] == "2025-10-13"  # 4 wd: 10-09, 10-10, 10-11, 10-13


def test_an_escort_request_must_be_answered_within_the_hour(api, clock):
    clock.set(datetime(2026, 2, 17, 21, 30))  # inside Spring Festival: hours still count
    body = api.open(insured_id="P1", service="escort").get_json()
    assert deadlines(body)["respond"]["due_at"] == "2026-02-17T22:30:00+08:00"
    assert deadlines(body)["respond"]["state"] == "due_today"


# -- milestones -----------------------------------------------------------------------------


def test_complete_materials_date_the_feedback_and_booking_deadlines(api, clock):
    clock.set(datetime(2026, 2, 12, 9, 0))
    case = api.open(insured_id="P1", service="inpatient_fast_track").get_json()
    body = api.step(case["id"], milestone="materials_complete").get_json()
    found = deadlines(body)
    assert found["feedback"]["due_on"] == "2026-02-24"
    assert found["booking"]["due_on"] == "2026-03-04"


def test_meeting_a_deadline_marks_it_met(api, clock):
    case = api.open(insured_id="P1", service="outpatient_booking").get_json()
    clock.set(datetime(2026, 3, 11, 9, 0))
    body = api.step(case["id"], milestone="contacted").get_json()
    contact = deadlines(body)["contact"]
    assert (contact["state"], contact["met_in_time"]) == ("met", True)


def test_recording_a_milestone_twice_changes_nothing(api):
    case = api.open(insured_id="P1", service="outpatient_booking").get_json()
    assert api.step(case["id"], milestone="contacted").get_json()["changed"] is True
    again = api.step(case["id"], milestone="contacted")
    assert again.status_code == 200
    assert again.get_json()["changed"] is False
    assert [e["milestone"] for e in again.get_json()["events"]] == ["requested", "contacted"]


def test_a_timely_outpatient_cancellation_gives_the_use_back(app, api, clock):
    case = api.open(insured_id="P1", service="outpatient_booking").get_json()
    api.step(case["id"], milestone="booked", visit_on="2026-03-16")
    clock.set(datetime(2026, 3, 13, 18, 0))  # Friday for Monday: one working day's notice
    body = api.step(case["id"], milestone="cancelled", by="customer").get_json()
    assert (body["status"], body["use"]["outcome"], body["use"]["units"]) == (
        "cancelled",
        "released",
        0,
    )
    assert uses(app) == []
    assert api.remaining("P1", "outpatient_booking") == (1, 0)


def test_a_late_outpatient_cancellation_counts(app, api, clock):
    case = api.open(insured_id="P1", service="outpatient_booking").get_json()
    api.step(case["id"], milestone="booked", visit_on="2026-03-16")
    clock.set(datetime(2026, 3, 14, 9, 0))  # Saturday for Monday
    body = api.step(case["id"], milestone="cancelled").get_json()
    assert (body["use"]["outcome"], body["use"]["reason"], body["use"]["counted_on"]) == (
        "counted",
        "cancelled_late",
        "2026-03-14",
    )
    assert api.remaining("P1", "outpatient_booking") == (0, 1)


def test_a_hospital_cancellation_never_counts(api):
    case = api.open(insured_id="P1", service="surgery_fast_track").get_json()
    booked = api.step(case["id"], milestone="booked", visit_on="2026-03-20").get_json()
    assert booked["use"]["outcome"] == "counted"  # booked = used
    body = api.step(case["id"], milestone="cancelled", by="hospital").get_json()
    assert body["use"]["reason"] == "cancelled_by_hospital"
    assert api.remaining("P1", "surgery_fast_track") == (1, 0)


def test_a_booked_is_used_service_stays_counted_when_the_customer_cancels(api):
    case = api.open(insured_id="P1", service="second_opinion").get_json()
    api.step(case["id"], milestone="booked")
    body = api.step(case["id"], milestone="cancelled", by="customer").get_json()
    assert (body["use"]["outcome"], body["use"]["reason"]) == ("counted", "booked_is_used")
    assert api.remaining("P1", "second_opinion") == (0, 1)


def test_an_escort_allows_one_reschedule_and_a_no_show_after_it_counts(api, clock):
    case = api.open(insured_id="P1", service="escort").get_json()
    api.step(case["id"], milestone="booked", visit_on="2026-03-13", visit_period="am")
    moved = api.step(case["id"], milestone="rescheduled", visit_on="2026-03-20")
    assert moved.get_json()["use"]["outcome"] == "held"
    second = api.step(case["id"], milestone="rescheduled", visit_on="2026-03-27")
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "reschedule_not_allowed"
    clock.set(datetime(2026, 3, 20, 15, 0))
    body = api.step(case["id"], milestone="no_show").get_json()
    assert (body["status"], body["use"]["reason"], body["use"]["counted_on"]) == (
        "no_show",
        "no_show",
        "2026-03-20",
    )


def test_a_carer_booking_takes_all_the_tiers_days(app, api):
    body = api.open(insured_id="P1", service="nursing_carer").get_json()
    assert (body["use"]["units"], body["use"]["unit"]) == (3, "days")
    assert api.remaining("P1", "nursing_carer") == (0, 3)
    haohua = api.open(insured_id="P3", service="nursing_carer").get_json()
    assert haohua["use"]["units"] == 5


def test_a_carer_cancelled_with_three_working_days_notice_is_not_counted(api, clock):
    case = api.open(insured_id="P1", service="nursing_carer").get_json()
    api.step(case["id"], milestone="booked", visit_on="2026-03-19")  # Thursday
    clock.set(datetime(2026, 3, 16, 9, 0))  # Mon, Tue, Wed before it
    body = api.step(case["id"], milestone="cancelled").get_json()
    assert body["use"]["outcome"] == "released"
    assert api.remaining("P1", "nursing_carer") == (3, 0)


def test_one_follow_up_application_uses_the_four_follow_ups(api):
    body = api.open(insured_id="P1", service="rehab_followup").get_json()
    assert body["use"]["units"] == 4
    assert api.remaining("P1", "rehab_followup") == (0, 4)


def test_a_booking_needs_a_visit_date_when_notice_runs_to_it(api):
    case = api.open(insured_id="P1", service="outpatient_booking").get_json()
    response = api.step(case["id"], milestone="booked")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "visit_date_required"


def test_steps_that_cannot_follow_are_refused(api, clock):
    case = api.open(insured_id="P1", service="outpatient_booking").get_json()
    assert api.step(case["id"], milestone="no_show").status_code == 409
    assert api.step(case["id"], milestone="teleported").status_code == 422
    assert api.step(case["id"], milestone="contacted", on="2026-03-11").status_code == 422
    api.step(case["id"], milestone="cancelled")
    after = api.step(case["id"], milestone="booked", visit_on="2026-03-20")
    assert after.get_json()["error"]["code"] == "case_closed"
    assert api.step(999, milestone="contacted").status_code == 404


# -- concurrency ----------------------------------------------------------------------------


def submit_together(app, make_agent, bodies_and_keys):
    """POST each (body, key) from its own thread and client, all released at once."""
    tokens = [make_agent(f"racer{i}") for i in range(len(bodies_and_keys))]
    barrier = threading.Barrier(len(bodies_and_keys))
    results = [None] * len(bodies_and_keys)

    def run(i, body, key):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        if key:
            headers["Idempotency-Key"] = key
        barrier.wait()
        results[i] = client.post("/api/cases", json=body, headers=headers)

    threads = [
        threading.Thread(target=run, args=(i, body, key))
        for i, (body, key) in enumerate(bodies_and_keys)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


ESCORT = {"insured_id": "P1", "service": "escort", "critical_illness_confirmed": True}


@pytest.mark.parametrize("attempt", range(3))
def test_the_same_form_submitted_at_once_records_one_case_and_one_use(
    app, people, make_agent, attempt
):
    results = submit_together(app, make_agent, [(ESCORT, "same-form")] * 4)
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({r.get_json()["id"] for r in results}) == 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Case)) == 1
    assert len(uses(app)) == 1


@pytest.mark.parametrize("attempt", range(3))
def test_different_requests_at_once_cannot_overdraw_a_quota(app, people, make_agent, attempt):
    results = submit_together(app, make_agent, [(ESCORT, f"form-{i}") for i in range(4)])
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 422, 422, 422]
    assert len(uses(app)) == 1


# -- reading and the SLA views --------------------------------------------------------------


def test_cases_due_today_or_overdue_are_at_risk(api, clock):
    early = api.open(insured_id="P1", service="outpatient_booking").get_json()
    api.open(insured_id="P3", service="outpatient_booking")
    clock.set(datetime(2026, 3, 11, 9, 0))
    api.step(early["id"], milestone="contacted")
    late = api.open(insured_id="P1", service="second_opinion").get_json()  # due 03-12
    at_risk = api.get("/api/cases?sla=at_risk").get_json()["cases"]
    # P3's contact is due today (03-11) and not met; P1's was met; the new one is due tomorrow.
    assert [c["insured_id"] for c in at_risk] == ["P3"]
    clock.set(datetime(2026, 3, 13, 9, 0))
    overdue = api.get("/api/cases?sla=overdue").get_json()["cases"]
    assert {c["id"] for c in overdue} == {late["id"], at_risk[0]["id"]}
    assert api.get("/api/cases?sla=sometime").status_code == 400


def test_agents_list_their_own_cases_and_supervisors_everyones(client, api, make_agent):
    api.open(insured_id="P1", service="escort")
    bob = {"Authorization": f"Bearer {make_agent('bob')}"}
    boss = {"Authorization": f"Bearer {make_agent('boss', role='supervisor')}"}
    assert client.get("/api/cases", headers=bob).get_json()["cases"] == []
    assert len(client.get("/api/cases?insured_id=P1", headers=bob).get_json()["cases"]) == 1
    assert len(client.get("/api/cases", headers=boss).get_json()["cases"]) == 1


def test_the_api_shows_the_full_contact_phone_and_the_desk_a_masked_one(api, desk):
    created = api.open(insured_id="P1", service="escort", contact_phone="13912345678").get_json()
    assert created["contact_phone"] == "139****5678"
    assert created["contact_phone_full"] == "+8613912345678"
    page = desk.get(f"/agent/cases/{created['id']}").get_data(as_text=True)
    assert "139****5678" in page
    assert "13912345678" not in page


def test_without_a_contact_phone_the_insureds_number_on_file_is_used(api):
    created = api.open(insured_id="P1", service="escort").get_json()
    assert created["contact_phone_full"] == "+8613812345678"


def test_a_child_without_a_phone_is_reached_on_the_policyholders_number(api):
    created = api.open(insured_id="P2", service="escort").get_json()
    assert created["contact_phone_full"] == "+8613812345678"


# -- the desk's forms ------------------------------------------------------------------------


def test_the_desk_form_opens_a_case_and_a_double_submit_is_the_same_case(app, people, desk):
    token = page_csrf(desk)
    form = {
        "csrf_token": token,
        "request_key": "desk-form-1",
        "insured_id": "P1",
        "service": "outpatient_booking",
        "critical_illness_confirmed": "1",
        "hospital": "华西医院",
        "call_sid": "CA0001",
    }
    first = desk.post("/agent/cases", data=form)
    again = desk.post("/agent/cases", data=form)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert len(uses(app)) == 1
    page = desk.get(first.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="case-step-form"' in page


def test_the_desk_form_without_csrf_is_refused(app, people, desk):
    response = desk.post("/agent/cases", data={"insured_id": "P1", "service": "escort"})
    assert response.status_code == 400
    assert uses(app) == []


def test_a_refused_desk_request_shows_why(people, desk):
    response = desk.post(
        "/agent/cases",
        data={
            "csrf_token": page_csrf(desk),
            "insured_id": "P4",
            "service": "escort",
            "critical_illness_confirmed": "1",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert 'data-testid="flash-error"' in html
    assert "waiting period" in html


def test_the_case_page_records_a_step(people, desk, clock):
    token = page_csrf(desk)
    created = desk.post(
        "/agent/cases",
        data={
            "csrf_token": token,
            "insured_id": "P1",
            "service": "escort",
            "critical_illness_confirmed": "1",
        },
    )
    case_path = created.headers["Location"]
    response = desk.post(
        f"{case_path}/steps",
        data={"csrf_token": token, "milestone": "contacted"},
        follow_redirects=True,
    )
    assert 'data-milestone="contacted"' in response.get_data(as_text=True)


def test_the_api_with_a_session_cookie_needs_the_csrf_header(people, desk):
    body = {"insured_id": "P1", "service": "escort", "critical_illness_confirmed": True}
    refused = desk.post("/api/cases", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "csrf_token_missing"
    accepted = desk.post("/api/cases", json=body, headers={"X-CSRF-Token": page_csrf(desk)})
    assert accepted.status_code == 201


def test_the_case_page_names_what_each_deadline_counts_from(api, desk):
    created = api.open(insured_id="P1", service="escort").get_json()
    page = desk.get(f"/agent/cases/{created['id']}").get_data(as_text=True)
    assert "<td>受理</td>" in page
    assert "<td>request</td>" not in page
