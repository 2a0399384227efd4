"""GET /api/insureds/ID/eligibility answers SPEC §5's JSON, and JSON errors otherwise."""

from __future__ import annotations

from datetime import datetime

import pytest
from feeds import policy
from sqlalchemy import event

from agent_assist import auth
from hotline import create_app
from services import accounts
from storage import db
from storage.models import Agent

SPEC_KEYS = [
    "insured_id",
    "on",
    "tier",
    "counted_sum_insured",
    "service_effective_from",
    "waiting_period_ends",
    "in_waiting_period",
    "policies",
    "services",
]
POLICY_KEYS = ["policy_no", "product", "sum_insured", "counted", "reason"]
SERVICE_KEYS = [
    "code",
    "name",
    "entitled",
    "quota",
    "used",
    "remaining",
    "unit",
    "designate",
    "requires_critical_illness",
]


# 张伟 on 2026-03-10: 300,000 counted (尊享档 at exactly its floor), one policy of
# another product, one still in cooling-off, one surrendered; some quota used.
FEED = {
    "people": [
        {"id": "P1", "name": "张伟", "phones": ["+8613900000001"]},
        {"id": "P2", "name": "李娜", "phones": []},
    ],
    "policies": [
        policy("A001", product="国宝人寿巴适一生终身重大疾病保险", sum_insured=300000),
        policy("A002", product="国宝人寿安康医疗保险", sum_insured=500000),
        policy(
            "A003",
            product="国宝人寿至享人生重大疾病保险",
            sum_insured=200000,
            cooling_off_end="2026-03-20",
        ),
        policy(
            "A004",
            product="国宝人寿真爱你重大疾病保险",
            sum_insured=100000,
            events=[{"date": "2026-02-01", "status": "surrendered"}],
        ),
    ],
    "usage": [
        {"insured_id": "P1", "service": "outpatient_booking", "date": "2026-02-01", "count": 1},
        {"insured_id": "P1", "service": "nursing_carer", "date": "2026-01-15", "count": 2},
        {"insured_id": "P1", "service": "escort", "date": "2025-12-20", "count": 1},
    ],
}


@pytest.fixture
def loaded(import_feed):
    result = import_feed(FEED)
    assert result.exit_code == 0, result.output


def get(client, insured_id="P1", headers=None, **params):
    return client.get(
        f"/api/insureds/{insured_id}/eligibility", headers=headers, query_string=params
    )


def services(body) -> dict[str, dict]:
    return {s["code"]: s for s in body["services"]}


def test_eligibility_is_answered_in_the_spec_shape_with_its_values(client, loaded, auth_headers):
    response = get(client, headers=auth_headers)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()

    assert next(iter(body)) == "insured_id"
    assert [key for key in body if key in SPEC_KEYS] == SPEC_KEYS
    assert body["insured_id"] == "P1"
    assert body["on"] == "2026-03-10"
    assert body["tier"] == "zunxiang"
    assert body["counted_sum_insured"] == 300000
    # Counted from 2025-01-11 (the day after cooling-off); upgrades take effect a day later.
    assert body["service_effective_from"] == "2025-01-12"
    assert body["waiting_period_ends"] == "2025-02-10"
    assert body["in_waiting_period"] is False

    assert [{k: p[k] for k in POLICY_KEYS} for p in body["policies"]] == [
        {"policy_no": "A001", "product": "国宝人寿巴适一生终身重大疾病保险",
         "sum_insured": 300000, "counted": True, "reason": None},
        {"policy_no": "A002", "product": "国宝人寿安康医疗保险",
         "sum_insured": 500000, "counted": False, "reason": "not_applicable_product"},
        {"policy_no": "A003", "product": "国宝人寿至享人生重大疾病保险",
         "sum_insured": 200000, "counted": False, "reason": "cooling_off"},
        {"policy_no": "A004", "product": "国宝人寿真爱你重大疾病保险",
         "sum_insured": 100000, "counted": False, "reason": "not_in_force"},
    ]  # fmt: skip

    by_code = services(body)
    assert len(by_code) == 12
    assert all([k for k in s if k in SERVICE_KEYS] == SERVICE_KEYS for s in body["services"])
    assert {k: by_code["online_consult"][k] for k in SERVICE_KEYS} == {
        "code": "online_consult", "name": "线上问诊", "entitled": True, "quota": None,
        "used": 0, "remaining": None, "unit": "times", "designate": [],
        "requires_critical_illness": False,
    }  # fmt: skip
    assert {k: by_code["outpatient_booking"][k] for k in SERVICE_KEYS} == {
        "code": "outpatient_booking", "name": "门诊预约", "entitled": False, "quota": 1,
        "used": 1, "remaining": 0, "unit": "times", "designate": ["hospital"],
        "requires_critical_illness": True,
    }  # fmt: skip
    assert {k: by_code["nursing_carer"][k] for k in SERVICE_KEYS} == {
        "code": "nursing_carer", "name": "住院护工陪护", "entitled": True, "quota": 3,
        "used": 2, "remaining": 1, "unit": "days", "designate": [],
        "requires_critical_illness": True,
    }  # fmt: skip
    # Last year's escort does not count against this calendar year.
    assert (by_code["escort"]["used"], by_code["escort"]["remaining"]) == (0, 1)
    # 尊享档 does not include transport: quota 0, not unlimited.
    assert {k: by_code["transport"][k] for k in ("entitled", "quota", "remaining")} == {
        "entitled": False,
        "quota": 0,
        "remaining": 0,
    }
    assert by_code["surgery_fast_track"]["designate"] == ["hospital"]


