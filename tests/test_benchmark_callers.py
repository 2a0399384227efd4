"""The IVR benchmarks' simulated callers: planned calls that follow the real call flow."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from ivr_calls import WANG, ZHANG, at, load, message

import flows
from benchmarks import callers
from benchmarks.callers import CallScript, Holder

ZHANG_WEI = Holder(ZHANG[1], ZHANG[3])


@pytest.fixture
def family(import_feed):
    load(import_feed)


def script(**changes) -> CallScript:
    values = dict(
        caller="+8613900000001",
        holder=ZHANG_WEI,
        wrong_digits=None,
        entitlements_first=False,
        service=("2", "1"),
        waits=1,
    )
    values.update(changes)
    return CallScript(**values)


def kinds(exchange) -> list[str]:
    return [callers.kind(url, form) for url, form, _ in exchange.log]


def test_a_whole_call_with_a_wrong_try_and_entitlements_ends_queued_and_hung_up(
    family, exchange, clock
):
    at(clock, 10)
    phone = exchange.call("+8613900000002")
    planned = script(wrong_digits="999999", entitlements_first=True, waits=2)

    outcome = callers.follow(phone, planned)

    assert outcome == "queued:medical"
    assert message("not_verified") in phone.heard
    assert message("entitlements_intro") in phone.heard
    assert phone.ended
    assert kinds(exchange).count("queue wait") == 2
    # The wrong try and the right one each answer with the name.
    assert kinds(exchange).count(callers.SPOKEN_NAME) == 2
    assert kinds(exchange)[-2:] == ["queue done", "status"]
    assert exchange.log[-2][1]["QueueResult"] == "hangup"
    assert all(status == 200 for _, _, status in exchange.log)


def test_a_refused_service_goes_to_the_policy_line(family, exchange, clock):
    at(clock, 10)
    # 王芳 has used her outpatient booking (2, 1) already.
    phone = exchange.call("+8613900000003")
    outcome = callers.follow(phone, script(holder=Holder(WANG[1], WANG[3])))
    assert outcome == "queued:policy"


def test_a_call_for_an_agent_stays_in_the_queue(family, exchange, clock):
    at(clock, 10)
    phone = exchange.call("+8613900000004")
    assert callers.follow(phone, script(), stay_in_queue=True) == "queued:medical"
    assert phone.in_queue and exchange.queues["medical"] == [phone]


def test_an_sms_service_ends_without_a_queue(family, exchange, clock):
    at(clock, 10)
    phone = exchange.call("+8613900000005")
    assert callers.follow(phone, script(service=("1", "1"))) == "sms"
    assert phone.ended and "queue wait" not in kinds(exchange)


def test_an_sms_service_on_a_server_without_twilio_ends_without_a_link(
    app, family, exchange, clock
):
    at(clock, 10)
    app.config["TWILIO_ACCOUNT_SID"] = None  # as the benchmark's server runs
    phone = exchange.call("+8613900000006")
    assert callers.follow(phone, script(service=("1", "1"))) == "sms unavailable"
    assert phone.ended and "queue wait" not in kinds(exchange)


def test_planned_calls_repeat_for_a_seed_and_never_key_a_suffix_on_file():
    people = [Holder("张伟", "345678"), Holder("王芳", "001234")]
    taken = {"345678", "001234"}
    first = list(islice(callers.plan(people, taken, seed=5, wrong_share=0.5), 200))
    again = list(islice(callers.plan(people, taken, seed=5, wrong_share=0.5), 200))
    assert first == again
    wrong = [c.wrong_digits for c in first if c.wrong_digits]
    assert wrong and not taken & set(wrong)
    assert len({c.caller for c in first}) == 200


def test_the_book_of_callers_is_kept_out_of_the_collectors_full_collections(family, database_url):
    gc.unfreeze()
    try:
        people, suffixes = callers.holders(database_url)
        assert ZHANG_WEI in people and ZHANG_WEI.suffix in suffixes
        # Frozen: in no generation the collector walks, so a full collection skips the book.
        walked = gc.get_objects()
        assert not any(o is people or o is suffixes or o is people[0] for o in walked)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("hour", range(24))
def test_the_zone_chosen_has_every_line_open_for_the_next_hour(hour):
    now = datetime(2026, 11, 24, hour, 17, tzinfo=UTC)
    zone = callers.open_zone(now)
    local = now.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    assert all(line.is_open(local) for line in flows.load().lines.values())


class ClosingHandler(BaseHTTPRequestHandler):
    """Answers over HTTP/1.1, then closes the connection without saying so (as a server's
    keep-alive time-out does between two requests)."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.seen.append((self.path, body))
        answer = b"<Response/>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_the_keep_alive_transport_reconnects_when_the_server_closed_the_connection():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ClosingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transport = callers.KeepAliveTransport(f"http://127.0.0.1:{server.server_port}")
        for n in range(3):
            status, body = transport.post(
                f"{callers.PUBLIC_BASE_URL}/ivr/gather?step={n}", {"Digits": "1"}, {}
            )
            assert (status, body) == (200, "<Response/>")
    finally:
        server.shutdown()
        server.server_close()
    assert ClosingHandler.seen == [(f"/ivr/gather?step={n}", "Digits=1") for n in range(3)]
