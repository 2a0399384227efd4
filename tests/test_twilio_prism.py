"""Every REST request the hotline makes, checked against Twilio's OpenAPI description (SPEC §5).

Stoplight Prism (``prism mock -d``) serves ``tests/twilio-oai/twilio_api_v2010.yaml``
and validates each request it receives: one Twilio would refuse (a missing ``Url``, a
malformed SID, an unknown parameter type) gets 422. ``TWILIO_API_BASE_URL`` points the
hotline at Prism, and each kind of request goes through the hotline's own code: an SMS,
a callback's call, a caller dequeued to an agent, the queues and a queue's members.
Prism's answers are made-up data; the tests look at what Prism said of the requests.

Prism comes from npm (``.ci/run`` installs it into ``.ci/node_modules``). Without it the
tests are skipped, unless ``CI`` is set: then they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CI, PUBLIC_BASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from twilio.http.http_client import TwilioHttpClient

from adapters import twilio_rest
from domain import agent_states as rules
from hotline.loopback import free_port
from live import agent_states, queueboard, store
from services import callbacks, distribution
from simulator.softphone import queue_sid
from storage import db
from storage.models import Callback

pytestmark = pytest.mark.prism

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTION = ROOT / "tests" / "twilio-oai" / "twilio_api_v2010.yaml"
PRISM = ROOT / ".ci" / "node_modules" / ".bin" / "prism"
STARTUP_SECONDS = 90


def prism_binary() -> str | None:
    if PRISM.exists():
        return str(PRISM)
    return shutil.which("prism")


@pytest.fixture(scope="session")
def prism(tmp_path_factory):
    """Prism serving Twilio's description on a free port; its base URL."""
    binary = prism_binary()
    if binary is None:
        message = "Stoplight Prism is not installed (.ci/run installs it: npm @stoplight/prism-cli)"
        if CI:
            pytest.fail(f"{message}; CI is set", pytrace=False)
        pytest.skip(message)
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "mock", "-d", "-h", "127.0.0.1", "-p", str(port), str(DESCRIPTION)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SCARF_ANALYTICS": "false"},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"prism exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(base + "/", timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (404 for /): up
            except OSError:
                time.sleep(0.25)
                continue
            break
        else:
            pytest.fail(f"prism did not start in {STARTUP_SECONDS} s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


class Observed(TwilioHttpClient):
    """The library's own HTTP client, noting what Prism answered to each request."""

    def __init__(self):
        super().__init__(timeout=10)
        self.seen: list[tuple[str, str, int, str]] = []

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        self.seen.append((method, url, response.status_code, response.text))
        return response

    def refused(self) -> list[tuple[str, str, int, str]]:
        return [seen for seen in self.seen if seen[2] >= 400]

    def to(self, method: str, path_end: str) -> list[tuple[str, str, int, str]]:
        return [s for s in self.seen if s[0] == method and s[1].split("?")[0].endswith(path_end)]


@pytest.fixture
def twilio(app, prism) -> Observed:
    observed = Observed()
    app.config.update(
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        TWILIO_CALLER_ID="+8640060580560",
        TWILIO_API_BASE_URL=prism,
        TWILIO_HTTP_CLIENT=observed,
    )
    return observed


def test_an_sms_is_a_message_twilio_accepts(app, twilio, prism):
    twilio_rest.send_sms(app, "+8613812345678", "【重疾管家】线上问诊入口", "+861058001234")
    ((method, url, status, body),) = twilio.seen
    assert (method, status) == ("POST", 201), body
    assert url == f"{prism}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"


def test_a_callbacks_call_is_a_call_twilio_accepts(app, twilio, clock):
    with app.app_context():
        session = db.session()
        callback = Callback(
            line="medical",
            number="+8613812345678",
            from_number="+861058001234",
            verified=True,
            status=callbacks.PENDING,
            attempts=0,
            due_at=clock.now().astimezone(UTC) - timedelta(minutes=1),
        )
        session.add(callback)
        session.commit()
        outcome = callbacks.dial(app, callback.id, clock.now())
    assert outcome == "dialled", twilio.seen
    ((_, _, status, body),) = twilio.to("POST", "/Calls.json")
    assert status == 201, body
    assert twilio.refused() == []


def test_a_caller_dequeued_to_an_agent_is_a_members_update_twilio_accepts(app, twilio, clock):
    with app.app_context():
        redis = store.redis()
        agent_states.change(
            redis, "ann", lambda s: rules.choose(s, "available", clock.now(), queues=("medical",))
        )
        entered = clock.now().timestamp() - 30
        queueboard.enqueued(redis, "medical", "CA" + "a" * 32, entered)
        queueboard.confirmed(redis, "medical", "CA" + "a" * 32, queue_sid("medical"))
    (offer,) = distribution.run(app)
    ((_, url, status, body),) = twilio.to("POST", f"/Members/{offer.call_sid}.json")
    assert status == 200, body  # without Url, or with a malformed QueueSid, Prism says 422
    assert f"/Queues/{queue_sid('medical')}/" in url
    assert twilio.refused() == []


def test_the_queues_and_their_members_are_lists_twilio_serves(app, twilio, clock):
    with app.app_context():
        queueboard.learn_sid(store.redis(), "medical", queue_sid("medical"))
        distribution.reconcile(app, datetime.now(UTC))
    ((_, _, listed, body),) = twilio.to("GET", "/Queues.json")
    assert listed == 200, body
    members = twilio.to("GET", "/Members.json")
    assert members and all(status == 200 for _, _, status, _ in members), members
    assert twilio.refused() == []


def test_a_request_twilio_would_refuse_is_refused_here_too(app, twilio):
    """The check itself: Prism refuses a Members update without its Url (Twilio's 400)."""
    member = f"Queues/{queue_sid('medical')}/Members/{'CA' + 'b' * 32}.json"
    response = twilio_rest.client(app).request(
        "POST",
        f"{twilio_rest.TWILIO_API}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/{member}",
        data={"Method": "POST"},
    )
    assert response.status_code == 422
    assert "Url" in response.text
