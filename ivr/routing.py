"""Routing agents: which queue an agent's browser phone dials when it calls in (a pull).

Only an available agent is put through (SPEC §6), to the queue of the caller the
distribution would offer them next (``services.distribution.callers``: a failed
offer first, then callers returning on a callback, then the longest wait), and the
agent is reserved for that call as if offered it. Without the database every agent
serves the call flow's line; without Redis, their first queue.
"""

from __future__ import annotations

import logging

from flask import url_for
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from domain import agent_states as rules
from domain import distribution as ranking
from ivr import twiml
from live import call_store, queueboard, store
from runtime import current_clock, current_flows
from runtime.exceptions import HotlineError
from services import agent_shift, distribution
from storage import db
from storage.models import Agent

log = logging.getLogger(__name__)


class UnknownAgent(HotlineError):
    """The phone calling in is not a known agent's (or no agent's at all)."""


class NoQueues(HotlineError):
    """The agent serves no queue."""


class NotAvailable(HotlineError):
    """The agent is not available: offline, on a break, or busy with a call."""


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
        agent_shift.pulled(username, agent_sid)
        if agent_sid:
            call_store.remember_agent(redis, agent_sid, username)
    except rules.Refused:
        raise NotAvailable(username) from None
    except RedisError:
        log.exception("agent %s: Redis unavailable; serving their first queue", username)
        chosen = queues[0]
    return dial(chosen)


def next_queue(redis: Redis, queues: list[str]) -> str:
    """The queue of the caller the agent would be offered next; their first if nobody waits."""
    flows = current_flows()
    served = sorted(flows.served(queues))
    waiting = queueboard.waiting(redis, served, current_clock().now().timestamp())
    ranked = ranking.order(distribution.callers(flows, waiting))
    return ranked[0].queue if ranked else queues[0]


def dial(queue: str) -> str:
    """Dial ``queue``; the caller taken hears the ``<Queue url>`` document of its line."""
    found = current_flows().queue(queue)
    url = url_for("ivr.queue_connect", **({"line": found.line.code} if found else {}))
    return twiml.dial_queue(queue, url)
