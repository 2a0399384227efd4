"""An agent's shift in a real browser, as ``hotline serve --demo`` runs it (SPEC §6).

gunicorn as the Procfile starts it, with the simulator as Twilio: ``TWILIO_API_BASE_URL``
is the server itself, so the distribution (the web process's loop: no ``REDIS_URL``, as
the demo) asks the simulator's REST API to dequeue each caller, and the agent's
simulated browser phone rings on the desk. Nobody presses "take next": callers are
offered, agents accept and hang up from the desk, wrap-ups end by themselves, a missed
offer moves on. Callers come from ``simulator.softphone`` over HTTP, signed as Twilio's.
Screenshots at 1366×768 go to ``$HOTLINE_TEST_ARTIFACTS`` (default ``tests/artifacts``).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from test_browser_desk import (
    ARTIFACTS,
    AUTH_TOKEN,
    ESCORT,
    OUTPATIENT_BOOKING,
    _add_accounts,
    _always_open_flows,
    _call_zhang_wei,
    _cli,
    _demo_feed,
    _expect,
    _fits_the_width,
    _own_env,
    _page,
    _shot,
    _sign_in,
    browser,  # noqa: F401  (the module's Chromium, as a fixture here too)
)

from hotline.loopback import LocalServer, free_port
from simulator.softphone import Exchange, HttpTransport
from simulator.terminal import SimulatorQueues

pytestmark = pytest.mark.browser

ACCOUNT_SID = "AC" + "de" * 16
VENDORED_SDK = Path(__file__).resolve().parents[1] / "agent_assist/static/vendor/twilio-voice-sdk"
# Short enough for a test, long enough to see: the offer rings, the wrap-up counts down.
OFFER_SECONDS, WRAP_UP_SECONDS = 6, 6


def _quick_shift(folder):
    """The flows of the browser tests, with a short ring, wrap-up and sweep."""
    call_flow = folder / "call_flow.toml"
    text = call_flow.read_text(encoding="utf-8")
    for old, new in (
        ("offer_seconds = 15", f"offer_seconds = {OFFER_SECONDS}"),
        ("wrap_up_seconds = 30", f"wrap_up_seconds = {WRAP_UP_SECONDS}"),
        ("sweep_seconds = 5", "sweep_seconds = 1"),
    ):
        assert old in text, f"call_flow.toml no longer has {old}"
        text = text.replace(old, new)
    call_flow.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo's settings: no Redis, the simulator as Twilio at the server's own origin."""
    folder = tmp_path_factory.mktemp("shift")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _own_env(
        folder,
        "browser-shift-secret",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE_URL=base,
        TWILIO_CALLER_ID="+861058001234",
        PUBLIC_BASE_URL=base,
        SUPERVISOR_REFRESH_SECONDS="0.5",
        HOTLINE_SIMULATOR="1",
        HOTLINE_FLOWS_DIR=str(_quick_shift(_always_open_flows(folder / "flows"))),
    )
    feed = _demo_feed(folder, env["HOTLINE_FLOWS_DIR"])
    _cli(env, "import", str(feed))
    _add_accounts(env, (("ann", "agent"), ("bob", "agent"), ("boss", "supervisor")))

    server = LocalServer(env, ARTIFACTS / "browser-shift-server.log", port=port)
    try:
        status, body = server.wait_ready("/agent/signin")
        assert status == 200, body[:300]
        exchange = Exchange(HttpTransport(base), AUTH_TOKEN, base_url=base)
        exchange.account_sid = ACCOUNT_SID
        exchange.queues = SimulatorQueues(exchange)
        yield base, exchange
    finally:
        server.stop(quick=True)


def _go_available(page) -> None:
    expect = _expect()
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "open")
    with page.expect_response(lambda r: r.url.endswith("/agent/status")) as saved:
        page.get_by_test_id("status-select").select_option("available")
    assert saved.value.ok
    expect(page.get_by_test_id("status-select")).to_have_value("available")


