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
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

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


def _always_open_flows(folder: Path) -> Path:
    """The shipped flows with both lines open round the clock, so the test runs at any hour."""
    shutil.copytree(flows.DEFAULT_DIRECTORY, folder, ignore=shutil.ignore_patterns("*.py", "__*"))
    lines = folder / "lines.toml"
    text = lines.read_text(encoding="utf-8")
    for hours in ('open = "08:00", close = "22:00"', 'open = "09:00", close = "17:30"'):
        assert hours in text, f"lines.toml no longer has {hours}"
        text = text.replace(hours, 'open = "00:00", close = "24:00"')
    lines.write_text(text, encoding="utf-8")
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
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "REDIS_", "DATABASE_", "PUBLIC_", "HOTLINE_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'hotline.sqlite3'}",
        SECRET_KEY="browser-test-secret",
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

    programme = flows.load(env["HOTLINE_FLOWS_DIR"]).programme
    feed = folder / "demo-feed.json"
    doc = demo.feed_for(date.today(), programme.launch_date)
    feed.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _cli(env, "import", str(feed))
    for username, role in (("ann", "agent"), ("boss", "supervisor")):
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
    context = browser.new_context(
        base_url=base, locale="zh-CN", viewport={"width": 1400, "height": 1000}
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
    _call_zhang_wei(hotline.exchange, "+8613900000606", OUTPATIENT_BOOKING)
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
    expect(agent.get_by_test_id("flash-success")).to_contain_text("case #")
    _shot(agent, "desk-2-case-recorded")

    # A second caller: waiting goes 0 → 1 live, and back to 0 as an abandon when he hangs up.
    # (His one outpatient booking of the year is now used: he asks for an escort.)
    second = _call_zhang_wei(hotline.exchange, "+8613900000607", ESCORT)
    expect(figure("waiting")).to_have_text("1")
    expect(figure("offered")).to_have_text("2")
    _shot(boss, "supervisor-2-second-caller")
    second.hang_up()
    expect(figure("waiting")).to_have_text("0")
    expect(figure("abandoned")).to_have_text("1")
    line = boss.locator('[data-testid="line-row"][data-line="medical"]')
    expect(line.locator('[data-field="answered"]')).to_have_text("1")
    # One of two offered calls answered within 20 s.
    expect(line.locator('[data-field="service_level"]')).to_have_text("50%")
    _shot(boss, "supervisor-3-after-abandon")
