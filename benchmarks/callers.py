"""Simulated callers for the IVR benchmarks: who calls, what they press and say, and
the load of many such calls at once against a running server.

A call is planned up front (``CallScript``: the caller's number, the policyholder's
six digits and name, a wrong try first or not, 权益查询 first or not, the service's
menu keys, how often Twilio requests the waitUrl) and then *followed*: an
``simulator.softphone.Softphone`` posts Twilio's signed webhooks and executes the TwiML
that comes back, and ``follow`` answers each ``<Gather>`` by the prompt it heard
(the flow's own messages), so the script survives a policyholder with several
insured people, a service the insured is not entitled to, or an SMS-only service.

Every webhook is timed by ``TimedTransport``; a non-200 answer, TwiML the
softphone cannot follow, a prompt the script does not expect or a degraded-mode
answer raises (``WebhookFailed``), which fails the benchmark.
``CallLoad`` runs calls on gevent greenlets (the benchmark process is patched by
gevent before anything else is imported), one keep-alive connection per call slot.
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import text

import flows
from simulator.softphone import DEFAULT_BASE_URL, Exchange, MemoryQueues, Softphone, WebhookFailed
from storage.db import make_engine

AUTH_TOKEN = "benchmark-twilio-auth-token"
PUBLIC_BASE_URL = DEFAULT_BASE_URL
CALL_FLOW = flows.load().call_flow
MESSAGES = CALL_FLOW.messages
# What the caller hears that tells it which question it is being asked.
MAIN_MENU = MESSAGES["menu_option"].format(label="权益查询", key="4")
CHOOSE_INSURED = MESSAGES["choose_insured_option"].split("{name}")[0]
POLICY_OR_MENU = MESSAGES["offer_policy_line"]
AFTER_SMS = MESSAGES["after_sms"]
# A server without Twilio's REST settings says the link cannot be sent (SPEC §8).
SMS_UNAVAILABLE = MESSAGES["sms_unavailable"].split("{")[0]
CALLBACK_OFFER = MESSAGES["callback_offer"].split("{")[0]
# The answers the hotline gives when a webhook failed inside (Redis or the database down).
DEGRADED = (MESSAGES["degraded_transfer"], MESSAGES["degraded_closed"].split("{")[0])
# Menu keys of services (main menu key, submenu key) and how often callers pick them:
# mostly services an agent handles, some sent by SMS (线上问诊, 健康E站).
SERVICES = (
    *((("2", str(k)), 8) for k in range(1, 8)),
    *((("3", str(k)), 6) for k in range(1, 4)),
    (("1", "1"), 4),
    (("1", "2"), 2),
)
# Webhook kinds, by path, for per-step figures.
KINDS = {
    "/ivr/voice": "voice",
    "/ivr/gather": "gather",
    "/ivr/queue/wait": "queue wait",
    "/ivr/queue/key": "queue key",
    "/ivr/queue/done": "queue done",
    "/ivr/queue/connect": "queue connect",
    "/ivr/agent": "agent",
    "/ivr/status": "status",
}
# The gather that answers with the spoken name authenticates: the hot path's slowest turn
# (the policyholders read with their households and failed tries, then weighed),
# counted apart.
SPOKEN_NAME = "gather, name"
MAX_ANSWERS = 20


@dataclass(frozen=True, slots=True)
class Holder:
    """A policyholder as a caller knows themselves: the name, and a phone's last six digits."""

    name: str
    suffix: str


@dataclass(frozen=True, slots=True)
class CallScript:
    caller: str
    holder: Holder
    # Six digits no policyholder's phone ends in, keyed (with the name) before the right ones.
    wrong_digits: str | None
    entitlements_first: bool
    service: tuple[str, str]
    # waitUrl requests while in the queue (Twilio repeats it as the hold music loops).
    waits: int


@dataclass
class Sample:
    kind: str
    started: float  # perf_counter()
    ms: float
    status: int


