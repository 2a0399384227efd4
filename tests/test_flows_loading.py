"""flows/ as data: the shipped files load, and every bad value is refused by file and key."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

import flows
from domain.catalogue import QuotaPeriod
from domain.workdays import WorkingDays
from flows import FlowError


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A copy of the shipped flows/ files that a test may break."""
    for source in flows.DEFAULT_DIRECTORY.glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(directory: Path, name: str, text: str) -> None:
    with (directory / name).open("a", encoding="utf-8") as handle:
        handle.write("\n" + text + "\n")


# -- the shipped files ---------------------------------------------------------------------


def test_the_shipped_flows_load():
    loaded = flows.load()
    assert loaded.directory == flows.DEFAULT_DIRECTORY
    assert loaded.programme.launch_date == date(2024, 1, 1)
    assert loaded.programme.quota_period is QuotaPeriod.CALENDAR_YEAR
    assert loaded.programme.waiting_period_days == 30
    assert set(loaded.lines) == {"medical", "policy"}
    assert loaded.categories == {
        "health_care": "健康护航",
        "precise_care": "精准诊疗",
        "care": "关怀服务",
    }


def test_the_shipped_lines_have_the_specs_hours():
    loaded = flows.load()
    for code, opens, closes in (("medical", time(8), time(22)), ("policy", time(9), time(17, 30))):
        line = loaded.line(code)
        assert line.queue == code
        assert all(line.weekly[day] == ((opens, closes),) for day in range(7))
        assert line.closures == frozenset()
    assert loaded.line("medical").phone == "4006-058-056"
    assert loaded.line("policy").phone == "028-96555"


def test_an_unknown_line_is_refused():
    with pytest.raises(FlowError, match="unknown line 'billing'"):
        flows.load().line("billing")


def test_a_copy_of_the_shipped_files_loads_the_same(flows_dir):
    copy = flows.load(str(flows_dir))
    assert copy.directory == flows_dir
    assert copy.programme == flows.load().programme


# -- good values an operator may set -------------------------------------------------------


def test_an_operator_can_close_a_line_or_give_special_hours_on_a_date(flows_dir):
    edit(
        flows_dir,
        "lines.toml",
        'queue = "medical"\nhours = [{ days = "daily", open = "08:00", close = "22:00" }]\n'
        "closures = []\nspecial = []",
        'queue = "medical"\nhours = [{ days = "daily", open = "08:00", close = "22:00" }]\n'
        'closures = ["2026-02-16", 2026-02-17]\n'
        'special = [{ date = "2026-02-18", open = "10:00", close = "16:00" }]',
    )
    line = flows.load(flows_dir).line("medical")
    assert line.closures == {date(2026, 2, 16), date(2026, 2, 17)}
    assert line.special == {date(2026, 2, 18): ((time(10), time(16)),)}
    assert not line.is_open(datetime(2026, 2, 17, 12))
    assert line.next_opening(datetime(2026, 2, 16, 7)) == datetime(2026, 2, 18, 10)


def test_weekday_hours_and_toml_times_are_accepted(flows_dir):
    edit(
        flows_dir,
        "lines.toml",
        'hours = [{ days = "daily", open = "09:00", close = "17:30" }]',
        'hours = [{ days = ["mon", "tue", "wed", "thu", "fri"], open = 09:00:00, close = "17:30" },'
        ' { days = ["sat"], open = "10:00", close = "24:00" }]',
    )
    line = flows.load(flows_dir).line("policy")
    assert line.weekly[0] == ((time(9), time(17, 30)),)
    assert line.weekly[5] == ((time(10), time.max),)
    assert line.weekly[6] == ()


def test_a_year_of_working_days_given_as_data_is_used(flows_dir):
    append(
        flows_dir,
        "calendar.toml",
        '[years.2099]\nholidays = ["2099-01-01", "2099-01-02"]\nworkdays = [2099-01-04]',
    )
    calendar = flows.load(flows_dir).working_days
    assert calendar.source(2099) == "flows"
    assert not calendar.is_working_day(date(2099, 1, 1))
    assert calendar.is_working_day(date(2099, 1, 4))  # a Sunday


def test_a_year_is_copied_from_the_notice_with_stretches_of_days_off_and_its_source(flows_dir):
    append(
        flows_dir,
        "calendar.toml",
        "[years.2099]\n"
        'source = "国务院办公厅关于2099年部分节假日安排的通知"\n'
        'holidays = ["2099-01-01", "2099-01-24..2099-01-30"]\n'
        'workdays = ["2099-01-31"]',
    )
    calendar = flows.load(flows_dir).working_days
    schedule = calendar.extra_years[2099]
    assert schedule.source == "国务院办公厅关于2099年部分节假日安排的通知"
    assert len(schedule.holidays) == 8
    assert not any(calendar.is_working_day(date(2099, 1, day)) for day in range(24, 31))
    assert calendar.is_working_day(date(2099, 1, 31))  # a Saturday worked (调休)
    assert calendar.years()[2099] == "flows"


