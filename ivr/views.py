"""Twilio's webhooks (SPEC §5): the voice URL, every URL its TwiML leads to, agents, status.

Every request must carry a valid ``X-Twilio-Signature`` for the public URL
(``PUBLIC_BASE_URL`` + path + query) or it gets 403. Anything else that goes
wrong still answers TwiML: a caller is re-prompted or put through to a person,
and with Redis or the database down the degraded answer needs neither — Twilio
holds the queue, and the line's hours come from the flows in memory.

A gather action URL carries the step it answers (``?step=N``): a webhook Twilio
retries for a step already answered gets the same TwiML back, and its effects
(failed tries, SMS, callbacks, queue counts) are not run twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from flask import Blueprint, Response, current_app, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import Forbidden, HTTPException

from domain.masking import mask_phone
from flows import CALLS
from ivr import engine, replies, twiml
from ivr.call_state import CallState
from ivr.callers import caller_number
from ivr.facts import SqlFacts
from live import announcements, call_store, lockout, queueboard, store
from runtime import current_clock, current_flows
from services import call_jobs, callbacks
from storage import db
from storage.models import Agent, Callback

log = logging.getLogger(__name__)
bp = Blueprint("ivr", __name__, url_prefix="/ivr")
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
Turn = Callable[[CallState, SqlFacts], tuple[CallState, replies.Reply]]


# -- the edge: signatures, TwiML responses, the degraded answer ----------------------------


def public_url() -> str:
    """The URL Twilio requested and signed: the public origin behind a proxy."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + ("?" + query if query else "")


