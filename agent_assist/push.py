"""Server-sent events for one signed-in agent: screen-pops, their state, the queue panel.

The stream blocks on the agent's Redis stream (``XREAD BLOCK``), so a call announced
by the IVR is written to the browser as soon as Redis hands it over; the block
timeout only bounds how often the loop looks at the queue panel and the heartbeat.

Events:
- ``screen_pop`` (``id`` = the Redis stream id): a call offered to this agent
  (``"offer": true`` with ``"expires_in"`` seconds of ring) or taken by them.
  On connecting, calls after ``Last-Event-ID`` are replayed; with none missed (or
  no ``Last-Event-ID``) the current call, if there is one, is sent again.
- ``status``: the agent's state (``GET /api/agents/me``'s object), on connecting and
  whenever it changes.
- ``queue``: the callers waiting in the agent's queues, on connecting and on change.
- ``: heartbeat`` comments keep proxies from closing an idle stream.
- ``unavailable``: Redis failed; the stream ends and the browser reconnects after
  ``SSE_RETRY_MS`` (``agent_assist.errors``).
- ``signed_out``: the sign-in this stream was opened with no longer holds (signed
  out, new password, token revoked, account disabled); the stream ends with it.
  It is looked at every ``ACCOUNT_CHECK_SECONDS``.

While the stream is open the agent's desk counts as there (``agent_shift.desk_seen``);
gone for ``[agents] desk_gone_seconds``, an available agent is set offline (SPEC §6).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from redis import Redis, RedisError

from agent_assist import errors, screen_pop, sse
from agent_assist.sse import comment, message
from agent_assist.waiting import waiting_callers
from domain.agent_states import HELD, AgentState
from live import agent_states, announcements, store
from runtime import current_clock, current_flows
from services import agent_shift
from storage import db

log = logging.getLogger(__name__)

STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
# How often an open stream says the desk is there (well within desk_gone_seconds).
DESK_SEEN_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class Listener:
    username: str
    queues: tuple[str, ...]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def is_current(call: announcements.CallTaken, status: AgentState) -> bool:
    """A call stays current while it holds the agent, and until their next state begins."""
    if status.since is None or (status.status in HELD and status.call_sid in (None, call.call_sid)):
        return True
    try:
        taken = datetime.fromisoformat(call.taken_at)
    except ValueError:
        return False
    return taken >= status.since


def catch_up(
    redis: Redis, username: str, last_event_id: str | None
) -> tuple[str, list[tuple[str, announcements.CallTaken]]]:
    """Where to start reading, and the calls to send at once (oldest first)."""
    key = announcements.stream_key(username)
    latest = redis.xrevrange(key, count=1)
    cursor = _text(latest[0][0]) if latest else "0-0"
    entries: Sequence = ()
    if last_event_id and STREAM_ID.fullmatch(last_event_id) and latest:
        entries = redis.xrange(key, min=f"({last_event_id}", max=cursor)
    if not entries and latest:
        call = announcements.decode(latest[0][1])
        if is_current(call, agent_states.get(redis, username)):
            entries = latest
    out = []
    for entry_id, fields in entries:
        try:
            out.append((_text(entry_id), announcements.decode(fields)))
        except (ValueError, TypeError, KeyError):
            log.warning("skipping an unreadable call announcement %s", _text(entry_id))
    return cursor, out


def pop_message(app: Flask, entry_id: str, call: announcements.CallTaken, replayed: bool) -> str:
    """The ``screen_pop`` event for ``call`` (an offer or a call taken)."""
    with app.app_context():
        now = current_clock().now()
        try:
            data = screen_pop.build(call, db.session(), current_flows(), now)
        except Exception:
            # The agent must still see the call; eligibility can be looked up by hand.
            log.exception("screen-pop for %s built without records", call.call_sid)
            data = screen_pop.bare(call)
            data["error"] = "records unavailable: look the caller up by hand"
    data["replayed"] = replayed
    data["offer"] = call.offer
    if call.offer:
        data["expires_in"] = call.expires_in
    return message("screen_pop", data, entry_id)


def stream(
    app: Flask,
    listener: Listener,
    last_event_id: str | None,
    signed_in: Callable[[], bool] | None = None,
) -> Iterator[str]:
    """The agent's events; with ``signed_in``, only while it answers True (``signed_out``)."""
    try:
        redis = store.dedicated(app)
    except RedisError as exc:
        log.warning("call stream unavailable for an agent: %s", exc)
        yield unavailable(app, exc)
        return
    try:
        yield from _stream(app, redis, listener, last_event_id, SignInWatch(app, signed_in))
    finally:
        if redis is not store.redis(app):
            redis.close()


