"""The agents' browser phones in the simulator: what Twilio and its Voice SDK do, in the store.

With Twilio, a Members update takes the caller out of the queue to the offer's URL, the
``<Dial><Client>`` found there rings the agent's browser (the Voice SDK's Device), and
the agent accepts, rejects or lets it ring out; later one of them hangs up. Here the
REST stand-in (``simulator.rest``) takes the caller out of the store's queue and
requests that URL on the caller's leg, in process and signed (``softphone``, as
``switchboard`` does for "take next"); what the leg became is kept in the store
(``SimulatedCall.dialing``, and the agent's phone under ``SIM_PHONE``) so every web
process sees the ringing phone, and the desk's buttons (``/simulator/phone/…``) play
the rest through ``softphone.BrowserPhone``.

Twilio's clock, the ``<Dial timeout>``, has no process of its own here: every request
to the simulator first rings out the phones whose time is up (``ring_out_due``); the
desks poll their phone every second, so nobody waits long for it. Each change of a
phone is claimed first (``ZREM``/``DEL`` answer 1 to one process only), so two
processes never ring one out twice nor accept a call that rang out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from flask import Flask

from domain.masking import mask_phone
from live import keys, store
from simulator import switchboard
from simulator.softphone import BrowserPhone, Exchange, Softphone
from simulator.switchboard import BRIDGED, ENDED, RINGING, SimulatedCall, StoreQueues

log = logging.getLogger(__name__)

IDLE, ON_CALL = "idle", "on_call"
# A phone's record outlives any call.
PHONE_TTL_SECONDS = 6 * 3600


class NotRinging(Exception):
    """The phone is not in the state the button needs (it rang out, the caller hung up)."""


def state(identity: str, now: float) -> dict:
    """The agent's phone as the desk shows it: idle, ringing (with the masked caller), on a call."""
    found = _record(store.redis(), identity)
    if found is None:
        return {"state": IDLE, "call_sid": None, "caller": None, "seconds": 0}
    out = {
        "state": found["state"],
        "call_sid": found["call_sid"],
        "caller": mask_phone(found.get("caller") or "") or "withheld",
        "seconds": max(0, round(now - found["since"])),
    }
    if found["state"] == RINGING:
        out["expires_in"] = max(0, round(found["deadline"] - now))
    return out


def _record(redis, identity: str) -> dict | None:
    raw = redis.get(keys.SIM_PHONE.format(agent=identity))
    return json.loads(raw) if raw else None


# -- the caller's leg, after a Members update ---------------------------------------------


def deliver(twilio: Exchange, holder: StoreQueues) -> int:
    """Take the callers a Members update dequeued to their URLs; how many went."""
    done = 0
    while twilio.redirects:
        phone, url = twilio.redirects.pop(0)
        phone.redirected(url)
        keep(holder, phone)
        done += 1
    return done


def keep(holder: StoreQueues, phone: Softphone) -> None:
    """Keep in the store what the caller's leg became: ringing an agent, talking, or over.

    Back in the queue, ``<Enqueue>`` has saved it already (``StoreQueues.join``).
    """
    redis = holder.redis
    if phone.in_queue:
        return
    call = holder.get(phone.call_sid) or SimulatedCall(
        call_sid=phone.call_sid,
        queue=phone.queue or "",
        caller=phone.caller,
        called=phone.called,
        action="",
        wait_url=None,
        enqueued_at=holder.now,
    )
    # The leg is rebuilt for each step: what it heard adds to what the caller heard before.
    call.heard = [*call.heard, *phone.heard]
    dialing = phone.dialing
    if dialing is not None and not phone.ended:
        call.state = BRIDGED if dialing.answered else RINGING
        call.agent = dialing.identity
        call.dialing = asdict(dialing)
        holder.save(call)
        if not dialing.answered:
            deadline = holder.now + dialing.timeout
            _save_phone(redis, dialing.identity, RINGING, phone, holder.now, deadline)
            redis.zadd(keys.SIM_RINGING, {dialing.identity: deadline})
        return
    if phone.ended:
        call.state, call.dialing = ENDED, None
        holder.save(call)


def _save_phone(redis, identity, status, phone: Softphone, since: float, deadline=None) -> None:
    record = {
        "state": status,
        "call_sid": phone.call_sid,
        # The customer: who called, or whom the hotline called back.
        "caller": phone.called if phone.direction == "outbound-api" else phone.caller,
        "since": since,
        "deadline": deadline,
    }
    redis.set(keys.SIM_PHONE.format(agent=identity), json.dumps(record), ex=PHONE_TTL_SECONDS)


# -- the agent's buttons -------------------------------------------------------------------------


