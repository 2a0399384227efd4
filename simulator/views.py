"""``/simulator``: the queues of a hotline without Twilio, for ``hotline call`` and the desk.

Registered only when ``HOTLINE_SIMULATOR`` is on (``hotline serve --demo`` turns it
on). Two kinds of client, each with the credentials it would have with Twilio:

- the ``hotline call`` terminal, standing in for Twilio's side of a caller: it signs
  every request like a Twilio webhook (``X-Twilio-Signature`` with the auth token),
  registers its caller when the TwiML enqueues it, asks where the caller is, and
  takes it out when it hangs up or leaves;
- a signed-in agent (the desk's session cookie with its CSRF token, or a Bearer
  token), who takes the next call: ``simulator.switchboard.take_next``.

Every answer is JSON (errors in ``agent_assist.errors``' shape); the desk's plain form gets
a flashed message and its page back.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, current_app, flash, jsonify, redirect, request, url_for
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from agent_assist import auth, csrf
from agent_assist.errors import error_response, http_error_response
from domain.masking import mask_phone
from ivr.signature import signed_by_twilio
from simulator import browser_phones, handsets, rest, switchboard
from simulator.softphone import WebhookFailed

log = logging.getLogger(__name__)
bp = Blueprint("simulator", __name__, url_prefix="/simulator")


def init_app(app: Flask) -> None:
    """Only with ``HOTLINE_SIMULATOR`` on: otherwise ``/simulator`` does not exist (404)."""
    if switchboard.enabled(app):
        app.register_blueprint(bp)
        rest.init_app(app)


@bp.before_request
def _twilio_clock():
    # Twilio's timers (a <Dial timeout>, an unanswered call) run out as anyone asks.
    app = current_app._get_current_object()
    browser_phones.ring_out_due(app)
    handsets.unanswered_due(app)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return http_error_response(exc, keep=())


@bp.errorhandler(RedisError)
def _store_down(exc: RedisError):
    log.warning("simulator: store unavailable: %s", exc)
    return error_response(503, "store_unavailable", "the simulator's store is unavailable")


def _twilio_side() -> None:
    if not signed_by_twilio():
        abort(403, "invalid Twilio signature: sign with the server's TWILIO_AUTH_TOKEN")


# -- the caller's side (signed like Twilio) ------------------------------------------------


@bp.get("/")
def status():
    """Is the simulator on, and who waits where (the terminal asks before it dials)."""
    _twilio_side()
    holder = switchboard.queues()
    return jsonify({"simulator": "on", "queues": holder.sizes()})


@bp.post("/callers")
def register():
    """The TwiML enqueued a caller: ``CallSid``, ``From``, ``To``, ``Queue``, ``Action``."""
    _twilio_side()
    form = request.form
    sid, queue = (form.get("CallSid") or "").strip(), (form.get("Queue") or "").strip()
    if not sid or not queue or len(queue) > 64:
        abort(400, "CallSid and Queue (at most 64 characters) are required")
    holder = switchboard.queues()
    holder.add(
        switchboard.SimulatedCall(
            call_sid=sid,
            queue=queue,
            caller=(form.get("From") or "").strip(),
            called=(form.get("To") or "").strip(),
            action=(form.get("Action") or "").strip(),
            wait_url=(form.get("WaitUrl") or "").strip() or None,
            enqueued_at=holder.now,
            direction="outbound-api" if form.get("Direction") == "outbound-api" else "inbound",
        )
    )
    return _state(holder, sid, 201)


@bp.get("/callers/<sid>")
def caller_state(sid: str):
    """Where the caller is: waiting (position, size), bridged (to which agent) or left."""
    _twilio_side()
    return _state(switchboard.queues(), sid)


@bp.post("/callers/<sid>/leave")
def leave(sid: str):
    """The caller hung up or left the queue (e.g. pressed 1 for a callback)."""
    _twilio_side()
    holder = switchboard.queues()
    holder.remove(sid)
    return _state(holder, sid)


@bp.post("/callers/<sid>/hangup")
def caller_hangs_up(sid: str):
    """The caller hangs up while an agent's phone rings or they talk (an offered call)."""
    _twilio_side()
    if browser_phones.caller_hangs_up(current_app._get_current_object(), sid) is None:
        abort(404, f"no simulated call {sid}")
    return _state(switchboard.queues(), sid)


def _state(holder: switchboard.StoreQueues, sid: str, status: int = 200):
    call = holder.get(sid)
    if call is None:
        abort(404, f"no simulated call {sid}")
    body = call.as_dict(*holder.place(call))
    # What the caller's handset received meanwhile (an SMS with a link, a confirmation).
    body["messages"] = handsets.messages(holder.redis, call.customer)
    response = jsonify(body)
    response.status_code = status
    return response


