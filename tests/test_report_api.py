"""/api/reports/intervals, /days and /agents (SPEC §7), the reports page, and who may read them."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

from agent_assist.report_api import csv_text
from services import call_records
from storage import db
from storage.models import AgentInterval

TZ = ZoneInfo("Asia/Shanghai")
SPEC_COLUMNS = [
    "queue",
    "interval_start",
    "offered",
    "answered",
    "answered_within_sl",
    "abandoned",
    "short_abandons",
    "callbacks_requested",
    "callbacks_completed",
    "service_level",
    "average_speed_of_answer",
    "average_handle_time",
    "longest_wait_seconds",
]
DAY_COLUMNS = ["queue", "day", *SPEC_COLUMNS[2:]]


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=TZ)


@pytest.fixture
def boss(app, make_agent, auth_for):
    make_agent("boss", role="supervisor")
    return auth_for("boss")


@pytest.fixture
def history(app):
    """Two queues over two days: answered at 12 s and 45 s, a short and a long abandon."""
    with app.app_context():
        session = db.session()
        for sid, queue, entered, wait, how in (
            ("CA1", "medical", local(9, 23, 40), 12, "answer"),
            ("CA2", "medical", local(10, 10, 0), 45, "answer"),
            ("CA3", "medical", local(10, 10, 5), 3, "hangup"),
            ("CA4", "policy", local(10, 10, 10), 30, "hangup"),
        ):
            call_records.note(session, sid, entered, queue=queue, line=queue, enqueued_at=entered)
            out = entered + timedelta(seconds=wait)
            if how == "answer":
                call_records.answered(session, sid, out, "ann", wait)
                call_records.ended(session, sid, out + timedelta(seconds=120), "completed", None)
            else:
                call_records.left_queue(session, sid, out, how, wait)
        session.commit()


def get(client, path: str, headers: dict, **params):
    response = client.get(path, headers=headers, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_intervals_have_the_specs_columns_in_order_by_interval_then_queue(client, boss, history):
    rows = get(client, "/api/reports/intervals", boss, **{"from": "2026-03-09", "to": "2026-03-10"})
    body = rows.get_json()
    assert all(list(row) == SPEC_COLUMNS for row in body)
    assert [(r["interval_start"], r["queue"]) for r in body] == [
        ("2026-03-09T23:30:00+08:00", "medical"),
        ("2026-03-10T10:00:00+08:00", "medical"),
        ("2026-03-10T10:00:00+08:00", "policy"),
    ]
    medical = body[1]
    assert (medical["offered"], medical["answered"], medical["answered_within_sl"]) == (2, 1, 0)
    assert (medical["abandoned"], medical["short_abandons"]) == (0, 1)
    assert (medical["service_level"], medical["average_speed_of_answer"]) == (0.0, 45.0)
    assert (medical["average_handle_time"], medical["longest_wait_seconds"]) == (120.0, 45)


def test_days_are_the_intervals_summed_per_local_day(client, boss, history):
    body = get(
        client, "/api/reports/days", boss, **{"from": "2026-03-09", "to": "2026-03-10"}
    ).get_json()
    assert all(list(row) == DAY_COLUMNS for row in body)
    assert [(r["day"], r["queue"], r["offered"], r["service_level"]) for r in body] == [
        ("2026-03-09", "medical", 1, 1.0),
        ("2026-03-10", "medical", 2, 0.0),
        ("2026-03-10", "policy", 1, 0.0),
    ]


def test_a_queue_and_a_single_day_narrow_the_report(client, boss, history, clock):
    clock.set(datetime(2026, 3, 10, 18, 0))
    body = get(client, "/api/reports/days", boss, queue="policy").get_json()  # today
    assert [(r["day"], r["queue"]) for r in body] == [("2026-03-10", "policy")]
    quiet_day = {"from": "2026-03-08", "to": "2026-03-08"}
    assert get(client, "/api/reports/intervals", boss, **quiet_day).get_json() == []


def test_the_csv_has_the_same_columns_and_figures_under_a_header(client, boss, history):
    asked = {"from": "2026-03-09", "to": "2026-03-10"}
    response = get(client, "/api/reports/intervals", boss, format="csv", **asked)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == SPEC_COLUMNS
    body = get(client, "/api/reports/intervals", boss, **asked).get_json()
    assert rows[1:] == [["" if v is None else str(v) for v in row.values()] for row in body]
    days = get(client, "/api/reports/days", boss, format="csv", **asked).get_data(as_text=True)
    assert days.splitlines()[0] == ",".join(DAY_COLUMNS)


def test_csv_cells_are_quoted_and_text_a_spreadsheet_would_run_is_defused():
    text = csv_text(
        [
            {"who": 'an "odd", name', "n": 1},
            {"who": "=HYPERLINK(1)", "n": None},
            {"who": "-1", "n": 2.5},
        ],
        ("who", "n"),
    )
    assert text == ('who,n\r\n"an ""odd"", name",1\r\n\'=HYPERLINK(1),\r\n\'-1,2.5\r\n')


def test_agents_report_lists_agents_with_handled_calls_and_time(client, boss, history):
    body = get(
        client, "/api/reports/agents", boss, **{"from": "2026-03-09", "to": "2026-03-10"}
    ).get_json()
    assert [(a["username"], a["handled"], a["average_handle_time"]) for a in body] == [
        ("ann", 2, 120.0)
    ]
    listed = get(client, "/api/reports/agents", boss, format="csv", **{"from": "2026-03-10"})
    assert listed.get_data(as_text=True).splitlines()[0].startswith("username,handled,")


def test_agent_names_that_look_like_formulas_are_defused_in_the_csv(app, client, boss, clock):
    with app.app_context():
        db.session().add(
            AgentInterval(
                interval_start=datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
                username="=cmd",
                day=datetime(2026, 3, 10).date(),
                handled=1,
                talk_seconds=60,
                wrap_up_seconds=0,
                missed_offers=0,
                state_available_seconds=0,
                state_break_seconds=0,
                state_offered_seconds=0,
                state_on_call_seconds=60,
                state_wrap_up_seconds=0,
            )
        )
        db.session().commit()
    text = get(client, "/api/reports/agents", boss, format="csv").get_data(as_text=True)
    assert text.splitlines()[1].startswith("'=cmd,1,60.0,")


# -- who may read them, and what they may ask -----------------------------------------------


@pytest.mark.parametrize("kind", ["intervals", "days", "agents"])
def test_agents_get_403_and_strangers_401(client, make_agent, auth_for, kind):
    make_agent("ann")
    assert client.get(f"/api/reports/{kind}").status_code == 401
    refused = client.get(f"/api/reports/{kind}", headers=auth_for("ann"))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    csv_refused = client.get(f"/api/reports/{kind}?format=csv", headers=auth_for("ann"))
    assert csv_refused.status_code == 403


def test_a_supervisor_signed_in_reads_the_csv_by_the_session_cookie(make_agent, client_for):
    make_agent("boss", role="supervisor")
    response = client_for("boss").get("/api/reports/days?format=csv")
    assert response.status_code == 200 and response.get_data(as_text=True).startswith("queue,day")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-3-1"}, "invalid_date"),
        ({"from": "2026-03-10", "to": "2026-03-09"}, "invalid_range"),
        ({"from": "2025-01-01", "to": "2026-03-10"}, "range_too_long"),
        ({"queue": "nowhere"}, "unknown_queue"),
        ({"format": "xlsx"}, "invalid_format"),
    ],
)
def test_a_bad_request_is_refused_with_a_reason(client, boss, params, code):
    response = client.get("/api/reports/intervals", headers=boss, query_string=params)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code


def test_a_year_of_history_is_one_request(client, boss):
    asked = {"from": "2025-02-04", "to": "2026-03-10"}  # 400 days, today included
    assert client.get("/api/reports/days", headers=boss, query_string=asked).status_code == 200


# -- the page ----------------------------------------------------------------------------------


def svg(html: str, testid: str) -> ET.Element:
    section = html.split(f'data-testid="{testid}"', 1)[1]
    markup = section[section.index("<svg") : section.index("</svg>") + len("</svg>")]
    return ET.fromstring(markup)


def test_the_page_charts_a_day_by_the_half_hour(app, make_agent, client_for, history):
    make_agent("boss", role="supervisor")
    page = client_for("boss").get("/supervisor/reports?from=2026-03-10&to=2026-03-10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    ns = {"s": "http://www.w3.org/2000/svg"}
    volume = svg(html, "chart-volume")
    offered = volume.findall(".//s:rect[@data-series='offered']", ns)
    assert len(offered) == 48
    assert [r.find("s:title", ns).text for r in offered if float(r.get("height")) > 0] == [
        "10:00–10:30 来电 Offered 3"
    ]
    level = svg(html, "chart-service-level")
    (point,) = level.findall(".//s:circle", ns)
    assert point.get("data-value") == "0.0"
    assert 'data-testid="report-total-row"' in html
    assert 'data-username="ann"' in html
    # The day's last interval ends at 24:00, not at the next day's 00:00.
    (last,) = [r for r in offered if r.find("s:title", ns).text.startswith("23:30")]
    assert last.find("s:title", ns).text.startswith("23:30–24:00")


def test_the_page_charts_a_range_by_the_day_and_links_its_csv(app, make_agent, client_for, history):
    make_agent("boss", role="supervisor")
    html = (
        client_for("boss")
        .get("/supervisor/reports?from=2026-03-04&to=2026-03-10&queue=medical")
        .get_data(as_text=True)
    )
    ns = {"s": "http://www.w3.org/2000/svg"}
    offered = svg(html, "chart-volume").findall(".//s:rect[@data-series='offered']", ns)
    assert len(offered) == 7
    assert [float(r.get("height")) > 0 for r in offered] == [False] * 5 + [True, True]
    link = re.search(r'href="([^"]+)" download data-testid="csv-intervals"', html).group(1)
    path, _, query = link.replace("&amp;", "&").partition("?")
    assert path == "/api/reports/intervals"
    assert parse_qs(query) == {
        "from": ["2026-03-04"],
        "to": ["2026-03-10"],
        "queue": ["medical"],
        "format": ["csv"],
    }


def test_the_page_is_for_supervisors_and_mends_a_bad_period(app, make_agent, client_for, clock):
    make_agent("ann")
    make_agent("boss", role="supervisor")
    assert client_for("ann").get("/supervisor/reports").status_code == 403
    html = (
        client_for("boss").get("/supervisor/reports?from=soon&to=2026-03-01").get_data(as_text=True)
    )
    assert "不是日期" in html and "已对调" in html
    assert 'data-from="2026-03-01" data-to="2026-03-10"' in html