def unavailable(app: Flask, exc: Exception) -> str:
    """The event a stream ends with when a backend fails: the browser reconnects after a while."""
    return errors.unavailable_stream_text(exc, int(app.config["SSE_RETRY_MS"]))


class SignInWatch:
    """Looks every ``ACCOUNT_CHECK_SECONDS`` whether a stream's sign-in still holds."""

    def __init__(self, app: Flask, signed_in: Callable[[], bool] | None):
        self.signed_in = signed_in
        self.every = float(app.config["ACCOUNT_CHECK_SECONDS"])
        self.looked = time.monotonic()

    def ended(self) -> bool:
        if self.signed_in is None or time.monotonic() - self.looked < self.every:
            return False
        self.looked = time.monotonic()
        return not self.signed_in()


SIGNED_OUT = {"reason": "signed_out", "message": "已退出登录 signed out"}


def _stream(
    app: Flask,
    redis: Redis,
    listener: Listener,
    last_event_id: str | None,
    watch: SignInWatch,
) -> Iterator[str]:
    config = app.config
    key = announcements.stream_key(listener.username)
    block_ms = int(config["SSE_BLOCK_MS"])
    heartbeat = float(config["SSE_HEARTBEAT_SECONDS"])
    ends = time.monotonic() + float(config["SSE_MAX_SECONDS"])

    yield sse.retry(int(config["SSE_RETRY_MS"]))
    try:
        cursor, first = catch_up(redis, listener.username, last_event_id)
        status = agent_states.get(redis, listener.username)
        _desk_seen(app, listener)
    except RedisError as exc:
        log.exception("call stream unavailable for an agent")
        yield unavailable(app, exc)
        return
    yield message("status", _shown(listener, status))
    seen = time.monotonic()
    for entry_id, call in first:
        yield pop_message(app, entry_id, call, replayed=True)
    queue_seen = None
    beat = time.monotonic()

    while time.monotonic() < ends:
        if watch.ended():
            yield message("signed_out", SIGNED_OUT)
            return
        try:
            queue = _queue_snapshot(app, redis, listener)
            if queue["callers"] != queue_seen:
                queue_seen = queue["callers"]
                yield message("queue", queue)
            current = agent_states.get(redis, listener.username)
            if current != status:
                status = current
                yield message("status", _shown(listener, status))
            if time.monotonic() - seen >= DESK_SEEN_EVERY:
                _desk_seen(app, listener)
                seen = time.monotonic()
            found = redis.xread({key: cursor}, count=16, block=block_ms)
        except RedisError as exc:
            log.exception("call stream interrupted for an agent")
            yield unavailable(app, exc)
            return
        for _stream, entries in found or ():
            for raw_id, fields in entries:
                cursor = _text(raw_id)
                try:
                    call = announcements.decode(fields)
                except (ValueError, TypeError, KeyError):
                    log.warning("skipping an unreadable call announcement %s", cursor)
                    continue
                yield pop_message(app, cursor, call, replayed=False)
                beat = time.monotonic()
        if time.monotonic() - beat >= heartbeat:
            yield comment("heartbeat")
            beat = time.monotonic()


def _queue_snapshot(app: Flask, redis: Redis, listener: Listener) -> dict:
    with app.app_context():
        now = current_clock().now()
    callers = [
        {k: v for k, v in c.as_dict(now).items() if k != "wait_seconds"}
        for c in waiting_callers(redis, listener.queues, now)
    ]
    return {"server_time": now.isoformat(), "callers": callers}


def _shown(listener: Listener, state: AgentState) -> dict:
    return agent_shift.Shown(listener.username, state).as_dict()


def _desk_seen(app: Flask, listener: Listener) -> None:
    with app.app_context():
        agent_shift.desk_seen(listener.username)