def accept(app: Flask, identity: str) -> dict:
    """The agent picks up: the ``<Client url>`` runs on their leg, and they talk."""
    with app.app_context():
        holder, twilio, record = _claim_ringing(app, identity)
        phone = _leg(holder, twilio, record)
        browser = twilio.browser(identity)
        browser.incoming = phone
        try:
            browser.accept()
        except Exception:
            # The hotline refused the answer: the phone stops ringing rather than forever.
            holder.redis.delete(keys.SIM_PHONE.format(agent=identity))
            raise
        _save_phone(holder.redis, identity, ON_CALL, phone, holder.now)
        keep(holder, phone)
        return state(identity, holder.now)


def reject(app: Flask, identity: str) -> dict:
    """The agent declines: the caller's ``<Dial>`` ends ``busy``, and its action says what next."""
    return _ring_over(app, identity, BrowserPhone.reject)


def ring_out(app: Flask, identity: str) -> dict:
    """Nobody answered within the ``<Dial timeout>``: ``no-answer``."""
    return _ring_over(app, identity, BrowserPhone.ring_out)


def _ring_over(app: Flask, identity: str, how) -> dict:
    with app.app_context():
        holder, twilio, record = _claim_ringing(app, identity)
        holder.redis.delete(keys.SIM_PHONE.format(agent=identity))
        phone = _leg(holder, twilio, record)
        browser = twilio.browser(identity)
        browser.incoming = phone
        how(browser)
        keep(holder, phone)
        return state(identity, holder.now)


def hang_up(app: Flask, identity: str) -> dict:
    """The agent ends the call: the caller's ``<Dial>`` is ``completed`` after the talk."""
    with app.app_context():
        holder = switchboard.queues(app)
        record = _record(holder.redis, identity)
        if record is None or record["state"] != ON_CALL:
            raise NotRinging(f"{identity} is on no call")
        if not holder.redis.delete(keys.SIM_PHONE.format(agent=identity)):
            raise NotRinging(f"{identity}'s call has just ended")
        twilio = switchboard.exchange(app, holder)
        phone = _leg(holder, twilio, record)
        browser = twilio.browser(identity)
        browser.caller, phone.agent = phone, browser
        browser.hang_up(talked=max(0, round(holder.now - record["since"])))
        keep(holder, phone)
        return state(identity, holder.now)


def caller_hangs_up(app: Flask, call_sid: str) -> SimulatedCall | None:
    """The caller hangs up while an agent's phone rings or they talk (the Dial's action is told)."""
    with app.app_context():
        holder = switchboard.queues(app)
        call = holder.get(call_sid)
        if call is None or call.dialing is None or call.state not in (RINGING, BRIDGED):
            return call
        identity = call.dialing["identity"]
        redis = holder.redis
        redis.zrem(keys.SIM_RINGING, identity)
        record = _record(redis, identity)
        if record is not None and record["call_sid"] == call_sid:
            redis.delete(keys.SIM_PHONE.format(agent=identity))
        twilio = switchboard.exchange(app, holder)
        phone = holder.leg(call, twilio)
        browser = twilio.browser(identity)
        if call.state == RINGING:
            browser.incoming = phone
        else:
            browser.caller, phone.agent = phone, browser
        phone.hang_up()
        keep(holder, phone)
        return holder.get(call_sid)


def ring_out_due(app: Flask) -> int:
    """Ring out every phone whose ``<Dial timeout>`` is over; how many."""
    holder = switchboard.queues(app)
    due = holder.redis.zrangebyscore(keys.SIM_RINGING, "-inf", holder.now)
    done = 0
    for identity in due:
        identity = identity.decode() if isinstance(identity, bytes) else identity
        try:
            ring_out(app, identity)
            done += 1
        except NotRinging:
            continue  # another process rang it out, or the agent answered just now
        except Exception:
            log.exception("simulator: ringing out %s's phone failed", identity)
    return done


def _claim_ringing(app: Flask, identity: str) -> tuple[StoreQueues, Exchange, dict]:
    holder = switchboard.queues(app)
    record = _record(holder.redis, identity)
    if record is None or record["state"] != RINGING:
        raise NotRinging(f"{identity}'s phone is not ringing")
    # One process only gets 1 here: the one that answers, rejects or rings it out.
    if not holder.redis.zrem(keys.SIM_RINGING, identity):
        raise NotRinging(f"{identity}'s phone has just stopped ringing")
    return holder, switchboard.exchange(app, holder), record


def _leg(holder: StoreQueues, twilio: Exchange, record: dict) -> Softphone:
    call = holder.get(record["call_sid"])
    if call is None or call.dialing is None:
        raise NotRinging(f"call {record['call_sid']} is not dialling an agent")
    return holder.leg(call, twilio)
