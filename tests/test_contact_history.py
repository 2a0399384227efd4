"""A customer's contact history (``GET /api/people/ID/history``): calls, callbacks, cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ivr_calls import SHAN, ZHANG, add_agent, as_zhang_wei, book_after_hours, load, verified

from services import call_records
from storage import db


@pytest.fixture
def family(import_feed):
    load(import_feed)


@pytest.fixture
def headers(make_agent, auth_for):
    make_agent("ann")
    return auth_for("ann")


def history(client, headers, person_id="P1"):
    response = client.get(f"/api/people/{person_id}/history", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def outcomes(client, headers, person_id="P1") -> list[str]:
    return [c["outcome"] for c in history(client, headers, person_id)["calls"]]


def test_two_calls_are_listed_newest_first_with_who_took_them_and_how_they_ended(
    app, client, exchange, clock, family, headers
):
    add_agent(app, "alice")
    first = as_zhang_wei(exchange, ZHANG[2]).press("2").press("1")
    exchange.agent("alice").dial().take()
    first.hang_up()
    clock.set(clock.now() + timedelta(minutes=30))
    second = as_zhang_wei(exchange, ZHANG[2]).press("2").press("4")
    clock.set(clock.now() + timedelta(seconds=40))
    second.hang_up()

    calls = history(client, headers)["calls"]
    assert [c["call_sid"] for c in calls] == [second.call_sid, first.call_sid]
    latest, earliest = calls
    assert (earliest["agent"], earliest["outcome"], earliest["verified"]) == (
        "alice",
        "answered",
        True,
    )
    assert (earliest["line"], earliest["line_name"]) == ("medical", "重疾管家医疗支持服务")
    assert (earliest["service"], earliest["service_name"]) == ("outpatient_booking", "门诊预约")
    assert (latest["agent"], latest["outcome"], latest["wait_seconds"]) == (None, "abandoned", 40)
    assert earliest["started_at"].endswith("+08:00")


def test_a_call_served_by_the_ivr_alone_is_self_service_and_still_the_customers(
    client, exchange, family, headers
):
    # 权益查询 (4) is read aloud: no queue, no agent; the call is 张伟's once it ends.
    as_zhang_wei(exchange, ZHANG[2]).press("4").hang_up()
    assert outcomes(client, headers) == ["self_service"]


def test_a_call_after_hours_is_listed_with_its_callback(client, exchange, clock, family, headers):
    book_after_hours(exchange, clock, ZHANG[2])
    found = history(client, headers)
    assert [c["outcome"] for c in found["calls"]] == ["callback_booked"]
    (callback,) = found["callbacks"]
    assert (callback["status"], callback["service_name"]) == ("pending", "门诊预约")


def test_an_unverified_call_from_a_number_on_file_is_in_that_persons_history(
    client, exchange, family, headers
):
    phone = exchange.call(SHAN[2]).dial().press("0")
    assert phone.in_queue
    calls = history(client, headers, "P5")["calls"]
    assert [(c["verified"], c["outcome"]) for c in calls] == [(False, "waiting")]
    assert history(client, headers, "P1")["calls"] == []


def test_a_call_with_an_agent_now_is_on_call(app, client, exchange, family, headers):
    add_agent(app, "alice")
    as_zhang_wei(exchange, ZHANG[2]).press("2").press("1")
    exchange.agent("alice").dial().take()
    assert outcomes(client, headers) == ["on_call"]


def test_cases_of_the_insured_person_are_listed_with_their_state(client, family, headers):
    opened = client.post(
        "/api/cases",
        json={
            "insured_id": "P1",
            "service": "outpatient_booking",
            "critical_illness_confirmed": True,
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.get_data(as_text=True)
    (case,) = history(client, headers)["cases"]
    assert (case["id"], case["service_name"], case["status"]) == (
        opened.get_json()["id"],
        "门诊预约",
        "open",
    )
    assert case["sla"] is not None


def test_an_unknown_person_is_a_json_404_and_an_overlong_id_too(client, family, headers):
    assert client.get("/api/people/P404/history", headers=headers).status_code == 404
    long = "P" * 5000
    response = client.get(f"/api/people/{long}/history", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"]


def test_the_history_needs_a_signed_in_agent(client, family):
    assert client.get("/api/people/P1/history").status_code == 401


# -- outcomes from a record's fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "booked", "outcome"),
    [
        (
            {"enqueued_at": 0, "queue_result": "answered", "answered_at": 5, "ended_at": 60},
            False,
            "answered",
        ),
        ({"enqueued_at": 0, "queue_result": "answered", "answered_at": 5}, False, "on_call"),
        ({"enqueued_at": 0, "queue_result": "abandoned", "ended_at": 9}, False, "abandoned"),
        ({"enqueued_at": 0, "queue_result": "callback", "ended_at": 9}, False, "left_for_callback"),
        ({"enqueued_at": 0, "queue_result": "failed", "ended_at": 9}, False, "queue_failed"),
        ({"enqueued_at": 0}, False, "waiting"),
        ({"enqueued_at": 0, "ended_at": 9}, False, "abandoned"),
        ({"ended_at": 9}, True, "callback_booked"),
        ({"line": "medical", "ended_at": 9}, False, "self_service"),
        ({}, False, "in_ivr"),
    ],
)
def test_each_record_tells_one_outcome(app, clock, facts, booked, outcome):
    from runtime import current_flows
    from services import contact_history
    from storage.models import CallRecord

    start = clock.now()
    values = {k: start + timedelta(seconds=v) if k.endswith("_at") else v for k, v in facts.items()}
    record = CallRecord(call_sid="CA1", kind="inbound", started_at=start, verified=False, **values)
    with app.app_context():
        assert contact_history.call_outcome(record, booked, current_flows(), clock.tz) == outcome


def test_a_call_to_a_closed_line_without_a_callback_is_after_hours(app, clock):
    from ivr_calls import at

    from runtime import current_flows
    from services import contact_history
    from storage.models import CallRecord

    at(clock, 23, 10)
    record = CallRecord(
        call_sid="CA1", kind="inbound", started_at=clock.now(), line="medical", ended_at=clock.now()
    )
    with app.app_context():
        assert (
            contact_history.call_outcome(record, False, current_flows(), clock.tz) == "after_hours"
        )


def test_a_callback_call_nobody_answered_is_unreached(app, clock):
    from runtime import current_flows
    from services import contact_history
    from storage.models import CallRecord

    record = CallRecord(
        call_sid="CA1",
        kind=call_records.CALLBACK,
        started_at=clock.now(),
        end_status="no-answer",
        ended_at=clock.now(),
    )
    with app.app_context():
        assert contact_history.call_outcome(record, False, current_flows(), clock.tz) == "unreached"
        db.session().rollback()


def test_a_verified_caller_hanging_up_in_the_menu_is_recorded_as_theirs(
    client, exchange, family, headers
):
    verified(exchange, ZHANG, "+8613900009999").hang_up()
    calls = history(client, headers)["calls"]
    assert [(c["verified"], c["policyholder_id"]) for c in calls] == [(True, "P1")]