def signed_by_twilio() -> bool:
    """The request carries a valid ``X-Twilio-Signature`` (never true without a token)."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(
        token
        and signature
        and RequestValidator(token).validate(public_url(), request.form, signature)
    )


@bp.before_request
def check_signature() -> None:
    if not signed_by_twilio():
        log.warning("refused an unsigned or badly signed request to %s", request.path)
        raise Forbidden("invalid Twilio signature")


def xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def voice():
    return current_flows().call_flow.voice


def _day() -> str:
    return current_clock().today().isoformat()


def _line(code: str | None):
    flows = current_flows()
    return flows.lines.get(code or "") or flows.line(flows.call_flow.call.line)


def degraded(line_code: str | None = None) -> Response:
    """A person if the line is open (Twilio keeps the queue), else its number and hours."""
    flows = current_flows()
    line = _line(line_code)
    now = current_clock().local()
    say = [engine.phrase(flows, "degraded_transfer", now, line.code)]
    if line.is_open(now):
        return xml(
            twiml.enqueue(
                voice(),
                say,
                line.queue,
                wait_url=url_for("ivr.queue_wait", line=line.code),
                done_url=url_for("ivr.queue_done", line=line.code),
            )
        )
    return xml(twiml.say_then(voice(), [engine.phrase(flows, "degraded_closed", now, line.code)]))


@bp.errorhandler(Exception)
def unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return error
    log.exception("webhook %s failed; answering in degraded mode", request.path)
    try:
        return degraded(request.args.get("line"))
    except Exception:  # the flows themselves are fine (checked at start); belt and braces
        log.exception("degraded answer failed")
        return xml(twiml.hangup())


# -- running the engine for one webhook ----------------------------------------------------


def _facts() -> SqlFacts:
    return SqlFacts(db.session(), store.redis(), current_flows(), current_clock())


def _new_state(sid: str) -> CallState:
    return CallState(
        call_sid=sid,
        caller=caller_number(request.form.get("From") or request.form.get("Caller")),
        called=request.form.get("To") or request.form.get("Called") or None,
    )


def _run(sid: str, step: int, turn: Turn, when_lost: Turn | None = None) -> Response:
    """Answer step ``step`` of call ``sid`` once; a retry gets the first answer again."""
    redis = store.redis()
    begun = call_store.begin(redis, sid, step, CallState.from_json)
    if begun.reply is not None:
        return xml(begun.reply)
    if not begun.claimed:
        reply = call_store.wait_for_reply(redis, sid, step)
        if reply is not None:
            return xml(reply)
    flows = current_flows()
    facts = _facts()
    state = begun.state
    if state is None:
        state, reply = (when_lost or _lost)(_new_state(sid), facts)
    elif step != state.step or not begun.claimed:
        # Stale or duplicate: say again where the call is, and change nothing.
        state, reply = engine.jump(flows, state, state.node or flows.call_flow.call.lost, facts)
        reply.effects.clear()
        return xml(_render(state, reply))
    else:
        state, reply = turn(state, facts)
    state.step = step + 1
    pipe = redis.pipeline(transaction=False)
    _effects(state, reply, step, pipe)
    # The database is done with: its connection must not wait idle in transaction
    # through the Redis writes below, while other calls of this worker queue for it.
    db.release()
    body = _render(state, reply)
    call_store.finish(redis, state, step, body, flows.call_flow.call.state_ttl_seconds, pipe)
    pipe.execute()
    _log_turn(state, reply)
    return xml(body)


def _lost(state: CallState, facts: SqlFacts):
    state.unverified_reason = "lost"
    return engine.jump(current_flows(), state, current_flows().call_flow.call.lost, facts)


def _render(state: CallState, reply: replies.Reply) -> str:
    line = state.line or current_flows().call_flow.call.line
    return twiml.render(
        reply,
        voice(),
        action=url_for("ivr.gather", step=state.step),
        wait_url=url_for("ivr.queue_wait", line=line),
        done_url=url_for("ivr.queue_done", line=line, step=state.step),
    )


def _effects(state: CallState, reply: replies.Reply, step: int, pipe) -> None:
    flows, clock = current_flows(), current_clock()
    redis = store.redis()
    now = clock.now()
    for effect in reply.effects:
        if isinstance(effect, replies.RecordAuthFailure):
            lockout.record(
                redis,
                effect.caller_key,
                effect.policyholder_ids,
                f"{state.call_sid}:{step}",
                now.timestamp(),
                flows.call_flow.limits.failure_window_seconds,
                pipe=pipe,
            )
        elif isinstance(effect, replies.SendSmsLink):
            call_jobs.enqueue_sms(
                current_app._get_current_object(),
                effect.to,
                effect.body,
                state.called,
                ref=f"{state.call_sid}-{step}",
            )
        elif isinstance(effect, replies.RequestCallback):
            callbacks.book(
                db.session(), redis, flows, clock.tz, effect, state.call_sid, state.called
            )
    if isinstance(reply.wait, replies.Enqueue):
        state.enqueued_at = now.timestamp()
        queueboard.enqueued(redis, reply.wait.queue, state.call_sid, state.enqueued_at, _day())
        # What the agents' queue panel may show of this caller (the name is masked already).
        queueboard.describe(redis, state.call_sid, state.insured_name, state.service, None)


def _log_turn(state: CallState, reply: replies.Reply) -> None:
    log.info(
        "call %s from %s step %s at %s verified=%s%s",
        state.call_sid,
        mask_phone(state.caller) or "withheld",
        state.step,
        state.node,
        state.verified,
        f" queue={reply.wait.queue}" if isinstance(reply.wait, replies.Enqueue) else "",
    )


def _sid() -> str | None:
    sid = (request.form.get("CallSid") or "").strip()
    return sid or None


def _step() -> int | None:
    try:
        step = int(request.args.get("step", ""))
    except ValueError:
        return None
    return step if step >= 0 else None


# -- the call ------------------------------------------------------------------------------


@bp.post("/voice")
def voice_webhook():
    sid = _sid()
    if sid is None:
        return degraded()
    flows = current_flows()
    return _run(
        sid,
        0,
        lambda state, facts: engine.start(flows, state, facts),
        when_lost=lambda state, facts: engine.start(flows, state, facts),
    )


def _event() -> engine.Event:
    digits = (request.form.get("Digits") or "").strip()
    if digits:
        return engine.Digits(digits)
    speech = (request.form.get("SpeechResult") or "").strip()
    if speech:
        return engine.Speech(speech)
    return engine.Silence()


@bp.post("/gather")
def gather():
    sid, step = _sid(), _step()
    if sid is None:
        return degraded()
    flows = current_flows()
    if step is None:
        state = call_store.load(store.redis(), sid, CallState.from_json)
        if state is None:
            return degraded()
        step = state.step  # a garbled URL: take it as an answer to the current question
    event = _event()
    return _run(sid, step, lambda state, facts: engine.step(flows, state, event, facts))


# -- queues --------------------------------------------------------------------------------


@bp.post("/queue/wait")
def queue_wait():
    """Twilio's waitUrl: position and estimated wait (not at the head), then hold music."""
    flows = current_flows()
    settings = flows.call_flow.queue
    line = _line(request.args.get("line"))
    callback_queue = flows.callback_queue(line)
    in_callback_queue = request.args.get("queue") == callback_queue
    now = current_clock().local()
    try:
        position = int(request.form.get("QueuePosition", "0"))
    except ValueError:
        position = 0
    texts = []
    if position > 1:
        try:
            seconds = queueboard.estimated_wait(
                store.redis(),
                [line.queue, callback_queue],
                position,
                current_clock().now().timestamp(),
                settings.history_seconds,
                settings.fallback_seconds_per_caller,
            )
        except RedisError:
            seconds = settings.fallback_seconds_per_caller * position
        texts.append(
            engine.phrase(
                flows,
                "queue_position",
                now,
                line.code,
                ahead=position - 1,
                minutes=max(1, math.ceil(seconds / 60)),
            )
        )
    elif position == 1:
        texts.append(engine.phrase(flows, "queue_head", now, line.code))
    if in_callback_queue:
        return xml(twiml.hold(voice(), texts))
    leave = engine.phrase(
        flows, "queue_leave", now, line.code, key=engine.spoken_key(flows, settings.leave_key)
    )
    return xml(twiml.hold(voice(), texts, leave, url_for("ivr.queue_key", line=line.code)))