@bp.get("/phones/<path:number>")
def handset(number: str):
    """What reached ``number``: the texts, and the hotline's calls ringing it now."""
    _twilio_side()
    redis = switchboard.queues().redis
    return jsonify(
        {
            "number": number,
            "messages": handsets.messages(redis, number),
            "calls": handsets.ringing(redis, number),
        }
    )


@bp.post("/phones/<path:number>/answer")
def answer_handset(number: str):
    """``number`` picks up the hotline's call ``CallSid``: where its TwiML is (the ``Url``)."""
    _twilio_side()
    wanted = (request.form.get("CallSid") or "").strip()
    redis = switchboard.queues().redis
    known = handsets.outbound(redis, wanted) if wanted else None
    if known is None or known.get("to") != number:
        abort(404, f"no call {wanted or '(CallSid missing)'} to {number}")
    call = handsets.answer(redis, wanted)
    if call is None:
        abort(409, f"call {wanted} no longer rings ({known.get('state')})")
    return jsonify(call)


# -- the agent's side ------------------------------------------------------------------------


@bp.post("/take")
def take():
    """Take the next call for the signed-in agent (optionally only from ``queue``)."""
    agent = auth.current_agent()
    if agent is None:
        return _answer(401, "unauthorized", "sign in at /agent/ or send a Bearer token")
    csrf.check()  # a session cookie alone is not enough: the desk's token must come too
    wanted = (
        request.form.get("queue") or (request.get_json(silent=True) or {}).get("queue") or ""
    ).strip()
    if wanted and wanted not in agent.queue_list:
        return _answer(403, "not_your_queue", f"{agent.username} does not serve the {wanted} queue")
    if not current_app.config.get("TWILIO_AUTH_TOKEN"):
        return _answer(
            503,
            "no_signing_token",
            "TWILIO_AUTH_TOKEN is unset: webhooks cannot be signed (hotline serve --demo sets one)",
        )
    try:
        taken = switchboard.take_next(agent.username)
    except WebhookFailed as exc:
        log.error("simulator: taking a call for %s failed: %s", agent.username, exc)
        return _answer(502, "webhook_failed", "the hotline refused the simulated Twilio request")
    if taken.queue is None:
        return _answer(422, "agent_refused", " ".join(taken.heard) or "no queue to serve")
    if wanted and taken.queue != wanted:
        # /ivr/agent chooses the queue, as it does for a real browser phone.
        log.info(
            "simulator: %s asked for %s, /ivr/agent dialled %s", agent.username, wanted, taken.queue
        )
    if taken.call is None:
        return _answer(
            409,
            "queue_empty",
            f"没有来电在 {taken.queue} 队列等待 (nobody is waiting in the {taken.queue} queue)",
        )
    call = taken.call
    body = {
        "taken": True,
        "call_sid": call.call_sid,
        "queue": call.queue,
        "agent": agent.username,
        "caller": mask_phone(call.customer) or "withheld",
    }
    message = f"已接通 {body['caller']}（{call.queue}）：来电信息已推送 (screen-pop sent)"
    return _answer(200, None, message, body)


# -- the agent's simulated browser phone (the desk's phone controls without Twilio) -------------


@bp.get("/phone")
def phone():
    """The signed-in agent's phone: idle, ringing (masked caller, seconds left) or on a call."""
    agent = auth.current_agent()
    if agent is None:
        return error_response(401, "unauthorized", "sign in at /agent/ or send a Bearer token")
    return jsonify(browser_phones.state(agent.username, switchboard.queues().now))


@bp.post("/phone/<action>")
def phone_action(action: str):
    """接听 accept, 拒接 reject or 挂断 hang up, as the Voice SDK's Call would."""
    actions = {
        "accept": browser_phones.accept,
        "reject": browser_phones.reject,
        "hangup": browser_phones.hang_up,
    }
    if action not in actions:
        abort(404, f"no phone action {action}: accept, reject or hangup")
    agent = auth.current_agent()
    if agent is None:
        return error_response(401, "unauthorized", "sign in at /agent/ or send a Bearer token")
    csrf.check()
    try:
        shown = actions[action](current_app._get_current_object(), agent.username)
    except browser_phones.NotRinging as exc:
        return error_response(409, "phone_not_ringing", str(exc))
    except WebhookFailed as exc:
        log.error("simulator: %s on %s's phone failed: %s", action, agent.username, exc)
        return error_response(502, "webhook_failed", "the hotline refused the simulated request")
    return jsonify(shown)


def _answer(status: int, code: str | None, message: str, body: dict | None = None):
    """JSON for scripts and fetch; a flashed message and the desk for its plain form."""
    if _wants_json():
        if code is not None:
            return error_response(status, code, message)
        response = jsonify({**(body or {}), "message": message})
        response.status_code = status
        return response
    flash(message, "error" if code else "success")
    return redirect(url_for("desk.home"))


def _wants_json() -> bool:
    if request.is_json or request.headers.get("Authorization"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