def test_a_shift_calls_are_offered_answered_wrapped_up_and_a_missed_one_moves_on(
    browser,  # noqa: F811
    demo_server,
):
    expect = _expect()
    base, exchange = demo_server
    ann, bob, boss = _page(browser, base), _page(browser, base), _page(browser, base)
    _sign_in(ann, "ann", "/agent/")
    _sign_in(bob, "bob", "/agent/")
    _sign_in(boss, "boss", "/supervisor/")
    expect(ann.get_by_test_id("phone")).to_have_attribute("data-mode", "simulator")
    _go_available(ann)  # ann first: she has waited longest when the first call comes
    _go_available(bob)

    def board(username: str):
        return boss.locator(f'[data-testid="agent-row"][data-username="{username}"]')

    expect(board("ann")).to_have_attribute("data-status", "available")
    expect(board("bob")).to_have_attribute("data-status", "available")

    # 张伟 calls and waits: offered to ann at once, nobody presses anything.
    first = _call_zhang_wei(exchange, "+8613900000606", OUTPATIENT_BOOKING)
    phone = ann.get_by_test_id("phone")
    expect(phone).to_have_attribute("data-state", "ringing")
    expect(ann.get_by_test_id("phone-caller")).to_have_text("139****0606")
    expect(ann.get_by_test_id("screen-pop")).to_have_attribute("data-state", "active")
    expect(ann.get_by_test_id("sp-call-sid")).to_have_text(first.call_sid)
    expect(ann.get_by_test_id("status-select")).to_have_value("offered")
    expect(board("ann")).to_have_attribute("data-status", "offered")
    expect(bob.get_by_test_id("phone")).to_have_attribute("data-state", "idle")
    _fits_the_width(ann)
    _shot(ann, "shift-1-ringing")

    ann.get_by_test_id("phone-accept").click()
    expect(phone).to_have_attribute("data-state", "on_call")
    expect(ann.get_by_test_id("status-select")).to_have_value("on_call")
    expect(board("ann")).to_have_attribute("data-status", "on_call")
    expect(ann.get_by_test_id("phone-timer")).to_have_text(re.compile(r"00:0[1-9]"))
    expect(ann.get_by_test_id("case-insured-id")).to_have_value("D06")
    ann.get_by_test_id("phone-mute").click()
    expect(ann.get_by_test_id("phone-mute")).to_have_attribute("aria-pressed", "true")
    _fits_the_width(ann)
    _shot(ann, "shift-2-on-call")
    _shot(boss, "shift-board-1-ann-on-call")

    # Ann hangs up from the desk: the caller hears goodbye; she wraps up, counted down.
    ann.get_by_test_id("phone-hangup").click()
    expect(phone).to_have_attribute("data-state", "wrap_up")
    expect(ann.get_by_test_id("status-select")).to_have_value("wrap_up")
    expect(board("ann")).to_have_attribute("data-status", "wrap_up")
    # The request form is still the call's: the wrap-up is where she finishes it.
    expect(ann.get_by_test_id("case-insured-id")).to_have_value("D06")
    left = int(ann.get_by_test_id("wrap-up-left").inner_text())
    assert 0 < left <= WRAP_UP_SECONDS
    _shot(ann, "shift-3-wrap-up")
    state = exchange.queues.state(first)
    assert state["state"] == "ended" and state["heard"], state

    # The wrap-up ends by itself: available again, without a click.
    expect(ann.get_by_test_id("status-select")).to_have_value("available", timeout=20_000)
    expect(phone).to_have_attribute("data-state", "idle")
    expect(board("ann")).to_have_attribute("data-status", "available")
    # The call's work is over: the request form starts clean for the next caller.
    expect(ann.get_by_test_id("case-insured-id")).to_have_value("")
    expect(ann.get_by_test_id("case-person")).to_have_attribute("data-person", "")

    # The next caller goes to bob (available longest now); his phone rings out unanswered.
    second = _call_zhang_wei(exchange, "+8613900000607", ESCORT)
    expect(bob.get_by_test_id("phone")).to_have_attribute("data-state", "ringing")
    expect(board("bob")).to_have_attribute("data-status", "offered")
    _shot(bob, "shift-4-bob-ringing")
    # ...and moves to ann, while bob goes on a break for the missed call.
    expect(phone).to_have_attribute("data-state", "ringing", timeout=OFFER_SECONDS * 1000 + 10_000)
    expect(ann.get_by_test_id("sp-call-sid")).to_have_text(second.call_sid)
    expect(bob.get_by_test_id("status-select")).to_have_value("break")
    expect(bob.get_by_test_id("status-reason")).to_contain_text("未接")
    expect(board("bob")).to_have_attribute("data-status", "break")
    expect(board("bob").locator('[data-field="status"]')).to_have_text("小休 Break（未接）")
    expect(board("bob").locator('[data-field="missed_offers_today"]')).to_have_text("1")
    expect(bob.get_by_test_id("phone")).to_have_attribute("data-state", "idle")
    _shot(bob, "shift-5-bob-missed")

    ann.get_by_test_id("phone-accept").click()
    expect(phone).to_have_attribute("data-state", "on_call")
    expect(board("ann")).to_have_attribute("data-status", "on_call")
    _shot(boss, "shift-board-2-ann-on-call-bob-missed")
    # This time the caller hangs up: the desk sees the call end and wraps up.
    exchange.post(exchange.url(f"/simulator/callers/{second.call_sid}/hangup"), {})
    expect(phone).to_have_attribute("data-state", "wrap_up")
    ann.get_by_test_id("wrap-up-extend").click()
    expect(ann.get_by_test_id("wrap-up-extend")).to_be_disabled()
    ann.get_by_test_id("wrap-up-end").click()
    expect(ann.get_by_test_id("status-select")).to_have_value("available")
    expect(board("ann")).to_have_attribute("data-status", "available")
    expect(board("ann").locator('[data-field="handled_today"]')).to_have_text("2")
    _shot(boss, "shift-board-3-end")