@bp.post("/queue/key")
def queue_key():
    """A key pressed during the hold music: the leave key takes the caller out for a callback."""
    flows = current_flows()
    if (request.form.get("Digits") or "").strip()[:1] == flows.call_flow.queue.leave_key:
        return xml(twiml.leave())
    return xml(twiml.redirect(url_for("ivr.queue_wait", line=_line(request.args.get("line")).code)))


@bp.post("/queue/done")
def queue_done():
    """The Enqueue action: the caller left the queue (QueueResult)."""
    flows = current_flows()
    line = _line(request.args.get("line"))
    sid = _sid()
    result = (request.form.get("QueueResult") or "").strip()
    if result == "leave":
        node = flows.call_flow.queue.on_leave
    elif result in ("queue-full", "error", "system-error"):
        node = flows.call_flow.queue.on_error
    else:
        node = None
    try:
        redis = store.redis()
        state = call_store.load(redis, sid, CallState.from_json) if sid else None
        queue = (state.queue if state and state.queue else None) or line.queue
        if sid:
            queueboard.left(redis, queue, sid, result, _day())
    except Exception:
        log.exception("call %s left the queue (%s) but could not be recorded", sid, result)
        state = None
        if node is not None:
            # No state to book a callback with: tell the caller the line's number instead.
            now = current_clock().local()
            texts = [engine.phrase(flows, "queue_failed", now, line.code)]
            return xml(twiml.say_then(voice(), texts))
    if node is None or sid is None:
        # bridged, hangup, redirected: the conversation is over, or the call is elsewhere.
        return xml(twiml.hangup())

    def go(state: CallState, facts):
        state.line = state.line or line.code
        return engine.jump(flows, state, node, facts)

    def lost(state: CallState, facts):
        state.line = line.code
        return engine.jump(flows, state, node, facts)

    step = _step()
    if step is None:
        step = state.step if state else 0
    return _run(sid, step, go, when_lost=lost)


