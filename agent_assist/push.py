"""Server-sent events for one signed-in agent: screen-pops, their status, the queue panel.

The stream blocks on the agent's Redis stream (``XREAD BLOCK``), so a call announced
by the IVR is written to the browser as soon as Redis hands it over; the block
timeout only bounds how often the loop looks at the queue panel and the heartbeat.

Events:
- ``screen_pop`` (``id`` = the Redis stream id): a call taken by this agent.
  On connecting, calls after ``Last-Event-ID`` are replayed; with none missed (or
  no ``Last-Event-ID``) the current call, if there is one, is sent again.
- ``status``: the agent's status, on connecting and whenever it changes.
- ``queue``: the callers waiting in the agent's queues, on connecting and on change.
- ``: heartbeat`` comments keep proxies from closing an idle stream.
- ``unavailable``: Redis failed; the stream ends and the browser reconnects after
  ``SSE_RETRY_MS`` (``agent_assist.errors``).
- ``signed_out``: the sign-in this stream was opened with no longer holds (signed
  out, new password, token revoked, account disabled); the stream ends with it.
  It is looked at every ``ACCOUNT_CHECK_SECONDS``.
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
from live import announcements, presence, store
from live.presence import AgentStatus, Status
from runtime import current_clock, current_flows
from storage import db

log = logging.getLogger(__name__)

STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
ON_A_CALL = frozenset({Status.BUSY, Status.WRAP_UP})


@dataclass(frozen=True, slots=True)
class Listener:
    username: str
    queues: tuple[str, ...]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def is_current(call: announcements.CallTaken, status: AgentStatus) -> bool:
    """A call stays current until the agent makes themselves available (or goes offline)."""
    if status.since is None or status.status in ON_A_CALL:
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
        if is_current(call, presence.get(redis, username)):
            entries = latest
    out = []
    for entry_id, fields in entries:
        try:
            out.append((_text(entry_id), announcements.decode(fields)))
        except (ValueError, TypeError, KeyError):
            log.warning("skipping an unreadable call announcement %s", _text(entry_id))
    return cursor, out


def pop_message(app: Flask, entry_id: str, call: announcements.CallTaken, replayed: bool) -> str:
    """The ``screen_pop`` event; an available agent the call reached is now busy with it."""
    with app.app_context():
        now = current_clock().now()
        try:
            presence.busy_if_available(
                store.redis(), call.agent, datetime.fromisoformat(call.taken_at), now
            )
        except (RedisError, ValueError):
            log.warning("could not mark the agent busy for %s", call.call_sid)
        try:
            data = screen_pop.build(call, db.session(), current_flows(), now)
        except Exception:
            # The agent must still see the call; eligibility can be looked up by hand.
            log.exception("screen-pop for %s built without records", call.call_sid)
            data = screen_pop.bare(call)
            data["error"] = "records unavailable: look the caller up by hand"
    data["replayed"] = replayed
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
        status = presence.get(redis, listener.username)
    except RedisError as exc:
        log.exception("call stream unavailable for an agent")
        yield unavailable(app, exc)
        return
    yield message("status", status.as_dict())
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
            current = presence.get(redis, listener.username)
            if current != status:
                status = current
                yield message("status", status.as_dict())
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