# -- with Twilio settings: the desk drives Twilio's Voice SDK -------------------------------------

# A stand-in for the Voice SDK's Device and Call with the surface phone.js uses; the test
# rings it and reads what the desk did with it (window.__sdk).
FAKE_VOICE_SDK = """
window.__sdk = {tokens: [], updated: [], registered: 0, options: null, call: null};
class FakeCall {
  constructor(from) { this.parameters = {From: from}; this.handlers = {}; this.muted = false; }
  on(event, handler) { (this.handlers[event] = this.handlers[event] || []).push(handler); }
  emit(event) { (this.handlers[event] || []).forEach(h => h()); }
  accept() { this.accepted = true; this.emit("accept"); }
  reject() { this.rejected = true; this.emit("reject"); }
  disconnect() { this.disconnected = true; this.emit("disconnect"); }
  mute(on) { this.muted = on; }
}
class FakeDevice {
  constructor(token, options) {
    window.__sdk.tokens.push(token); window.__sdk.options = options;
    window.__sdk.device = this; this.handlers = {};
  }
  on(event, handler) { this.handlers[event] = handler; }
  register() { window.__sdk.registered += 1; this.handlers.registered(); }
  updateToken(token) { window.__sdk.updated.push(token); }
  ring(from) {
    const call = new FakeCall(from);
    window.__sdk.call = call;
    this.handlers.incoming(call);
  }
  willExpire() { this.handlers.tokenWillExpire(); }
}
window.Twilio = {Device: FakeDevice};
"""


@pytest.fixture(scope="module")
def twilio_desk(tmp_path_factory):
    """The desk with Twilio's settings (the Voice SDK's token can be issued); no simulator."""
    folder = tmp_path_factory.mktemp("sdk")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _own_env(
        folder,
        "browser-sdk-secret",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_KEY="SK" + "0" * 32,
        TWILIO_API_SECRET="browser-sdk-api-secret",
        TWILIO_TWIML_APP_SID="AP" + "0" * 32,
        PUBLIC_BASE_URL=base,
    )
    _add_accounts(env, (("ann", "agent"),))
    server = LocalServer(env, ARTIFACTS / "browser-sdk-server.log", port=port)
    try:
        status, body = server.wait_ready("/agent/signin")
        assert status == 200, body[:300]
        yield base
    finally:
        server.stop(quick=True)