@bp.post("/queue/connect")
def queue_connect():
    """The ``<Queue url>`` document, on the caller's leg: an agent is taking the call.

    The moment to count the answer and push the screen-pop, before the bridge.
    Only Say, Play, Pause and Redirect are allowed here.
    """
    flows = current_flows()
    line = _line(request.args.get("line"))
    sid = _sid()
    say = [engine.phrase(flows, "queue_connecting", current_clock().local(), line.code)]
    if sid is None:
        return xml(twiml.say_then(voice(), say, hangup=False))
    try:
        _taken(sid, line, (request.form.get("DequeingCallSid") or "").strip())
    except Exception:
        log.exception("call %s: could not record the answer", sid)
    return xml(twiml.say_then(voice(), say, hangup=False))


def _taken(sid: str, line, agent_sid: str) -> None:
    flows, clock = current_flows(), current_clock()
    redis = store.redis()
    now = clock.now()
    state = call_store.load(redis, sid, CallState.from_json)
    queue = (state.queue if state and state.queue else None) or line.queue
    entered = queueboard.entered_at(redis, queue, sid)
    if entered is not None:
        waited = now.timestamp() - entered
    else:
        try:
            waited = float(request.form.get("QueueTime", "0"))
        except ValueError:
            waited = 0.0
    settings = flows.call_flow
    first = queueboard.answered(
        redis,
        queue,
        sid,
        now.timestamp(),
        _day(),
        waited,
        settings.limits.service_level_seconds,
        settings.queue.history_size,
    )
    agent = call_store.agent_of(redis, agent_sid) if agent_sid else None
    if state is not None:
        state.agent = agent
        call_store.save(redis, state, settings.call.state_ttl_seconds)
        if state.callback_id is not None:
            callback = db.session().get(Callback, state.callback_id)
            if callback is not None:
                callbacks.answered(db.session(), redis, flows, callback)
    if first and agent:
        announcements.announce(
            redis,
            announcements.CallTaken(
                call_sid=sid,
                agent=agent,
                verified=bool(state and state.verified),
                policyholder_id=state.policyholder_id if state else None,
                insured_id=state.insured_id if state else None,
                service=state.service if state else None,
                line=(state.line if state and state.line else None) or line.code,
                queue=queue,
                queue_seconds=max(0, round(waited)),
                caller=state.caller if state else caller_number(request.form.get("From")),
                taken_at=now.isoformat(),
            ),
        )
    log.info("call %s taken by agent %s after %ss in %s", sid, agent, round(waited), queue)


# -- agents --------------------------------------------------------------------------------


@bp.post("/agent")
def agent():
    """The agents' TwiML App: dial the queue this agent should serve next."""
    flows = current_flows()
    now = current_clock().local()
    identity = (request.form.get("From") or request.form.get("Caller") or "").strip()
    username = identity[len("client:") :] if identity.startswith("client:") else ""
    if not username:
        return xml(twiml.say_then(voice(), [engine.phrase(flows, "agent_unknown", now)]))
    try:
        found = db.session().scalar(select(Agent).where(Agent.username == username))
    except Exception:
        log.exception("agent %s: database unavailable; serving the default line", username)
        return _dial(flows.line(flows.call_flow.call.line).queue)
    if found is None:
        return xml(twiml.say_then(voice(), [engine.phrase(flows, "agent_unknown", now)]))
    queues = found.queue_list
    if not queues:
        return xml(twiml.say_then(voice(), [engine.phrase(flows, "agent_no_queues", now)]))
    redis = store.redis()
    try:
        chosen = _next_queue(redis, queues)
        agent_sid = _sid()
        if agent_sid:
            call_store.remember_agent(redis, agent_sid, username)
    except RedisError:
        log.exception("agent %s: Redis unavailable; serving their first queue", username)
        chosen = queues[0]
    return _dial(chosen)


def _next_queue(redis, queues: list[str]) -> str:
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


def _dial(queue: str) -> Response:
    flows = current_flows()
    found = flows.queue(queue)
    url = url_for("ivr.queue_connect", **({"line": found.line.code} if found else {}))
    return xml(twiml.dial_queue(queue, url))


# -- status callbacks ----------------------------------------------------------------------


