"""The agent desk and the supervisor dashboard in a real browser, against a real server.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, headless) against
gunicorn started as the Procfile starts it (``hotline.loopback``), on a
temporary SQLite database seeded through the ``hotline`` CLI, and the test Redis
when there is one, with the simulator on. Calls come from ``simulator.softphone`` over
HTTP, signed as Twilio signs them, and wait in the simulator's queues as
``hotline call``'s do, so the agent takes them with the desk's own button.
Screenshots go to ``$HOTLINE_TEST_ARTIFACTS`` (default ``tests/artifacts``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib

import flows
from hotline import demo
from hotline.loopback import LocalServer, free_port
from simulator.softphone import Exchange, HttpTransport, Softphone
from simulator.terminal import SimulatorQueues

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
PASSWORD = "browser test password"
AUTH_TOKEN = "browser-test-auth-token"
# 张伟 of the demo data (D06): phone on file ends 000606, 尊享档, policyholder of three.
ZHANG_DIGITS, ZHANG_NAME, ZHANG_TIER = "000606", "张伟", "尊享档"
TIMEOUT_MS = 15_000
# Keys of 精准诊疗's menu (SPEC §4).
OUTPATIENT_BOOKING, ESCORT = "1", "4"


@dataclass
class Hotline:
    base: str
    exchange: Exchange


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from hotline.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"hotline {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _own_env(folder: Path, secret: str, **settings: str) -> dict:
    """This process's environment without the settings a test server must choose itself,
    then a SQLite database in ``folder``, the signing ``secret`` and ``settings``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "REDIS_", "DATABASE_", "PUBLIC_", "HOTLINE_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'hotline.sqlite3'}", SECRET_KEY=secret, **settings
    )
    return env


def _demo_feed(folder: Path, flows_dir: str) -> Path:
    """The demo's feed for today, by the programme of ``flows_dir``, written in ``folder``."""
    programme = flows.load(flows_dir).programme
    feed = folder / "demo-feed.json"
    doc = demo.feed_for(date.today(), programme.launch_date)
    feed.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return feed


def _add_accounts(env: dict, accounts) -> None:
    """``(username, role)`` accounts serving the medical queue, all with PASSWORD."""
    for username, role in accounts:
        _cli(
            env,
            "agent",
            "add",
            username,
            "--role",
            role,
            "--queues",
            "medical",
            "--password",
            PASSWORD,
        )


