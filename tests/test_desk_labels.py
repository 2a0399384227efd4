"""Every code a person reads on the desk has a word; figures and times read as people read them."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from agent_assist import labels
from domain.cases import CaseStatus, Milestone
from domain.eligibility import NotCounted, NotEntitled
from domain.sla import SlaState
from domain.usage import Outcome, Party, Reason
from services import callbacks, contact_history, people

CODES = [
    ("case_status", CaseStatus),
    ("sla", SlaState),
    ("use_outcome", Outcome),
    ("use_reason", Reason),
    ("milestone", Milestone),
    ("party", Party),
    ("policy_reason", NotCounted),
    ("service_reason", NotEntitled),
    ("call_outcome", contact_history.CALL_OUTCOMES),
    (
        "callback_status",
        (
            callbacks.PENDING,
            callbacks.DIALLING,
            callbacks.CONNECTED,
            callbacks.DONE,
            callbacks.FAILED,
        ),
    ),
    ("found_by", people.ORDER),
]


@pytest.mark.parametrize(("group", "codes"), CODES, ids=[g for g, _ in CODES])
def test_every_code_of_the_rules_has_a_chinese_word(group, codes):
    words = labels.GROUPS[group]
    missing = [str(code) for code in codes if str(code) not in {str(k) for k in words}]
    assert missing == []
    assert all(re.search(r"[\u4e00-\u9fff]", word) for word in words.values())


def test_the_flows_names_are_the_words_for_services_tiers_lines_and_queues(app):
    with app.app_context():
        assert labels.label("nursing_carer", "service") == "住院护工陪护"
        assert labels.label("zunxiang", "tier") == "尊享档"
        assert labels.label("medical", "line") == "重疾管家医疗支持服务"
        assert labels.label("medical-callback", "queue") == "重疾管家医疗支持服务·回电"
        assert labels.label(None, "tier") == "—"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(300000, "300,000 元"), (1_000_000, "1,000,000 元"), (0, "0 元"), (None, "—")],
)
def test_amounts_have_thousands_separators(value, shown):
    assert labels.amount(value) == shown


def test_times_read_in_the_hotlines_zone_with_the_year_only_when_it_is_another(app, clock):
    # The suite's clock: 2026-03-10, Asia/Shanghai.
    with app.app_context():
        assert labels.when("2026-12-06T11:29:54.157747+08:00") == "12月6日 11:29"
        assert labels.when("2026-12-06T03:29:00+00:00") == "12月6日 11:29"
        assert labels.when(datetime(2025, 12, 6, 11, 29)) == "2025年12月6日 11:29"
        assert labels.day("2024-07-01") == "2024年7月1日"
        assert labels.day(date(2026, 3, 10)) == "3月10日"
        assert labels.when(None) == "—"


@pytest.mark.parametrize(("value", "shown"), [(0, "0 秒"), (42, "42 秒"), (185, "3 分 05 秒")])
def test_durations_in_minutes_and_seconds(value, shown):
    assert labels.seconds(value) == shown


def test_the_case_page_shows_words_figures_and_readable_times(
    app, desk, people, auth_for, make_agent
):
    make_agent("bob")
    created = desk.application.test_client().post(
        "/api/cases",
        json={
            "insured_id": "P1",
            "service": "outpatient_booking",
            "critical_illness_confirmed": True,
            "call_sid": "CA" + "f" * 32,
        },
        headers=auth_for("bob"),
    )
    assert created.status_code == 201
    page = desk.get(f"/agent/cases/{created.get_json()['id']}").get_data(as_text=True)
    assert "办理中" in page and "已预占额度" in page and "3月10日 10:30" in page
    for code in ("open", "held", "requested", "on_track", "pending", "1 times"):
        assert f">{code}<" not in page and f" {code} " not in page
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", page.split("<main>")[1])
    # The Call SID is on a detail line of its own, not among the facts.
    assert 'data-testid="case-detail">来电编号 Call SID CA' in page


def test_the_desk_hands_its_script_every_word(app, desk):
    html = desk.get("/agent/").get_data(as_text=True)
    assert "data-labels=" in html and "住院护工陪护" in html and "已超时" in html