def test_with_twilio_the_desk_registers_the_voice_sdk_and_its_buttons_drive_the_call(
    browser,  # noqa: F811
    twilio_desk,
):
    expect = _expect()
    page = _page(browser, twilio_desk)
    # The vendored SDK's URL answers nothing here: the stand-in is the only Twilio.Device.
    page.route("**/vendor/twilio-voice-sdk/twilio.min.js", lambda route: route.fulfill(body=""))
    page.add_init_script(FAKE_VOICE_SDK)
    _sign_in(page, "ann", "/agent/")
    phone = page.get_by_test_id("phone")
    expect(phone).to_have_attribute("data-mode", "twilio")
    expect(page.get_by_test_id("phone-state")).to_contain_text("浏览器电话已就绪")
    (token,) = page.evaluate("() => window.__sdk.tokens")
    grants = _grants(token)
    assert grants["identity"] == "ann" and grants["voice"]["incoming"]["allow"] is True
    assert page.evaluate("() => window.__sdk.registered") == 1

    page.evaluate("() => window.__sdk.device.ring('+8613900000606')")
    expect(phone).to_have_attribute("data-state", "ringing")
    expect(page.get_by_test_id("phone-caller")).to_have_text("139****0606")
    _shot(page, "sdk-1-ringing")
    page.get_by_test_id("phone-accept").click()
    expect(phone).to_have_attribute("data-state", "on_call")
    assert page.evaluate("() => window.__sdk.call.accepted") is True
    page.get_by_test_id("phone-mute").click()
    assert page.evaluate("() => window.__sdk.call.muted") is True
    page.get_by_test_id("phone-hangup").click()
    expect(phone).to_have_attribute("data-state", "idle")
    assert page.evaluate("() => window.__sdk.call.disconnected") is True

    # A second call, rejected; then the token is renewed before it expires.
    page.evaluate("() => window.__sdk.device.ring('+8613900000607')")
    expect(phone).to_have_attribute("data-state", "ringing")
    page.get_by_test_id("phone-reject").click()
    expect(phone).to_have_attribute("data-state", "idle")
    assert page.evaluate("() => window.__sdk.call.rejected") is True
    page.evaluate("() => window.__sdk.device.willExpire()")
    page.wait_for_function("() => window.__sdk.updated.length === 1")
    assert _grants(page.evaluate("() => window.__sdk.updated[0]"))["identity"] == "ann"


def _grants(token: str) -> dict:
    """The grants of a Twilio access token (a JWT), read without checking its signature."""
    claims = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["grants"]


def test_the_desk_loads_the_real_vendored_voice_sdk_and_builds_its_device_without_a_script_error(
    browser,  # noqa: F811
    twilio_desk,
):
    """Twilio's own twilio.min.js, not a stand-in: the surface phone.js calls is there, the
    Device is made with the desk's token, and (Twilio being out of reach here) the desk says
    the phone could not register rather than failing in silence."""
    expect = _expect()
    page = _page(browser, twilio_desk)
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    _sign_in(page, "ann", "/agent/")
    expect(page.get_by_test_id("phone")).to_have_attribute("data-mode", "twilio")
    page.wait_for_function("() => window.Twilio && window.Twilio.Device")
    pin = json.loads((VENDORED_SDK / "pinned.json").read_text(encoding="utf-8"))
    assert page.evaluate("() => window.Twilio.Device.version") == pin["version"]
    surface = page.evaluate(
        """() => ["on", "register", "updateToken", "destroy"]
                 .filter(name => typeof window.Twilio.Device.prototype[name] !== "function")"""
    )
    assert surface == []
    expect(page.get_by_test_id("phone-state")).not_to_contain_text("未加载")
    # Its signalling is out of reach here (and the test's API key is not Twilio's anywhere):
    # the SDK's own error reaches the agent's screen, in words.
    expect(page.get_by_test_id("phone-result")).to_contain_text("电话错误", timeout=30_000)
    _shot(page, "sdk-2-real-sdk-unreachable")
    assert script_errors == []
