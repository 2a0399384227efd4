"""`hotline calendar check`: the years of the State Council's schedule, and the one missing."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import date, datetime

from domain import workdays
from domain.workdays import LIBRARY_YEARS, WorkingDays, YearSchedule
from hotline import gunicorn_conf
from hotline.cli import calendar_report
from runtime import current_flows

LAST = LIBRARY_YEARS[-1]  # 2026 with chinesecalendar 1.11
NEXT = LAST + 1


def test_the_check_lists_the_librarys_years_and_warns_of_next_year_in_december(runner, clock):
    clock.set(datetime(LAST, 12, 6, 9, 0))
    result = runner.invoke(args=["calendar", "check"])
    assert result.exit_code == 1
    assert f"{LIBRARY_YEARS[0]}–{LAST}: chinesecalendar" in result.stdout
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"warning: no schedule for {NEXT}: SLA deadlines count Monday–Friday")
    assert "calendar.toml" in warning


def test_before_december_a_missing_next_year_is_a_warning_but_not_a_failure(runner, clock):
    clock.set(datetime(LAST, 6, 15, 9, 0))
    result = runner.invoke(args=["calendar", "check"])
    assert result.exit_code == 0
    assert f"no schedule for {NEXT}" in result.stderr


def test_a_year_given_as_data_is_listed_with_its_source_and_ends_the_warning(app):
    schedule = YearSchedule(
        holidays=frozenset({date(NEXT, 1, 1)}), source="国务院办公厅关于部分节假日安排的通知"
    )
    with app.app_context():
        loaded = current_flows()
    extended = dataclasses.replace(loaded, working_days=WorkingDays({NEXT: schedule}))
    found = workdays.coverage(extended.working_days, date(LAST, 12, 6))
    lines = calendar_report(extended, found)
    assert (f"  {NEXT}: {loaded.directory / 'calendar.toml'} ({schedule.source})", False) in lines
    assert not any(warning for _, warning in lines)
    assert not found.alarm


def test_the_server_logs_the_calendar_at_start():
    logged: list[tuple[str, str]] = []

    class Log:
        def info(self, _format, line):
            logged.append(("info", line))

        def warning(self, _format, line):
            logged.append(("warning", line))

    class Server:
        log = Log()

    gunicorn_conf.log_calendar(Server())
    assert logged[0][0] == "info"
    assert logged[0][1].startswith("Working days (法定节假日 and 调休) as of ")
    assert all(level == "warning" for level, line in logged if line.startswith("warning:"))
    assert "log_calendar(server)" in inspect.getsource(gunicorn_conf.on_starting)
