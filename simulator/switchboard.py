"""The simulator: Twilio's queues for a hotline without Twilio (``HOTLINE_SIMULATOR``).

With a Twilio account, Twilio holds the callers in ``<Enqueue>`` and bridges one
to an agent's browser phone that dialled ``<Dial><Queue>``. Without one, the
``hotline call`` terminal stands in for the caller and this module for Twilio's
queues: the waiting callers live in the app's store (Redis, or the in-process
store), so every worker process sees the same queues, and an agent's "take the
next call" does what Twilio would — it dials ``/ivr/agent`` as ``client:USERNAME``
and posts the ``<Queue url>`` webhook for the head of the queue it answers, through
the real webhook views and their signature check (``simulator.softphone``, in process).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from flask import Flask, current_app
from redis import Redis

from live import keys, store
from simulator.softphone import (
    AgentPhone,
    Dialing,
    Exchange,
    FlaskTransport,
    Softphone,
    WebhookFailed,
)

# A simulated call is forgotten a day after it was last touched.
CALL_TTL_SECONDS = 24 * 3600
WAITING, BRIDGED, LEFT = "waiting", "bridged", "left"
# Taken out of the queue to an agent whose browser phone rings; over after an agent's call.
RINGING, ENDED = "ringing", "ended"
# The origin the in-process webhooks are signed for when PUBLIC_BASE_URL is unset:
# the test client's own, which is what the views then validate against.
LOCAL_ORIGIN = "http://localhost"


def enabled(app: Flask) -> bool:
    value = app.config.get("HOTLINE_SIMULATOR")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass
class SimulatedCall:
    """One caller the simulator holds (or held): what Twilio would know of it."""

    call_sid: str
    queue: str
    caller: str
    called: str
    action: str
    wait_url: str | None
    enqueued_at: float
    state: str = WAITING
    agent: str | None = None
    # What the caller heard from the ``<Queue url>`` document as they were bridged.
    heard: list[str] = field(default_factory=list)
    # The caller's <Dial><Client> while it rings or talks (``softphone.Dialing``'s fields).
    dialing: dict | None = None
    # "outbound-api" for the hotline's own call (a callback): the customer is ``called``.
    direction: str = "inbound"

    @property
    def customer(self) -> str:
        return self.called if self.direction == "outbound-api" else self.caller

    def as_dict(self, position: int = 0, size: int = 0) -> dict:
        return {
            "call_sid": self.call_sid,
            "state": self.state,
            "queue": self.queue,
            "position": position,
            "size": size,
            "agent": self.agent,
            "heard": self.heard,
            "enqueued_at": self.enqueued_at,
            # Offered by the distribution (a <Dial><Client>), not taken with "take next".
            "offer": self.dialing is not None,
        }


class StoreQueues:
    """``simulator.softphone.QueueHolder`` in the app's store: FIFO lists of CallSids per queue."""

    def __init__(self, redis: Redis, now: float):
        self.redis = redis
        self.now = now

    def get(self, sid: str) -> SimulatedCall | None:
        raw = self.redis.get(keys.SIM_CALL.format(sid=sid))
        return SimulatedCall(**json.loads(raw)) if raw else None

    def save(self, call: SimulatedCall) -> None:
        self.redis.set(
            keys.SIM_CALL.format(sid=call.call_sid),
            json.dumps(asdict(call), ensure_ascii=False),
            ex=CALL_TTL_SECONDS,
        )

    def add(self, call: SimulatedCall) -> None:
        """Put ``call`` at the back of its queue (again: a repeated registration moves nothing)."""
        known = self.get(call.call_sid)
        if known is not None and known.state == WAITING and known.queue == call.queue:
            return
        if known is not None and known.state == WAITING:
            self.redis.lrem(keys.SIM_QUEUE.format(queue=known.queue), 0, known.call_sid)
        self.save(call)
        self.redis.rpush(keys.SIM_QUEUE.format(queue=call.queue), call.call_sid)
        self.redis.sadd(keys.SIM_QUEUE_NAMES, call.queue)

    def remove(self, sid: str) -> SimulatedCall | None:
        call = self.get(sid)
        if call is None:
            return None
        self.redis.lrem(keys.SIM_QUEUE.format(queue=call.queue), 0, sid)
        if call.state == WAITING:
            call.state = LEFT
            self.save(call)
        return call

    def sizes(self) -> dict[str, int]:
        """Callers waiting per queue that has ever held one."""
        found = {}
        for name in sorted(self.redis.smembers(keys.SIM_QUEUE_NAMES)):
            name = name.decode() if isinstance(name, bytes) else name
            found[name] = self.redis.llen(keys.SIM_QUEUE.format(queue=name))
        for key in self.redis.scan_iter(match=keys.SIM_QUEUE.format(queue="*")):
            key = key.decode() if isinstance(key, bytes) else key
            found[key.removeprefix(keys.SIM_QUEUE.format(queue=""))] = self.redis.llen(key)
        return found

    def place(self, call: SimulatedCall) -> tuple[int, int]:
        key = keys.SIM_QUEUE.format(queue=call.queue)
        size = self.redis.llen(key)
        if call.state != WAITING:
            return 0, size
        index = self.redis.lpos(key, call.call_sid)
        return (index + 1 if index is not None else 0), size

    def bridge(self, sid: str, agent: str, heard: list[str]) -> None:
        call = self.get(sid)
        if call is not None:
            call.state, call.agent, call.heard = BRIDGED, agent, heard
            self.save(call)

    # -- QueueHolder ---------------------------------------------------------------------

    def join(self, queue: str, phone: Softphone) -> None:
        self.add(
            SimulatedCall(
                call_sid=phone.call_sid,
                queue=queue,
                caller=phone.caller,
                called=phone.called,
                action=phone.queue_action or "",
                wait_url=phone.wait_url,
                enqueued_at=self.now,
                direction=phone.direction,
            )
        )

    def leave(self, phone: Softphone) -> None:
        self.remove(phone.call_sid)

    def position(self, phone: Softphone) -> tuple[int, int]:
        call = self.get(phone.call_sid)
        return self.place(call) if call else (0, 0)

    def pop(self, queue: str, exchange: Exchange) -> Softphone | None:
        """The head of ``queue`` as the phone Twilio would bridge (stale entries skipped)."""
        while (sid := self.redis.lpop(keys.SIM_QUEUE.format(queue=queue))) is not None:
            sid = sid.decode() if isinstance(sid, bytes) else sid
            call = self.get(sid)
            if call is None or call.state != WAITING:
                continue
            return self._phone(call, exchange)
        return None

    def members(self, queue: str) -> list[str]:
        listed = self.redis.lrange(keys.SIM_QUEUE.format(queue=queue), 0, -1)
        sids = [sid.decode() if isinstance(sid, bytes) else sid for sid in listed]
        return [sid for sid in sids if (call := self.get(sid)) and call.state == WAITING]

    def take(self, queue: str, call_sid: str, exchange: Exchange) -> Softphone | None:
        call = self.get(call_sid)
        if call is None or call.state != WAITING or call.queue != queue:
            return None
        self.redis.lrem(keys.SIM_QUEUE.format(queue=queue), 0, call_sid)
        return self._phone(call, exchange)

    def names(self) -> list[str]:
        return list(self.sizes())

    def _phone(self, call: SimulatedCall, exchange: Exchange) -> Softphone:
        phone = Softphone(
            exchange,
            caller=call.caller,
            called=call.called,
            call_sid=call.call_sid,
            direction=call.direction,
        )
        phone.status = "in-progress"
        phone.queue, phone.queue_action, phone.wait_url = call.queue, call.action, call.wait_url
        return phone

    def leg(self, call: SimulatedCall, exchange: Exchange) -> Softphone:
        """The caller's leg as Twilio holds it out of the queue: dialling an agent, or talking."""
        phone = self._phone(call, exchange)
        phone.queue = phone.queue_action = phone.wait_url = None
        if call.dialing is not None:
            phone.dialing = Dialing(**call.dialing)
        return phone