class KeepAliveTransport:
    """Posts a form over one keep-alive HTTP/1.1 connection with ``http.client``.

    ``simulator.softphone.HttpTransport`` does the same through ``requests``, at about three
    times the client CPU per request; on two cores shared with the server that CPU
    would be taken from the server under test. The URL posted keeps the Exchange's
    path and query on ``base_url``'s origin, as ``HttpTransport`` does.
    """

    def __init__(self, base_url: str, timeout: float = 15.0):
        origin = urlsplit(base_url)
        self.host, self.port = origin.hostname, origin.port or 80
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        body = urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self.connection.request("POST", target, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read().decode("utf-8")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the idle connection (gunicorn's keep-alive time-out):
                # Twilio too would simply connect again. Webhooks are idempotent per step.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class TimedTransport:
    """A keep-alive transport that times every webhook.

    ``think`` (seconds, drawn per request) is how long after the previous answer
    arrived this request is sent: the caller listening to the prompt and keying in,
    squeezed so that many calls give the load asked. As with real callers, a slow
    answer delays the caller's next request (pacing from the previous request's
    start instead would turn a passing stall into 200 requests always outstanding).
    """

    def __init__(
        self,
        base_url: str,
        samples: list[Sample],
        think: Callable[[], float] | None = None,
    ):
        self.http = KeepAliveTransport(base_url)
        self.samples = samples
        self.think = think
        self.last_answered = time.perf_counter()

    def post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        if self.think is not None:
            pause = self.think() - (time.perf_counter() - self.last_answered)
            if pause > 0:
                time.sleep(pause)  # gevent-patched: yields to the other calls
        started = time.perf_counter()
        status = 0
        try:
            status, body = self.http.post(url, form, headers)
        finally:
            self.last_answered = time.perf_counter()
            self.samples.append(
                Sample(kind(url, form), started, (self.last_answered - started) * 1e3, status)
            )
        return status, body


def kind(url: str, form: dict[str, str] | None = None) -> str:
    path = urlsplit(url).path
    if path == "/ivr/gather" and form and form.get("SpeechResult"):
        return SPOKEN_NAME
    return KINDS.get(path, path)


def holders(url: str) -> tuple[list[Holder], set[str]]:
    """Policyholders with a phone on file (name, six digits) and every suffix on file.

    Frozen out of the garbage collector together with every object alive at the time
    (``gc.freeze``): call it before making anything the collector should still walk,
    such as an app measured in the same process (``benchmarks.in_process``).
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT DISTINCT people.name, phones.suffix FROM phones"
                    " JOIN people ON people.id = phones.person_id"
                    " WHERE phones.person_id IN (SELECT holder_id FROM policies)"
                    " ORDER BY phones.suffix, people.name"
                )
            ).all()
            suffixes = set(connection.scalars(text("SELECT DISTINCT suffix FROM phones")).all())
    finally:
        engine.dispose()
    people = [Holder(name, suffix) for name, suffix in rows]
    # Loaded once and kept for the whole benchmark: out of the collector's sight, or each
    # full collection walks the book (a million objects at 1,000,000 people) and stops
    # the load generator's calls for a few hundred milliseconds.
    gc.freeze()
    return people, suffixes


def plan(
    people: Sequence[Holder],
    taken_suffixes: set[str],
    seed: int,
    wrong_share: float = 0.15,
    entitlements_share: float = 0.2,
    second_wait_share: float = 0.5,
) -> Iterator[CallScript]:
    """Calls without end, the same ones for the same seed; each from a number of its own
    (so the per-number limit on failed tries is never what a call runs into)."""
    if not people:
        raise ValueError("no policyholders to call as")
    rng = random.Random(seed)
    keys, weights = zip(*SERVICES, strict=True)
    number = 0
    while True:
        number += 1
        wrong = None
        if rng.random() < wrong_share:
            while wrong is None or wrong in taken_suffixes:
                wrong = f"{rng.randrange(10**6):06d}"
        yield CallScript(
            caller=f"+86139{seed % 100:02d}{number % 10**6:06d}",
            holder=rng.choice(people),
            wrong_digits=wrong,
            entitlements_first=rng.random() < entitlements_share,
            service=rng.choices(keys, weights)[0],
            waits=2 if rng.random() < second_wait_share else 1,
        )


def follow(phone: Softphone, script: CallScript, stay_in_queue: bool = False) -> str:
    """Put the planned call through; returns how it ended (``queued:QUEUE``, ``sms``, …).

    The call ends with the caller hanging up (after ``waits`` waitUrl requests if it was
    queued), unless ``stay_in_queue``: then it is left waiting for an agent.
    """
    try:
        return _follow(phone, script, stay_in_queue)
    finally:
        degraded = [line for line in phone.heard if line.startswith(DEGRADED)]
        if degraded:
            # Valid TwiML, but the webhook failed inside: the server log says why.
            raise WebhookFailed(f"answered in degraded mode: {degraded[0]}")


def _follow(phone: Softphone, script: CallScript, stay_in_queue: bool) -> str:
    phone.dial()
    if script.wrong_digits:
        phone.press(script.wrong_digits).say(script.holder.name)
        if MESSAGES["not_verified"] not in phone.heard:
            raise WebhookFailed(f"a wrong try was not refused: {phone.heard[-3:]}")
    phone.press(script.holder.suffix).say(script.holder.name)
    outcome = _through_menus(phone, script)
    if phone.in_queue:
        outcome = f"queued:{phone.queue}"
        if stay_in_queue:
            return outcome
        for _ in range(script.waits - 1):
            phone.wait(queue_time=30)
    phone.hang_up()
    return outcome


def _through_menus(phone: Softphone, script: CallScript) -> str:
    entitlements = script.entitlements_first
    submenu: str | None = None
    outcome = "ended"
    seen = 0
    for _ in range(MAX_ANSWERS):
        if phone.ended or phone.in_queue:
            return outcome
        recent, seen = phone.heard[seen:], len(phone.heard)
        if phone.gather is None:
            raise WebhookFailed(f"the call waits for nothing: {recent[-3:]}")
        if any(line.startswith(CHOOSE_INSURED) for line in recent):
            phone.press("1")
        elif MAIN_MENU in recent:
            if entitlements:
                entitlements = False
                outcome = "entitlements"
                phone.press("4")
            else:
                submenu = script.service[1]
                phone.press(script.service[0])
        elif POLICY_OR_MENU in recent:
            outcome = "refused"
            phone.press("0")
        elif AFTER_SMS in recent:
            return "sms"
        elif any(line.startswith(SMS_UNAVAILABLE) for line in recent):
            return "sms unavailable"
        elif any(line.startswith(CALLBACK_OFFER) for line in recent):
            return "line closed"
        elif submenu is not None:
            key, submenu = submenu, None
            phone.press(key)
        else:
            raise WebhookFailed(f"an unexpected prompt: {recent[-3:]}")
    raise WebhookFailed(f"still in the menus after {MAX_ANSWERS} answers: {phone.heard[-3:]}")


@dataclass
class CallLoad:
    """``concurrency`` calls in progress at once, each followed by the next planned one.

    ``rate`` (webhook requests/s offered in all) sets each call's think time between
    an answer and its next request: ``concurrency / rate`` on average (uniform, ±50 %),
    so the rate reached is a little lower (by the answers' own latency); 0 means no
    think time (each call sends its next request as soon as the answer arrives).
    """

    base_url: str
    scripts: Iterator[CallScript]
    concurrency: int
    rate: float
    seed: int = 1
    samples: list[Sample] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    calls: int = 0
    queues: MemoryQueues = field(default_factory=MemoryQueues)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.mean_think = self.concurrency / self.rate if self.rate > 0 else 0.0
        self.stopping = False
        self.greenlets = []

    def think(self) -> float:
        return self.rng.uniform(0.5, 1.5) * self.mean_think

    def start(self) -> None:
        import gevent

        self.stopping = False
        self.greenlets = [gevent.spawn(self._slot, n) for n in range(self.concurrency)]

    def stop(self, timeout: float = 60) -> None:
        """No new calls; wait for the ones in progress to hang up."""
        import gevent

        self.stopping = True
        gevent.joinall(self.greenlets, timeout=timeout)
        gevent.killall([g for g in self.greenlets if not g.dead])

    def _slot(self, number: int) -> None:
        import gevent

        transport = TimedTransport(
            self.base_url, self.samples, self.think if self.mean_think else None
        )
        # Calls start spread over one think time, not all in the same instant.
        gevent.sleep(self.rng.uniform(0, self.mean_think or 0.01))
        while not self.stopping:
            script = next(self.scripts)
            # One Exchange per call (its log is the call's), all sharing Twilio's queues.
            exchange = Exchange(transport, AUTH_TOKEN, base_url=PUBLIC_BASE_URL, queues=self.queues)
            phone = exchange.call(script.caller)
            try:
                self.outcomes[follow(phone, script)] += 1
                self.calls += 1
            except Exception as exc:  # counted and reported: any error fails the run
                self.errors.append(f"call {phone.call_sid}: {exc!r}")
                if len(self.errors) <= 3:
                    traceback.print_exc()
                if not phone.ended:
                    # Leave Twilio's queue (and the server's queue board) tidy.
                    with contextlib.suppress(Exception):
                        phone.hang_up()


def open_zone(now: datetime | None = None, hours_ahead: float = 1.0) -> str:
    """``HOTLINE_TZ`` for the run: Asia/Shanghai when every line is open now and for the
    next ``hours_ahead``, else a fixed-offset zone where it is now about noon, so that
    calls reach the queues (not the callback offer) whenever the benchmark is run."""
    now = now or datetime.now(UTC)
    lines = flows.load().lines.values()

    def all_open(zone: str) -> bool:
        local = now.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        ahead = local + timedelta(hours=hours_ahead)
        return all(line.is_open(local) and line.is_open(ahead) for line in lines)

    if all_open("Asia/Shanghai"):
        return "Asia/Shanghai"
    offset = 12 - now.hour  # UTC+offset is about noon; Etc/GMT's sign is inverted
    offset = offset - 24 if offset > 14 else offset
    zone = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
    if not all_open(zone):
        raise ValueError(f"no zone found where every line is open (tried {zone})")
    return zone


def ivr_settings(zone: str) -> dict[str, str]:
    """What the server needs to check the simulated Twilio's signatures, and its zone."""
    return {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": PUBLIC_BASE_URL, "HOTLINE_TZ": zone}
