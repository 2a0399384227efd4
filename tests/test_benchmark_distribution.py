"""The IVR benchmark's stand-in for Twilio's queues while the distribution runs beside it."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

from benchmarks.distribution_load import ACCOUNT_SID, Distribution
from simulator.softphone import Softphone


def ask(stand_in: Distribution, method: str, path: str, form: dict | None = None):
    body = urlencode(form or {}).encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": f"/2010-04-01/Accounts/{ACCOUNT_SID}{path}",
        "wsgi.input": io.BytesIO(body),
    }
    answered = {}

    def start_response(status, headers):
        answered["status"] = int(status.split()[0])

    document = json.loads(b"".join(stand_in.rest(environ, start_response)))
    return answered["status"], document


def test_the_queues_and_their_members_are_the_load_generators_own():
    stand_in = Distribution(agents=2, auth_token="token", base_url="https://example.com")
    phone = Softphone(stand_in.exchange, "+8613900000001", call_sid="CA" + "1" * 32)
    stand_in.queues.join("medical", phone)
    status, queues = ask(stand_in, "GET", "/Queues.json")
    assert status == 200
    assert [q["friendly_name"] for q in queues["queues"]] == ["medical"]
    sid = queues["queues"][0]["sid"]
    status, members = ask(stand_in, "GET", f"/Queues/{sid}/Members.json")
    assert [m["call_sid"] for m in members["queue_members"]] == [phone.call_sid]


def test_moving_a_caller_is_refused_as_for_a_caller_who_just_hung_up():
    stand_in = Distribution(agents=2, auth_token="token", base_url="https://example.com")
    phone = Softphone(stand_in.exchange, "+8613900000001", call_sid="CA" + "2" * 32)
    stand_in.queues.join("medical", phone)
    _, queues = ask(stand_in, "GET", "/Queues.json")
    sid = queues["queues"][0]["sid"]
    status, error = ask(
        stand_in, "POST", f"/Queues/{sid}/Members/{phone.call_sid}.json", {"Url": "https://x/y"}
    )
    assert (status, error["code"]) == (400, 21218)
    assert stand_in.moves_refused == 1
    assert stand_in.queues.members("medical") == [phone.call_sid]  # still waiting
