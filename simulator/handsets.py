"""The callers' handsets in the simulator: the texts they received, the calls that ring them.

Twilio delivers an SMS to a phone and rings a number for an outbound call (a callback).
Here both wait in the store for the ``hotline call`` terminal of that number, which
asks for them (``/simulator/phones/<number>``): texts are printed on its screen, and
``hotline call --answer`` picks up a call ringing it and follows the call's ``Url`` as
Twilio would. A call nobody answers within its ``Timeout`` ends ``no-answer``, reported
to its ``StatusCallback`` (``unanswered_due``, on every request to the simulator).
"""

from __future__ import annotations

import json
import logging

from flask import Flask

from live import keys
from simulator import switchboard

log = logging.getLogger(__name__)

KEPT_SECONDS = 24 * 3600
# Texts kept per number (the newest).
KEPT_MESSAGES = 50
RINGING, ANSWERED, NO_ANSWER = "ringing", "in-progress", "no-answer"
# Twilio rings an outbound call this long when the request gives no Timeout.
DEFAULT_TIMEOUT = 60


def text(redis, sid: str, form: dict, now: float) -> dict:
    """An SMS sent to ``To``: kept for the handset of that number."""
    message = {
        "sid": sid,
        "from": form.get("From") or form.get("MessagingServiceSid"),
        "to": form.get("To"),
        "body": form.get("Body") or "",
        "at": now,
    }
    key = keys.SIM_MESSAGES.format(number=form.get("To"))
    redis.rpush(key, json.dumps(message, ensure_ascii=False))
    redis.ltrim(key, -KEPT_MESSAGES, -1)
    redis.expire(key, KEPT_SECONDS)
    return message


def messages(redis, number: str) -> list[dict]:
    """The texts ``number`` received, oldest first."""
    return [json.loads(raw) for raw in redis.lrange(keys.SIM_MESSAGES.format(number=number), 0, -1)]


def place(redis, sid: str, form: dict, now: float) -> dict:
    """An outbound call to ``To`` (REST ``Calls.json``): it rings that handset."""
    try:
        timeout = max(1, int(form.get("Timeout") or DEFAULT_TIMEOUT))
    except ValueError:
        timeout = DEFAULT_TIMEOUT
    call = {
        "sid": sid,
        "to": form.get("To"),
        "from": form.get("From"),
        "url": form.get("Url"),
        "method": form.get("Method") or "POST",
        "status_callback": form.get("StatusCallback"),
        "timeout": timeout,
        "state": RINGING,
        "at": now,
    }
    _save(redis, call)
    key = keys.SIM_OUTBOUND_TO.format(number=call["to"])
    redis.rpush(key, sid)
    redis.expire(key, KEPT_SECONDS)
    redis.zadd(keys.SIM_DIALLING, {sid: now + timeout})
    return call


def _save(redis, call: dict) -> None:
    redis.set(
        keys.SIM_OUTBOUND.format(sid=call["sid"]),
        json.dumps(call, ensure_ascii=False),
        ex=KEPT_SECONDS,
    )


def outbound(redis, sid: str) -> dict | None:
    raw = redis.get(keys.SIM_OUTBOUND.format(sid=sid))
    return json.loads(raw) if raw else None


def ringing(redis, number: str) -> list[dict]:
    """The calls ringing ``number`` now, oldest first."""
    sids = redis.lrange(keys.SIM_OUTBOUND_TO.format(number=number), 0, -1)
    found = [outbound(redis, s.decode() if isinstance(s, bytes) else s) for s in sids]
    return [call for call in found if call and call["state"] == RINGING]


def answer(redis, sid: str) -> dict | None:
    """The handset picks up call ``sid``; None if it no longer rings (claimed once only)."""
    if not redis.zrem(keys.SIM_DIALLING, sid):
        return None
    call = outbound(redis, sid)
    if call is None:
        return None
    call["state"] = ANSWERED
    _save(redis, call)
    return call


def unanswered_due(app: Flask) -> int:
    """End the outbound calls nobody answered in time; their StatusCallback hears no-answer."""
    holder = switchboard.queues(app)
    redis = holder.redis
    done = 0
    for sid in redis.zrangebyscore(keys.SIM_DIALLING, "-inf", holder.now):
        sid = sid.decode() if isinstance(sid, bytes) else sid
        if not redis.zrem(keys.SIM_DIALLING, sid):
            continue
        call = outbound(redis, sid)
        if call is None:
            continue
        call["state"] = NO_ANSWER
        _save(redis, call)
        done += 1
        if call.get("status_callback"):
            with app.app_context():
                twilio = switchboard.exchange(app, holder)
                form = {
                    "AccountSid": twilio.account_sid,
                    "ApiVersion": "2010-04-01",
                    "CallSid": sid,
                    "From": call["from"] or "",
                    "To": call["to"] or "",
                    "CallStatus": NO_ANSWER,
                    "Direction": "outbound-api",
                    "CallDuration": "0",
                }
                status, _ = twilio.post(call["status_callback"], form)
                if status != 200:
                    log.warning("simulator: status callback of %s answered %s", sid, status)
    return done