def test_its_reads_make_no_transaction_of_their_own(app, client, loaded, auth_headers):
    # On PostgreSQL a BEGIN and a ROLLBACK around them would be two more round trips.
    engine = db.engine(app)
    modes = []
    prepared = []

    def record(conn, _cursor, statement, *_args):
        if statement.startswith("PREPARE "):
            prepared.append(statement.split()[1])
            return
        raw = conn.connection.dbapi_connection
        modes.append(raw.autocommit if engine.dialect.name == "postgresql" else None)
        if engine.dialect.name == "sqlite":
            modes[-1] = raw.isolation_level is None

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert get(client, headers=auth_headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # The token, then the person with their uses; on a connection's first use on
    # PostgreSQL, each read is prepared first.
    assert len(modes) == 2 and all(modes), modes
    assert set(prepared) <= {"hotline_token_credential", "hotline_person"}, prepared


def test_chinese_stays_readable_in_the_response_body(client, loaded, auth_headers):
    raw = get(client, headers=auth_headers).get_data()
    assert "门诊预约".encode() in raw
    assert b"\\u" not in raw


def test_on_asks_about_another_day(client, loaded, auth_headers):
    body = get(client, headers=auth_headers, on="2025-01-20").get_json()
    assert body["on"] == "2025-01-20"
    assert body["counted_sum_insured"] == 400000
    assert body["tier"] == "zunxiang"
    assert body["in_waiting_period"] is True
    assert not any(s["entitled"] for s in body["services"])


def test_on_the_day_a_tier_is_reached_it_is_not_yet_entitled(client, loaded, auth_headers):
    body = get(client, headers=auth_headers, on="2025-01-11").get_json()
    assert body["counted_sum_insured"] == 400000
    assert body["tier"] is None
    assert body["service_effective_from"] == "2025-01-12"


def test_on_defaults_to_today_on_the_app_clock(client, loaded, auth_headers, clock):
    clock.set(datetime(2026, 3, 21, 9, 0))  # A003 left cooling-off on the 20th
    body = get(client, headers=auth_headers).get_json()
    assert body["on"] == "2026-03-21"
    assert body["counted_sum_insured"] == 500000


def test_a_known_person_without_policies_has_no_tier_and_no_services(client, loaded, auth_headers):
    body = get(client, "P2", headers=auth_headers).get_json()
    assert (body["tier"], body["counted_sum_insured"], body["policies"]) == (None, 0, [])
    assert body["service_effective_from"] is None
    assert not any(s["entitled"] for s in body["services"])
    assert services(body)["online_consult"]["quota"] == 0


def test_without_a_token_the_answer_is_a_json_401(client, loaded):
    response = get(client)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-token", "Bearer ", "Basic dGVzdDp0ZXN0", "bearer"]
)
def test_a_wrong_authorization_header_is_a_json_401(client, loaded, header):
    response = get(client, headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.get_json()["error"]) == {"code", "message"}


def test_a_revoked_token_no_longer_works(app, client, loaded, token, auth_headers, clock):
    assert get(client, headers=auth_headers).status_code == 200
    with app.app_context():
        assert accounts.revoke_token(db.session(), token, clock.now())
        db.session().commit()
    assert get(client, headers=auth_headers).status_code == 401


def test_the_web_session_cookie_is_accepted_too(app, client, loaded, token):
    with app.app_context():
        credential = accounts.token_credential(db.session(), token)
    with client.session_transaction() as session:
        session[auth.SESSION_KEY] = credential.agent_id
        session[auth.GENERATION_KEY] = credential.generation
    assert get(client).status_code == 200
    # Credentials presented in a header are judged alone, cookie or not.
    assert get(client, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_session_for_a_deleted_agent_is_refused(app, client, loaded):
    with client.session_transaction() as session:
        session[auth.SESSION_KEY] = 4242
    with app.app_context():
        assert db.session().get(Agent, 4242) is None
    assert get(client).status_code == 401


def test_an_unknown_insured_is_a_json_404(client, loaded, auth_headers):
    response = get(client, "P404", headers=auth_headers)
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {"code": "unknown_insured", "message": 'no insured person with id "P404"'}
    }


@pytest.mark.parametrize("value", ["2026-02-30", "yesterday", "20260310", "2026-3-1"])
def test_a_bad_date_is_a_json_400(client, loaded, auth_headers, value):
    response = get(client, headers=auth_headers, on=value)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": {"code": "invalid_date", "message": f'on: "{value}" is not a date (YYYY-MM-DD)'}
    }


def test_unknown_api_paths_and_methods_answer_json(client, auth_headers):
    missing = client.get("/api/nothing-here", headers=auth_headers)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong_method = client.post("/api/insureds/P1/eligibility", headers=auth_headers)
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]


def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:9/nowhere", "sqlite:////nonexistent-dir/hotline.sqlite3"],
    ids=["postgresql-down", "sqlite-unopenable"],
)
def test_a_database_outage_is_a_json_503_not_a_traceback(url, clock):
    app = create_app({"TESTING": False, "SECRET_KEY": "x", "DATABASE_URL": url, "CLOCK": clock})
    response = app.test_client().get(
        "/api/insureds/P1/eligibility", headers={"Authorization": "Bearer anything"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "database_unavailable"


def test_a_token_is_checked_without_loading_the_agents_account(app, client, loaded, auth_headers):
    # The look-up every API request makes reads three columns, not an ORM ``Agent``.
    loads = []

    def record(target, _context):
        loads.append(target.id)

    event.listen(Agent, "load", record)
    try:
        assert get(client, headers=auth_headers).status_code == 200
        assert get(client, headers={"Authorization": "Bearer wrong"}).status_code == 401
    finally:
        event.remove(Agent, "load", record)
    assert loads == []
