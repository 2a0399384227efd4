"""Routing agents: which queue an agent's browser phone dials when it calls in.

Callers returning on a callback go first, then the queue whose head has waited
longest, among the queues the agent serves. Without the database every agent
serves the call flow's line; without Redis, their first queue.
"""

from __future__ import annotations

import logging

from flask import url_for
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from flows import CALLS
from ivr import twiml
from live import call_store, queueboard, store
from runtime import current_flows
from runtime.exceptions import HotlineError
from storage import db
from storage.models import Agent

log = logging.getLogger(__name__)


class UnknownAgent(HotlineError):
    """The phone calling in is not a known agent's (or no agent's at all)."""


class NoQueues(HotlineError):
    """The agent serves no queue."""


def dial_next(username: str, agent_sid: str | None) -> str:
    """The TwiML dialling the queue ``username`` should serve next, from their call ``agent_sid``.

    The agent's call is remembered, so the caller it dequeues knows who took it.
    """
    flows = current_flows()
    if not username:
        raise UnknownAgent(username)
    try:
        found = db.session().scalar(select(Agent).where(Agent.username == username))
    except Exception:
        log.exception("agent %s: database unavailable; serving the default line", username)
        return dial(flows.line(flows.call_flow.call.line).queue)
    if found is None:
        raise UnknownAgent(username)
    queues = found.queue_list
    if not queues:
        raise NoQueues(username)
    redis = store.redis()
    try:
        chosen = next_queue(redis, queues)
        if agent_sid:
            call_store.remember_agent(redis, agent_sid, username)
    except RedisError:
        log.exception("agent %s: Redis unavailable; serving their first queue", username)
        chosen = queues[0]
    return dial(chosen)


def next_queue(redis: Redis, queues: list[str]) -> str:
    """Callers returning on a callback first, then the queue whose head waited longest."""
    flows = current_flows()
    lines = [found.line for found in map(flows.queue, queues) if found and found.kind == CALLS]
    callback_queues = [flows.callback_queue(line) for line in lines]
    heads = queueboard.heads(redis, [*callback_queues, *queues])
    for group in (callback_queues, queues):
        waiting = [(heads[q][1], q) for q in group if heads[q][0] and heads[q][1] is not None]
        if waiting:
            return min(waiting)[1]
    return queues[0]


def dial(queue: str) -> str:
    """Dial ``queue``; the caller taken hears the ``<Queue url>`` document of its line."""
    found = current_flows().queue(queue)
    url = url_for("ivr.queue_connect", **({"line": found.line.code} if found else {}))
    return twiml.dial_queue(queue, url)