def _always_open_flows(folder: Path) -> Path:
    """The shipped flows with both lines open round the clock, so the test runs at any hour."""
    shutil.copytree(flows.DEFAULT_DIRECTORY, folder, ignore=shutil.ignore_patterns("*.py", "__*"))
    lines = folder / "lines.toml"
    text = lines.read_text(encoding="utf-8")
    for hours in ('open = "08:00", close = "22:00"', 'open = "09:00", close = "17:30"'):
        assert hours in text, f"lines.toml no longer has {hours}"
        text = text.replace(hours, 'open = "00:00", close = "24:00"')
    lines.write_text(text, encoding="utf-8")
    # A caller who hangs up within a minute is a short abandon, however slow the machine.
    reports = folder / "reports.toml"
    text = reports.read_text(encoding="utf-8")
    assert "short_abandon_seconds = 5" in text, "reports.toml no longer has short_abandon_seconds"
    reports.write_text(text.replace("short_abandon_seconds = 5", "short_abandon_seconds = 60"))
    return folder


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def hotline(tmp_path_factory, redis_url):
    """gunicorn on a free loopback port with the demo people, an agent and a supervisor."""
    folder = tmp_path_factory.mktemp("browser")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _own_env(
        folder,
        "browser-test-secret",
        # Signatures only: without an account SID nothing is sent to Twilio's REST API.
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=base,
        SUPERVISOR_REFRESH_SECONDS="0.5",
        HOTLINE_SIMULATOR="1",
        HOTLINE_FLOWS_DIR=str(_always_open_flows(folder / "flows")),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
        redis_lib.Redis.from_url(redis_url).flushdb()

    feed = _demo_feed(folder, env["HOTLINE_FLOWS_DIR"])
    _cli(env, "import", str(feed))
    _add_accounts(
        env, (("ann", "agent"), ("boss", "supervisor"), ("cat", "agent"), ("dan", "agent"))
    )

    server = LocalServer(env, ARTIFACTS / "browser-server.log", port=port)
    try:
        status, body = server.wait_ready("/agent/signin")
        assert status == 200, body[:300]
        exchange = Exchange(HttpTransport(base), AUTH_TOKEN, base_url=base)
        exchange.queues = SimulatorQueues(exchange)
        yield Hotline(base, exchange)
    finally:
        server.stop(quick=True)
        if redis_url:
            redis_lib.Redis.from_url(redis_url).flushdb()


def _page(browser, base: str):
    # The agents' screens: 1366×768 is the smallest the desk is laid out for. The browser's
    # zone is not the hotline's, so that a time shown in the browser's zone would show.
    context = browser.new_context(
        base_url=base,
        locale="zh-CN",
        timezone_id="America/Los_Angeles",
        viewport={"width": 1366, "height": 768},
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _sign_in(page, username: str, lands_on: str) -> None:
    page.goto("/agent/signin")
    page.get_by_test_id("signin-username").fill(username)
    page.get_by_test_id("signin-password").fill(PASSWORD)
    page.get_by_test_id("signin-submit").click()
    page.wait_for_url(f"**{lands_on}")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen.png"))


def _fits_the_width(page) -> None:
    """Nothing wider than the window, and no table wider than its card."""
    overflow = page.evaluate(
        """() => {
          const wide = document.documentElement.scrollWidth - window.innerWidth;
          const right = el => el.getBoundingClientRect().right;
          const tables = [...document.querySelectorAll('.panel table')]
            .filter(t => right(t) > right(t.closest('.panel')) + 1)
            .map(t => t.id || t.closest('.panel').id);
          return {wide, tables};
        }"""
    )
    assert overflow == {"wide": 0, "tables": []}, overflow


def _call_zhang_wei(exchange: Exchange, caller: str, service_key: str) -> Softphone:
    """张伟 phones, proves who he is, chooses himself and a 精准诊疗 service: he waits."""
    phone = exchange.call(caller).dial()
    phone.press(ZHANG_DIGITS).say(ZHANG_NAME)
    phone.press("1")  # for himself (the first of his insured people)
    phone.press("2").press(service_key)
    assert phone.in_queue and phone.queue == "medical", phone.heard
    return phone


def test_a_call_pops_on_the_desk_becomes_a_case_and_moves_the_supervisors_numbers(browser, hotline):
    from playwright.sync_api import expect

    agent = _page(browser, hotline.base)
    _sign_in(agent, "ann", "/agent/")
    expect(agent.get_by_test_id("stream-state")).to_have_attribute("data-state", "open")
    with agent.expect_response(lambda r: r.url.endswith("/agent/status")) as saved:
        agent.get_by_test_id("status-select").select_option("available")
    assert saved.value.ok

    boss = _page(browser, hotline.base)
    _sign_in(boss, "boss", "/supervisor/")
    expect(boss.get_by_test_id("stream-state")).to_have_attribute("data-state", "open")
    medical = boss.locator('[data-testid="queue-row"][data-queue="medical"]')

    def figure(name: str):
        return medical.locator(f'[data-field="{name}"]')

    expect(figure("offered")).to_have_text("0")
    expect(boss.locator('[data-testid="agent-row"][data-username="ann"]')).to_have_attribute(
        "data-status", "available"
    )

    # The first call waits; the dashboard shows it without a reload.
    first = _call_zhang_wei(hotline.exchange, "+8613900000606", OUTPATIENT_BOOKING)
    expect(figure("waiting")).to_have_text("1")
    expect(figure("offered")).to_have_text("1")
    _shot(boss, "supervisor-1-caller-waiting")

    # Ann takes it with the desk's button (the simulator dials /ivr/agent for her browser
    # phone and Twilio's <Queue url> webhook follows): the screen-pop fills itself.
    agent.get_by_test_id("take-next").click()
    pop = agent.get_by_test_id("screen-pop")
    expect(pop).to_have_attribute("data-state", "active")
    expect(agent.get_by_test_id("sp-tier")).to_contain_text(ZHANG_TIER)
    expect(agent.get_by_test_id("sp-policyholder-name")).to_have_text("张*")
    expect(agent.get_by_test_id("sp-insured-id")).to_have_text("D06")
    # Deadlines that start later say from which step, in words, not as a code.
    expect(agent.get_by_test_id("sp-sla")).to_contain_text("资料齐全")
    expect(agent.get_by_test_id("sp-sla")).not_to_contain_text("materials_complete")
    _shot(agent, "desk-1-screen-pop")

    expect(figure("answered")).to_have_text("1")
    expect(figure("waiting")).to_have_text("0")
    expect(boss.locator('[data-testid="agent-row"][data-username="ann"]')).to_have_attribute(
        "data-status", "on_call"
    )
    expect(agent.get_by_test_id("status-select")).to_have_value("on_call")

    # The request form is filled from the call; the agent confirms and submits it.
    expect(agent.get_by_test_id("case-insured-id")).to_have_value("D06")
    expect(agent.get_by_test_id("case-service")).to_have_value("outpatient_booking")
    agent.get_by_test_id("case-critical-illness").check()
    agent.get_by_test_id("case-submit").click()
    case = agent.get_by_test_id("case")
    expect(case).to_have_attribute("data-status", "open")
    expect(agent.get_by_test_id("case-insured")).to_contain_text("张*")
    expect(agent.get_by_test_id("flash-success")).to_contain_text("服务单 #")
    _shot(agent, "desk-2-case-recorded")

    # A second caller: waiting goes 0 → 1 live, and back to 0 as an abandon when he hangs up.
    # (His one outpatient booking of the year is now used: he asks for an escort.)
    second = _call_zhang_wei(hotline.exchange, "+8613900000607", ESCORT)
    expect(figure("waiting")).to_have_text("1")
    expect(figure("offered")).to_have_text("2")
    _shot(boss, "supervisor-2-second-caller")
    second.hang_up()
    expect(figure("waiting")).to_have_text("0")
    # He hung up within the short-abandon threshold: counted apart, not against the service
    # level, which is the one answered call, within 20 s.
    expect(figure("short_abandons")).to_have_text("1")
    expect(figure("abandoned")).to_have_text("0")
    line = boss.locator('[data-testid="line-row"][data-line="medical"]')
    expect(line.locator('[data-field="answered"]')).to_have_text("1")
    expect(line.locator('[data-field="service_level"]')).to_have_text("100%")
    expect(boss.get_by_test_id("last-updated")).to_contain_text("最后更新")
    expect(boss.get_by_test_id("last-updated")).to_have_attribute("data-stale", "no")
    # The supervisor is listed apart, never among the agents.
    expect(boss.locator('[data-testid="agent-row"][data-username="boss"]')).to_have_count(0)
    expect(boss.get_by_test_id("supervisors")).to_contain_text("boss")
    _shot(boss, "supervisor-3-after-abandon")

    # On a 1366×768 screen nothing is clipped: no panel or table is wider than its box.
    boss.set_viewport_size({"width": 1366, "height": 768})
    overflowing = boss.evaluate(
        """() => Array.from(document.querySelectorAll('.panel, .scroll'))
            .filter(box => box.scrollWidth > box.clientWidth + 1)
            .map(box => box.id || box.className)"""
    )
    assert overflowing == []
    boss.screenshot(path=str(ARTIFACTS / "supervisor-4-1366x768.png"))

    # The first call ends: Ann handled it (talk from her answer to its end).
    first.hang_up()
    ann = boss.locator('[data-testid="agent-row"][data-username="ann"]')
    expect(ann.locator('[data-field="handled_today"]')).to_have_text("1")

    # The reports page: today by the half hour, the same numbers, and the CSV behind them.
    boss.get_by_test_id("nav-reports-board").click()
    boss.wait_for_url("**/supervisor/reports")
    total = boss.get_by_test_id("report-total-row")
    expect(total.locator('[data-field="offered"]')).to_have_text("2")
    expect(total.locator('[data-field="answered"]')).to_have_text("1")
    expect(total.locator('[data-field="short_abandons"]')).to_have_text("1")
    expect(total.locator('[data-field="service_level"]')).to_have_text("100%")
    expect(
        boss.get_by_test_id("chart-volume").locator("svg rect[data-series='offered']")
    ).to_have_count(48)
    expect(boss.get_by_test_id("chart-service-level").locator("svg circle")).to_have_count(1)
    report_ann = boss.locator('[data-testid="report-agent-row"][data-username="ann"]')
    expect(report_ann.locator('[data-field="handled"]')).to_have_text("1")
    assert boss.evaluate("() => document.documentElement.scrollWidth") <= 1366
    _shot(boss, "reports-1-today")
    with boss.expect_download() as downloaded:
        boss.get_by_test_id("csv-days").click()
    rows = Path(downloaded.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("queue,day,offered,answered,answered_within_sl,abandoned,")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the server's HOTLINE_TZ
    assert rows[1].startswith(f"medical,{today.isoformat()},2,1,1,0,1,")


def _available(page) -> None:
    expect = _expect()
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "open")
    since = page.get_by_test_id("status-since")
    before = since.get_attribute("datetime")
    with page.expect_response(lambda r: r.url.endswith("/agent/status")) as saved:
        page.get_by_test_id("status-select").select_option("available")
    assert saved.value.ok
    # Since when, in the hotline's zone (HOTLINE_TZ), whatever the browser's: once the desk
    # has shown the new state (the time and its text are written together).
    began = saved.value.json()["since"]
    assert began and began != before
    expect(since).to_have_attribute("datetime", began)
    moment = datetime.fromisoformat(began).astimezone(ZoneInfo("Asia/Shanghai"))
    expect(since).to_have_text(moment.strftime("%H:%M:%S"))


def _ready_now(page) -> None:
    """The agent ends the wrap-up early with the desk's 准备就绪."""
    _expect()(page.get_by_test_id("phone-wrap-up")).to_be_visible()
    page.get_by_test_id("wrap-up-end").click()


def _expect():
    from playwright.sync_api import expect

    return expect


def test_an_unverified_caller_is_found_by_pinyin_or_phone_and_the_request_is_theirs(
    browser, hotline
):
    expect = _expect()
    agent = _page(browser, hotline.base)
    _sign_in(agent, "cat", "/agent/")
    _available(agent)

    # 张伟 rings and is verified: the form is his, for the service he chose.
    verified = _call_zhang_wei(hotline.exchange, "+8613900000606", ESCORT)
    agent.get_by_test_id("take-next").click()
    expect(agent.get_by_test_id("sp-verified")).to_have_attribute("data-verified", "yes")
    expect(agent.get_by_test_id("case-insured-id")).to_have_value("D06")
    expect(agent.get_by_test_id("case-service")).to_have_value("escort")
    expect(agent.get_by_test_id("case-person")).to_contain_text("张*")
    agent.get_by_test_id("case-hospital").fill("华西医院")
    # Codes and machine formats are words and readable figures.
    pop = agent.get_by_test_id("screen-pop")
    expect(agent.get_by_test_id("sp-line")).to_have_text("重疾管家医疗支持服务")
    expect(agent.get_by_test_id("sp-service")).to_have_text("就医陪诊")
    expect(agent.get_by_test_id("eligibility-summary")).to_contain_text(" 元")
    expect(agent.get_by_test_id("eligibility-services")).not_to_contain_text("hospital")
    expect(pop).not_to_contain_text("escort")
    # Times read in the hotline's zone whatever the browser's; wall-clock ones as they are.
    year = date.today().year
    shown = agent.evaluate(
        f"""() => [hotlineFormat.when('{year}-12-06T15:06:00'),
                   hotlineFormat.when('{year}-12-06T07:06:00+00:00'),
                   hotlineFormat.when('{year - 1}-12-06T15:06:00+08:00'),
                   hotlineFormat.amount(1000000)]"""
    )
    assert shown == ["12月6日 15:06", "12月6日 15:06", f"{year - 1}年12月6日 15:06", "1,000,000 元"]
    _fits_the_width(agent)
    _shot(agent, "desk-3-verified-pop")

    # He hangs up; the agent ends the wrap-up early (SPEC §6) to take the next caller.
    verified.hang_up()
    expect(agent.get_by_test_id("status-select")).to_have_value("wrap_up")
    _ready_now(agent)
    expect(agent.get_by_test_id("status-select")).to_have_value("available")

    # The same phone rings again, and the caller presses 0: nobody is verified. The form
    # forgets the last caller (no insured id, no service, no hospital) and waits for a search.
    unverified = hotline.exchange.call("+8613900000606").dial().press("0")
    assert unverified.in_queue, unverified.heard
    agent.get_by_test_id("take-next").click()
    expect(agent.get_by_test_id("sp-verified")).to_have_attribute("data-verified", "no")
    expect(agent.get_by_test_id("case-insured-id")).to_have_value("")
    expect(agent.get_by_test_id("case-service")).to_have_value("")
    expect(agent.get_by_test_id("case-hospital")).to_have_value("")
    expect(agent.get_by_test_id("case-person")).to_have_attribute("data-person", "")
    expect(agent.get_by_test_id("case-submit")).to_be_disabled()
    expect(agent.get_by_test_id("customer-q")).to_be_focused()
    expect(agent.get_by_test_id("eligibility-services").locator("tbody tr")).to_have_count(0)
    _shot(agent, "desk-4-unverified-pop")

    # He says his name: pinyin finds him, and 章伟 who sounds the same.
    agent.get_by_test_id("customer-q").fill("zhang wei")
    agent.get_by_test_id("customer-submit").click()
    results = agent.get_by_test_id("customer-result")
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_have_attribute("data-person", "D06")
    expect(results.nth(1)).to_have_attribute("data-person", "D11")
    expect(agent.get_by_test_id("customer-results")).not_to_contain_text("张伟")
    _fits_the_width(agent)
    _shot(agent, "desk-5-search-by-pinyin")

    # Which one? The last six digits of his number tell them apart.
    agent.get_by_test_id("customer-q").fill("000606")
    agent.get_by_test_id("customer-submit").click()
    expect(results).to_have_count(1)
    expect(results.nth(0)).to_contain_text("139****0606")
    results.nth(0).get_by_test_id("customer-choose").click()
    expect(agent.get_by_test_id("case-insured-id")).to_have_value("D06")
    expect(agent.get_by_test_id("case-person")).to_contain_text("张*（D06）")
    expect(agent.get_by_test_id("case-submit")).to_be_enabled()
    expect(agent.get_by_test_id("eligibility-summary")).to_contain_text("尊享档")

    # His history: this call and the one before, newest first, who took them and how.
    calls = agent.get_by_test_id("history-call")
    expect(calls).to_have_count(4)  # the two of the first test too
    expect(calls.nth(0)).to_have_attribute("data-call-sid", unverified.call_sid)
    expect(calls.nth(0).locator('[data-field="verified"]')).to_have_text("未验证")
    expect(calls.nth(0).locator('[data-field="agent"]')).to_have_text("cat")
    expect(calls.nth(0).locator('[data-field="outcome"]')).to_have_text("通话中")
    expect(calls.nth(1).locator('[data-field="verified"]')).to_have_text("已验证")
    # The one before ended (he hung up before this call): answered, over.
    # (and its talk time, if it lasted a second or more)
    expect(calls.nth(1).locator('[data-field="outcome"]')).to_have_text(
        re.compile(r"^已接通( · \d+ 秒)?$")
    )
    expect(agent.get_by_test_id("history-case")).to_have_count(1)  # ann's outpatient booking
    expect(agent.get_by_test_id("history")).not_to_contain_text("T")  # no ISO timestamps
    _fits_the_width(agent)
    _shot(agent, "desk-6-found-with-history")

    # The request is recorded on the person on screen.
    agent.get_by_test_id("case-service").select_option("escort")
    agent.get_by_test_id("case-critical-illness").check()
    agent.get_by_test_id("case-submit").click()
    case = agent.get_by_test_id("case")
    expect(case).to_have_attribute("data-status", "open")
    expect(agent.get_by_test_id("case-insured")).to_contain_text("D06")
    expect(agent.get_by_test_id("case-status")).to_contain_text("办理中")
    expect(agent.get_by_test_id("case-detail")).to_contain_text(unverified.call_sid)
    expect(case).not_to_contain_text("on_track")
    _fits_the_width(agent)
    _shot(agent, "desk-7-case-page")


def test_signing_out_ends_the_session_on_every_desk_of_the_account(browser, hotline):
    expect = _expect()
    first = _page(browser, hotline.base)
    second = _page(browser, hotline.base)
    _sign_in(first, "dan", "/agent/")
    _sign_in(second, "dan", "/agent/")
    expect(second.get_by_test_id("stream-state")).to_have_attribute("data-state", "open")

    first.get_by_test_id("signout").click()
    first.wait_for_url("**/agent/signin")
    # The other desk's stream hears it within seconds and goes to the sign-in form.
    second.wait_for_url("**/agent/signin**")
    expect(second.get_by_test_id("signin-form")).to_be_visible()
    second.goto("/agent/")
    second.wait_for_url("**/agent/signin**")
    assert second.request.get(f"{hotline.base}/api/people?q=D06").status == 401
    _shot(second, "desk-8-signed-out")
