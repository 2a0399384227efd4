"""The degraded answer: what a caller hears when Redis, the database or a bug fails a webhook.

It needs neither Redis nor SQL: the line's hours come from the flows in memory,
and while the line is open Twilio holds the queue, so the caller still reaches a
person; when it is closed they hear its number and hours. A document Twilio
plays in a queue (the waitUrl, the ``<Queue url>``) may hold only a few verbs:
those get a document of their own kind (``for_endpoint``), never an ``<Enqueue>``.

Every degraded answer is logged and counted (``note``), per reason: per process
(``counts``, shown by ``/healthz``) and per day in Redis for every process
together (``live.degraded_answers``), added once Redis answers.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from flask import current_app, url_for
from redis.exceptions import RedisError

from ivr import context, dequeue, engine, twiml
from live import degraded_answers, store
from runtime import current_clock, current_flows
from storage import db

log = logging.getLogger(__name__)

TALLY = "hotline.ivr.degraded"
# Why a caller got the degraded answer.
REDIS, DATABASE, ERROR, FALLBACK, NO_STATE = "redis", "database", "error", "fallback", "no_state"
# Documents Twilio plays to a caller in a queue (only Say, Play, Pause, Redirect, Leave)…
WAITING = frozenset({"ivr.queue_wait", "ivr.queue_key"})
# …and on the caller's leg as an agent takes them (only Say, Play, Pause, Redirect).
BRIDGING = frozenset({"ivr.queue_connect"})
# Twilio reads no TwiML from a status callback.
SILENT = frozenset({"ivr.status"})


def answer(line_code: str | None = None) -> str:
    """A person if the line is open (Twilio keeps the queue), else its number and hours."""
    flows = current_flows()
    line = context.line(line_code)
    now = current_clock().local()
    if line.is_open(now):
        # Said only where the Enqueue follows: "转接人工" is always a transfer.
        say = [engine.phrase(flows, "degraded_transfer", now, line.code)]
        return twiml.enqueue(
            context.voice(),
            say,
            line.queue,
            wait_url=url_for("ivr.queue_wait", line=line.code),
            done_url=url_for("ivr.queue_done", line=line.code),
        )
    return twiml.say_then(
        context.voice(), [engine.phrase(flows, "degraded_closed", now, line.code)]
    )


def for_endpoint(endpoint: str | None, line_code: str | None) -> str:
    """The degraded document for the webhook ``endpoint``, of the kind Twilio allows there."""
    if endpoint in WAITING:
        return waiting()
    if endpoint in BRIDGING:
        return dequeue.document(line_code)
    if endpoint in SILENT:
        return str(twiml.VoiceResponse())
    return answer(line_code)


def waiting() -> str:
    """A caller in a queue keeps their place and hears the hold music; Twilio asks again."""
    return twiml.hold(context.voice(), [])


def not_tried(error: BaseException) -> bool:
    """A backend the breaker keeps callers away from: it failed moments ago (logged then)."""
    return isinstance(error, store.NotTried) or isinstance(
        getattr(error, "orig", None), db.NotTried
    )


# -- counting --------------------------------------------------------------------------------


class Tally:
    """One process's degraded answers: all of them, and those Redis has not been told of."""

    def __init__(self):
        self._lock = threading.Lock()
        self.total: Counter[str] = Counter()
        self.unsent: Counter[str] = Counter()

    def note(self, reason: str) -> None:
        with self._lock:
            self.total[reason] += 1
            self.unsent[reason] += 1

    def take_unsent(self) -> Counter[str]:
        with self._lock:
            unsent, self.unsent = self.unsent, Counter()
        return unsent

    def give_back(self, unsent: Counter[str]) -> None:
        with self._lock:
            self.unsent.update(unsent)


def tally(app=None) -> Tally:
    app = app or current_app
    found = app.extensions.get(TALLY)  # every webhook asks: no Tally built to be thrown away
    return found if found is not None else app.extensions.setdefault(TALLY, Tally())


def note(reason: str, path: str, line_code: str | None) -> None:
    """Log and count a degraded answer (no personal data: the path and line only)."""
    tally().note(reason)
    log.warning("degraded answer (%s) to %s on line %s", reason, path, line_code or "-")


def send_counts() -> None:
    """Add this process's unsent counts to the day's in Redis (kept for later if it fails)."""
    counts = tally()
    if not counts.unsent:
        return
    unsent = counts.take_unsent()
    try:
        degraded_answers.add(store.redis(), current_clock().today().isoformat(), unsent)
    except RedisError:
        counts.give_back(unsent)


def counts(app=None) -> dict[str, int]:
    """This process's degraded answers since it started, per reason."""
    return dict(sorted(tally(app).total.items()))