@dataclass(frozen=True)
class Taken:
    """What "take the next call" did: the queue dialled and the caller bridged, if any."""

    agent: str
    queue: str | None
    call: SimulatedCall | None
    # What the agent's phone heard instead of a queue (an unknown agent, no queues).
    heard: list[str]


def queues(app: Flask | None = None) -> StoreQueues:
    from runtime import current_clock

    return StoreQueues(store.redis(app), current_clock().now().timestamp())


def take_next(username: str) -> Taken:
    """Do what Twilio does when ``username``'s browser phone dials the agents' TwiML App."""
    app = current_app._get_current_object()
    # A context of its own: the webhooks below are requests of their own (own g, own session).
    with app.app_context():
        return _take(app, username)


def exchange(app: Flask, holder: StoreQueues) -> Exchange:
    """Twilio's side in this process: webhooks signed and posted through the app's own views."""
    base = (app.config.get("PUBLIC_BASE_URL") or LOCAL_ORIGIN).rstrip("/")
    found = Exchange(
        FlaskTransport(app.test_client()),
        app.config["TWILIO_AUTH_TOKEN"] or "",
        base_url=base,
        queues=holder,
    )
    if app.config.get("TWILIO_ACCOUNT_SID"):
        found.account_sid = app.config["TWILIO_ACCOUNT_SID"]
    return found


def _take(app: Flask, username: str) -> Taken:
    holder = queues()
    twilio = exchange(app, holder)
    agent: AgentPhone = twilio.agent(username).dial()
    if agent.queue is None:
        return Taken(username, None, None, agent.heard)
    try:
        phone = agent.take()
    except WebhookFailed:
        if agent.caller is not None:  # popped, but the hotline refused the bridge: back in front
            holder.redis.lpush(keys.SIM_QUEUE.format(queue=agent.queue), agent.caller.call_sid)
        agent.hang_up()
        raise
    if phone is None:
        # Nobody to take: the agent's call ends, and with it their hold on the queue.
        agent.hang_up()
        return Taken(username, agent.queue, None, agent.heard)
    holder.bridge(phone.call_sid, username, phone.heard)
    return Taken(username, agent.queue, holder.get(phone.call_sid), agent.heard)