def test_the_readmes_example_copied_from_a_notice_gives_the_same_days_as_the_library(flows_dir):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```toml\n[years.2026]")
    block = readme[start + len("```toml\n") : readme.index("```", start + 3)]
    append(flows_dir, "calendar.toml", block)
    copied = flows.load(flows_dir).working_days
    assert copied.source(2026) == "flows"
    library = WorkingDays()
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert copied.is_working_day(day) == library.is_working_day(day), day
        day += timedelta(days=1)


def test_the_quota_period_waiting_period_and_launch_date_are_read_from_data(flows_dir):
    edit(
        flows_dir,
        "programme.toml",
        'quota_period = "calendar_year"',
        'quota_period = "service_year"',
    )
    edit(flows_dir, "programme.toml", "waiting_period_days = 30", "waiting_period_days = 15")
    edit(flows_dir, "programme.toml", 'launch_date = "2024-01-01"', "launch_date = 2024-07-01")
    programme = flows.load(flows_dir).programme
    assert programme.quota_period is QuotaPeriod.SERVICE_YEAR
    assert programme.waiting_period_days == 15
    assert programme.launch_date == date(2024, 7, 1)


def test_a_service_can_be_made_exempt_from_the_waiting_period(flows_dir):
    edit(
        flows_dir,
        "services.toml",
        'code = "online_consult"\n',
        'code = "online_consult"\nwaiting_period_exempt = true\n',
    )
    programme = flows.load(flows_dir).programme
    assert programme.service("online_consult").waiting_period_exempt
    assert not programme.service("health_e_station").waiting_period_exempt


# -- bad values ----------------------------------------------------------------------------

BAD = [
    # programme.toml
    (
        "programme.toml",
        'launch_date = "2024-01-01"',
        'launch_date = "2024-13-01"',
        "programme.toml: launch_date: must be a date",
    ),
    (
        "programme.toml",
        'launch_date = "2024-01-01"',
        "launch_date = 2024-01-01T08:00:00",
        "programme.toml: launch_date: must be a date",
    ),
    (
        "programme.toml",
        'launch_date = "2024-01-01"\n',
        "",
        "programme.toml: launch_date: is required",
    ),
    (
        "programme.toml",
        'launch_date = "2024-01-01"',
        'launch_day = "2024-01-01"',
        "programme.toml: launch_day: unknown key",
    ),
    (
        "programme.toml",
        'quota_period = "calendar_year"',
        'quota_period = "monthly"',
        "programme.toml: quota_period: must be one of: calendar_year, service_year",
    ),
    (
        "programme.toml",
        "waiting_period_days = 30",
        "waiting_period_days = -1",
        "programme.toml: waiting_period_days: must be a whole number ≥ 0",
    ),
    (
        "programme.toml",
        "waiting_period_days = 30",
        "waiting_period_days = 30.5",
        "programme.toml: waiting_period_days: must be a whole number",
    ),
    (
        "programme.toml",
        "waiting_period_days = 30",
        "waiting_period_days = true",
        "programme.toml: waiting_period_days: must be a whole number",
    ),
    (
        "programme.toml",
        '  "国宝人寿真爱你重大疾病保险",',
        '  "",',
        "programme.toml: products: must be a list of non-empty strings",
    ),
    (
        "programme.toml",
        "min_sum_insured = 1\n",
        "min_sum_insured = 0\n",
        "programme.toml: tiers[0].min_sum_insured: must be a whole number ≥ 1",
    ),
    (
        "programme.toml",
        "min_sum_insured = 300000",
        "min_sum_insured = 700000",
        "programme.toml: tiers: min_sum_insured must increase",
    ),
    (
        "programme.toml",
        'code = "zunxiang"',
        'code = "anxin"',
        "programme.toml: tiers: tier codes must be unique",
    ),
    (
        "programme.toml",
        'name = "安心档"',
        'name = ""',
        "programme.toml: tiers[0].name: must be a non-empty string",
    ),
    # services.toml
    (
        "services.toml",
        "quota = { zunxiang = 3, haohua = 5 }",
        "quota = { zunxiang = -3, haohua = 5 }",
        'services.toml: services[6].quota.zunxiang: must be "unlimited" or a whole number ≥ 0',
    ),
    (
        "services.toml",
        "quota = { zunxiang = 3, haohua = 5 }",
        'quota = { zunxiang = "lots", haohua = 5 }',
        'services.toml: services[6].quota.zunxiang: must be "unlimited" or a whole number',
    ),
    (
        "services.toml",
        "quota = { haohua = 1 }\ndesignate = {}\nusage = { cancel_notice_working_days = 1,",
        "quota = { platinum = 1 }\ndesignate = {}\nusage = { cancel_notice_working_days = 1,",
        "services.toml: services[7].quota.platinum: unknown tier",
    ),
    (
        "services.toml",
        'unit = "days"',
        'unit = "hours"',
        "services.toml: services[6].unit: must be one of: times, days",
    ),
    (
        "services.toml",
        'name = "线上问诊"\ncategory = "health_care"\nunit = "times"\n'
        "requires_critical_illness = false",
        'name = "线上问诊"\ncategory = "health_care"\nunit = "times"\n'
        'requires_critical_illness = "no"',
        "services.toml: services[0].requires_critical_illness: must be true or false",
    ),
    (
        "services.toml",
        'code = "mdt"\nname = "国内MDT多学科会诊"\ncategory = "care"',
        'code = "mdt"\nname = "国内MDT多学科会诊"\ncategory = "cure"',
        "services.toml: services[9].category: must be one of the [categories]",
    ),
    (
        "services.toml",
        'code = "mdt"\n',
        'code = "mdt"\ncolour = "red"\n',
        "services.toml: services[9].colour: unknown key",
    ),
    (
        "services.toml",
        'code = "care_planner"',
        'code = "mdt"',
        "services.toml: services: service codes must be unique",
    ),
    (
        "services.toml",
        'designate = { zunxiang = ["hospital"], haohua = ["hospital"] }',
        'designate = { zunxiang = ["nurse"], haohua = ["hospital"] }',
        "services.toml: services[3].designate.zunxiang: must be a list of: hospital, doctor",
    ),
    (
        "services.toml",
        'designate = { zunxiang = ["hospital"], haohua = ["hospital"] }',
        'designate = { zunxiang = ["hospital"], gold = ["hospital"] }',
        "services.toml: services[3].designate.gold: unknown tier",
    ),
    (
        "services.toml",
        "usage = { counted_when_booked = true, units_per_booking = 4 }",
        "usage = { counted_when_booked = true, units_per_booking = 4, refundable = true }",
        "services.toml: services[10].usage.refundable: unknown key",
    ),
    (
        "services.toml",
        "usage = { counted_when_booked = true, units_per_booking = 4 }",
        "usage = { counted_when_booked = true, units_per_booking = 0 }",
        "services.toml: services[10].usage.units_per_booking: must be a whole number ≥ 1",
    ),
    (
        "services.toml",
        "usage = { cancel_notice_working_days = 3, reschedules_allowed = 1,",
        "usage = { cancel_notice_working_days = -3, reschedules_allowed = 1,",
        "services.toml: services[6].usage.cancel_notice_working_days: must be a whole number ≥ 0",
    ),
    (
        "services.toml",
        'anchor = "request", hours = 1 }',
        'anchor = "request", hours = 1, working_days = 1 }',
        "services.toml: services[5].deadlines[0]: give exactly one of working_days or hours",
    ),
    (
        "services.toml",
        'anchor = "request", hours = 1 }',
        'anchor = "whenever", hours = 1 }',
        "services.toml: services[5].deadlines[0].anchor: must be one of: request,",
    ),
    (
        "services.toml",
        'met_by = "contacted", anchor = "request", hours = 1 }',
        'met_by = "phoned", anchor = "request", hours = 1 }',
        "services.toml: services[5].deadlines[0].met_by: must be one of: requested,",
    ),
    (
        "services.toml",
        'care = "关怀服务"',
        'care = ""',
        "services.toml: categories.care: must be a non-empty string",
    ),
    # lines.toml
    (
        "lines.toml",
        'hours = [{ days = "daily", open = "08:00", close = "22:00" }]',
        'hours = [{ days = "daily", open = "8am", close = "22:00" }]',
        "lines.toml: lines.medical.hours[0].open: must be a time of day",
    ),
    (
        "lines.toml",
        'hours = [{ days = "daily", open = "08:00", close = "22:00" }]',
        'hours = [{ days = "daily", open = "08:00", close = "25:00" }]',
        "lines.toml: lines.medical.hours[0].close: must be a time of day",
    ),
    (
        "lines.toml",
        'hours = [{ days = "daily", open = "08:00", close = "22:00" }]',
        'hours = [{ days = "daily", open = "08:00", close = "08:00" }]',
        "lines.toml: lines.medical.hours[0].close: must be later than open",
    ),
    (
        "lines.toml",
        'hours = [{ days = "daily", open = "08:00", close = "22:00" }]',
        'hours = [{ days = ["monday"], open = "08:00", close = "22:00" }]',
        'lines.toml: lines.medical.hours[0].days: must be "daily" or a list of: mon,',
    ),
    (
        "lines.toml",
        'queue = "medical"\nhours = [{ days = "daily", open = "08:00", close = "22:00" }]\n'
        "closures = []",
        'queue = "medical"\nhours = [{ days = "daily", open = "08:00", close = "22:00" }]\n'
        'closures = "2026-02-16"',
        "lines.toml: lines.medical.closures: must be a list of dates",
    ),
    (
        "lines.toml",
        'queue = "medical"\nhours = [{ days = "daily", open = "08:00", close = "22:00" }]\n'
        "closures = []",
        'queue = "medical"\nhours = [{ days = "daily", open = "08:00", close = "22:00" }]\n'
        'closures = ["2026-02-16", "2026-02-30"]',
        "lines.toml: lines.medical.closures[1]: must be a date",
    ),
    (
        "lines.toml",
        'close = "22:00" }]\nclosures = []\nspecial = []',
        'close = "22:00" }]\nclosures = []\n'
        'special = [{ date = "tomorrow", open = "10:00", close = "16:00" }]',
        "lines.toml: lines.medical.special[0].date: must be a date",
    ),
    (
        "lines.toml",
        'queue = "policy"',
        'queue = "' + "q" * 65 + '"',
        "lines.toml: lines.policy.queue: a Twilio queue name has at most 64 characters",
    ),
    (
        "lines.toml",
        'name = "国宝人寿客户服务"\n',
        "",
        "lines.toml: lines.policy.name: is required",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "message"), BAD, ids=[f"{b[0]}:{b[3].split(': ')[1]}" for b in BAD]
)
def test_a_bad_value_is_refused_naming_the_file_and_the_key(flows_dir, name, old, new, message):
    edit(flows_dir, name, old, new)
    with pytest.raises(FlowError) as caught:
        flows.load(flows_dir)
    assert str(caught.value).startswith(message), str(caught.value)


BAD_CALENDAR = [
    ('[years.abc]\nholidays = ["2099-01-01"]', "calendar.toml: years.abc: must be a table"),
    (
        '[years.2099]\nholidays = ["2098-12-31"]',
        "calendar.toml: years.2099.holidays: every date must be in 2099",
    ),
    ('[years.2099]\nholidays = "2099-01-01"', "calendar.toml: years.2099.holidays: must be a list"),
    (
        '[years.2099]\nworkdays = ["2099-02-30"]',
        "calendar.toml: years.2099.workdays[0]: must be a date",
    ),
    ("[years.2099]\nrest_days = []", "calendar.toml: years.2099.rest_days: unknown key"),
    ("[years.2099]\nworkdays = []", "calendar.toml: years.2099.holidays: must list the year's"),
    (
        '[years.2099]\nholidays = ["2099-01-01"]\nworkdays = ["2099-01-05"]',
        "calendar.toml: years.2099.workdays: 2099-01-05 is a weekday",
    ),
    (
        '[years.2099]\nholidays = ["2099-01-01..2099-01-04"]\nworkdays = ["2099-01-04"]',
        "calendar.toml: years.2099.workdays: 2099-01-04 is also listed as a holiday",
    ),
    (
        '[years.2099]\nholidays = ["2099-01-03..2099-01-01"]',
        "calendar.toml: years.2099.holidays[0]: 2099-01-03..2099-01-01: the range ends before",
    ),
    (
        '[years.2099]\nholidays = ["2099-12-31..2100-01-01"]',
        "calendar.toml: years.2099.holidays: every date must be in 2099",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CALENDAR)
def test_a_bad_calendar_year_is_refused_naming_the_file_and_the_key(flows_dir, text, message):
    append(flows_dir, "calendar.toml", text)
    with pytest.raises(FlowError) as caught:
        flows.load(flows_dir)
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize("name", ["programme.toml", "services.toml", "lines.toml", "calendar.toml"])
def test_a_file_that_is_not_toml_is_refused_by_name(flows_dir, name):
    append(flows_dir, name, "this is = = not toml")
    with pytest.raises(FlowError, match=f"^{name}: not valid TOML"):
        flows.load(flows_dir)


@pytest.mark.parametrize("name", ["programme.toml", "services.toml", "lines.toml", "calendar.toml"])
def test_a_missing_file_is_refused_by_name(flows_dir, name):
    (flows_dir / name).unlink()
    with pytest.raises(FlowError, match=f"^{name}: missing from"):
        flows.load(flows_dir)


def test_a_flow_error_is_a_value_error():
    assert issubclass(FlowError, ValueError)
