"""The call distribution running beside the IVR load (``ivr_webhooks --distribution``).

Production runs the distribution in the rq worker: every caller confirmed in Twilio's
queue asks for a dispatch, whose run reserves a caller and an available agent, pushes
the screen-pop and asks Twilio to move the caller (``services.distribution``); a sweep
every ``sweep_seconds`` and a reconcile with Twilio's queue members every
``reconcile_seconds``. Here all of that runs: the Procfile's rq worker, ``--agents``
agents kept available, and Twilio's queue resources answered by this process from the
load generator's own queues (``simulator.softphone``); the SMS links the calls ask for
are accepted as Twilio accepts them. Only the move itself is
refused, as Twilio refuses it for a caller who has just hung up (21218): the
benchmark's callers then go on as planned, and the offer is called off with no blame
on the agent, who stays available for the next caller. So every caller who reaches
the medical queue is offered, and the webhooks, Redis and the database carry the
distribution's whole work while the IVR's figures are taken.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from http import HTTPStatus
from urllib.parse import parse_qs

import gevent
from gevent.pywsgi import WSGIServer

from benchmarks import databases
from benchmarks.common import BenchmarkFailed
from benchmarks.server import Gunicorn, process_cpu_seconds, start_worker
from hotline.loopback import free_port
from simulator.softphone import (
    RESOURCE_PREFIXES,
    Exchange,
    MemoryQueues,
    created,
    rest_error,
    sid,
)

ACCOUNT_SID = "AC" + "0" * 32
# How often an agent who is not available (a refused offer raced a sweep) is made so again.
AVAILABLE_EVERY = 5.0


def add_options(parser, what: str) -> None:
    """``--distribution`` (``what`` it does in that benchmark) and ``--agents``."""
    parser.add_argument("--distribution", action="store_true", help=what)
    parser.add_argument("--agents", type=int, default=20, help="with --distribution")


class Distribution:
    """Twilio's queue resources, the rq worker and ``agents`` available agents."""

    def __init__(self, agents: int, auth_token: str, base_url: str):
        self.agents = agents
        self.queues = MemoryQueues()
        self.exchange = Exchange(
            None, auth_token, base_url=base_url, account_sid=ACCOUNT_SID, queues=self.queues
        )
        self.port = free_port()
        self.rest_server = WSGIServer(("127.0.0.1", self.port), self.rest, log=None)
        self.moves_refused = 0
        self.messages = 0
        self.worker: subprocess.Popen | None = None
        self.tokens: dict[str, str] = {}
        self.keeper: gevent.Greenlet | None = None

    @property
    def settings(self) -> dict[str, str]:
        """What the web processes and the worker need to call "Twilio" here."""
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_API_BASE_URL": f"http://127.0.0.1:{self.port}",
        }

    def rest(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        body = environ["wsgi.input"].read().decode() if method == "POST" else ""
        form = {k: v[0] for k, v in parse_qs(body).items()}
        path = environ.get("PATH_INFO", "")
        parts = path.split("/Accounts/", 1)[-1].removesuffix(".json").split("/")[1:]
        if parts == ["Messages"] and method == "POST":
            # The calls' SMS links, accepted as Twilio accepts them (refused, rq would
            # retry each one: a load production does not carry).
            self.messages += 1
            status, answer = 201, created(path, form, sid(RESOURCE_PREFIXES["Messages"]))
        elif not parts or parts[0] != "Queues":
            status, answer = 404, rest_error(20404, "not served here", 404)
        elif method == "POST":
            self.moves_refused += 1
            status, answer = 400, rest_error(21218, "Call is not in the queue", 400)
        else:
            status, answer = self.exchange.answer_rest(method, parts, form)
        start_response(
            f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json")]
        )
        return [json.dumps(answer).encode()]

    def start(self, server: Gunicorn, url: str, settings: dict[str, str]) -> None:
        """After the web server is up (it migrated the database): worker, agents, keeper."""
        self.rest_server.start()
        self.worker = start_worker(url, settings, "ivr-distribution")
        prefix = f"ivr{secrets.token_hex(2)}"
        names = [f"{prefix}-{n:02d}" for n in range(self.agents)]
        self.tokens = databases.new_agents(url, names, queues="medical")
        for name in names:
            status, body = server.post_json(
                "/api/agents/me/status", {"status": "available"}, self.tokens[name]
            )
            if status != 200:
                raise BenchmarkFailed(f"{name} could not be made available: {body[:200]}")
        self.keeper = gevent.spawn(self._keep_available, server)

    def _keep_available(self, server: Gunicorn) -> None:
        while True:
            gevent.sleep(AVAILABLE_EVERY)
            for token in self.tokens.values():
                # Refused (409) while an offer to the agent is still being called off.
                server.post_json("/api/agents/me/status", {"status": "available"}, token)

    def worker_cpu_seconds(self) -> float:
        # With the work horses it forked for other jobs (an SMS), once they are reaped.
        return process_cpu_seconds(self.worker.pid, children=True) if self.worker else 0.0

    def stop(self) -> None:
        if self.keeper is not None:
            self.keeper.kill()
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(20)
            except subprocess.TimeoutExpired:
                # rq's teardown before the worker's PromptStop could take a minute.
                print("  the rq worker took over 20 s to stop: killed", flush=True)
                self.worker.kill()
                self.worker.wait()
        self.rest_server.stop()