@bp.post("/status")
def status():
    """Call status callbacks: the inbound call ended, or a callback attempt did."""
    flows, clock = current_flows(), current_clock()
    sid = _sid()
    call_status = (request.form.get("CallStatus") or "").strip()
    if call_status in ENDED and sid:
        queues = [queue.name for queue in flows.queues()]
        queueboard.gone(store.redis(), queues, sid, _day())
    callback_id = request.args.get("callback", "")
    if callback_id.isdigit() and call_status in ENDED:
        session = db.session()
        callback = session.get(Callback, int(callback_id))
        if callback is not None:
            outcome = callbacks.call_ended(
                session, store.redis(), flows, clock.tz, callback, call_status, sid, clock.now()
            )
            log.info("callback %s: call %s %s → %s", callback.id, sid, call_status, outcome)
    return xml(str(twiml.VoiceResponse()))


# -- the call placed for a callback --------------------------------------------------------


@bp.post("/callback/answer")
def callback_answer():
    """The customer picked up a callback: press the key to be put through (not voicemail)."""
    flows = current_flows()
    sid = _sid()
    callback = _callback()
    now = current_clock().local()
    if sid is None or callback is None or callback.status != callbacks.DIALLING:
        return xml(twiml.say_then(voice(), [engine.phrase(flows, "goodbye", now)]))
    state = CallState(
        call_sid=sid,
        caller=callback.number,
        called=callback.from_number,
        verified=callback.verified,
        policyholder_id=callback.policyholder_id,
        policyholder_phone=callback.number if callback.verified else None,
        insured_id=callback.insured_id,
        service=callback.service,
        line=callback.line,
        callback_id=callback.id,
        node="callback",
    )
    call_store.save(store.redis(), state, flows.call_flow.call.state_ttl_seconds)
    return _callback_prompt(callback, again=False)


def _callback() -> Callback | None:
    raw = request.args.get("id", "")
    return db.session().get(Callback, int(raw)) if raw.isdigit() else None


def _callback_prompt(callback: Callback, again: bool) -> Response:
    flows = current_flows()
    key = flows.call_flow.callbacks.answer_key
    text = engine.phrase(
        flows,
        "callback_greeting",
        current_clock().local(),
        callback.line,
        key=engine.spoken_key(flows, key),
    )
    action = url_for("ivr.callback_connect", id=callback.id, again=int(again))
    silence = url_for("ivr.callback_connect", id=callback.id, again=int(again), silent=1)
    return xml(twiml.gather_key(voice(), text, action, silence))


@bp.post("/callback/connect")
def callback_connect():
    flows = current_flows()
    sid = _sid()
    callback = _callback()
    now = current_clock().local()
    goodbye = xml(twiml.say_then(voice(), [engine.phrase(flows, "goodbye", now)]))
    if sid is None or callback is None:
        return goodbye
    pressed = (request.form.get("Digits") or "").strip()[:1]
    if request.args.get("silent") or pressed != flows.call_flow.callbacks.answer_key:
        if request.args.get("again") == "0":
            return _callback_prompt(callback, again=True)
        return goodbye  # the status callback then counts the attempt as not reached
    session, redis = db.session(), store.redis()
    callbacks.connected(session, callback)
    line = flows.line(callback.line)
    queue = flows.callback_queue(line)
    state = call_store.load(redis, sid, CallState.from_json) or CallState(
        call_sid=sid, callback_id=callback.id
    )
    state.line, state.queue = line.code, queue
    state.enqueued_at = current_clock().now().timestamp()
    state.node = "callback"
    call_store.save(redis, state, flows.call_flow.call.state_ttl_seconds)
    queueboard.enqueued(redis, queue, sid, state.enqueued_at, _day())
    say = [engine.phrase(flows, "transferring", now, line.code)]
    return xml(
        twiml.enqueue(
            voice(),
            say,
            queue,
            wait_url=url_for("ivr.queue_wait", line=line.code, queue=queue),
            done_url=url_for("ivr.queue_done", line=line.code, step=state.step),
        )
    )
