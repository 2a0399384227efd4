"""Twilio's webhooks (SPEC §5): the voice URL, every URL its TwiML leads to, agents, status.

Every request must carry a valid ``X-Twilio-Signature`` for the public URL
(``ivr.signature``) or it gets 403. A view reads Twilio's form and query, hands
plain values to the module that does the work, and sends back the TwiML it
answers; the errors those modules raise become TwiML here. Anything else that
goes wrong still answers TwiML: the degraded answer (``ivr.degraded``) needs
neither Redis nor the database — Twilio holds the queue, and the line's hours
come from the flows in memory.

The work: one engine turn per call webhook (``ivr.turns``, its effects in
``ivr.effects``), the caller on hold (``ivr.hold``), an agent taking a caller
(``ivr.dequeue``), the queue an agent dials (``ivr.routing``), status callbacks
(``ivr.call_status``) and the call placed for a callback (``ivr.callback_calls``).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Forbidden, HTTPException

from ivr import (
    call_status,
    callback_calls,
    context,
    degraded,
    dequeue,
    engine,
    hold,
    offers,
    routing,
    turns,
    twiml,
    urls,
)
from ivr.callers import caller_number
from ivr.signature import signed_by_twilio
from runtime import current_clock, current_flows
from storage import deadlines

log = logging.getLogger(__name__)
bp = Blueprint("ivr", __name__, url_prefix="/ivr")

# The database's share of a webhook: however many queries it makes, they are over
# (or failed) this long after it began, so that with Redis's own second
# (``live.store``) and a busy machine's delays a caller hears an answer within 5 s
# (SPEC §8).
DATABASE_SECONDS = 3.0


# -- the edge: signatures, TwiML responses, the degraded answer ----------------------------


@bp.before_request
def check_signature() -> None:
    if not signed_by_twilio():
        log.warning("refused an unsigned or badly signed request to %s", request.path)
        raise Forbidden("invalid Twilio signature")


@bp.before_request
def time_budget() -> None:
    deadlines.start(DATABASE_SECONDS)


@bp.teardown_request
def end_time_budget(_error: BaseException | None) -> None:
    deadlines.clear()


@bp.after_request
def send_degraded_counts(response: Response) -> Response:
    degraded.send_counts()  # counted while Redis was down: added now it may answer
    return response


@bp.errorhandler(Exception)
def unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return error
    reason = _reason(error)
    if degraded.not_tried(error):
        # A backend that failed moments ago: that failure was logged with its traceback.
        log.warning("webhook %s: %s unavailable (not tried)", request.path, reason)
    else:
        log.exception("webhook %s failed; answering in degraded mode", request.path)
    line = request.args.get("line")
    if request.endpoint not in degraded.SILENT:  # a status callback: nobody hears a thing
        degraded.note(reason, request.path, line)
    try:
        return xml(degraded.for_endpoint(request.endpoint, line))
    except Exception:  # the flows themselves are fine (checked at start); belt and braces
        log.exception("degraded answer failed")
        return xml(str(twiml.VoiceResponse()))


def _reason(error: Exception) -> str:
    if isinstance(error, RedisError):
        return degraded.REDIS
    if isinstance(error, SQLAlchemyError):
        return degraded.DATABASE
    return degraded.ERROR


def _no_state() -> Response:
    """A request the IVR cannot place in any call: start the caller on the degraded answer."""
    degraded.note(degraded.NO_STATE, request.path, request.args.get("line"))
    return xml(degraded.answer(request.args.get("line")))


def xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _said(message: str) -> Response:
    """A message of the call flow, then hang up: how a refused request ends."""
    now = current_clock().local()
    return xml(twiml.say_then(context.voice(), [engine.phrase(current_flows(), message, now)]))


# -- what Twilio's request says ------------------------------------------------------------


def _sid() -> str | None:
    sid = (request.form.get("CallSid") or "").strip()
    return sid or None


def _step() -> int | None:
    try:
        step = int(request.args.get("step", ""))
    except ValueError:
        return None
    return step if step >= 0 else None


def _event() -> engine.Event:
    """What the caller did; no key and no words is silence (every key is sent: ivr.twiml)."""
    digits = (request.form.get("Digits") or "").strip()
    if digits:
        return engine.Digits(digits)
    speech = (request.form.get("SpeechResult") or "").strip()
    if speech:
        return engine.Speech(speech)
    return engine.Silence()


def _key() -> str:
    """The first key pressed, if any."""
    return (request.form.get("Digits") or "").strip()[:1]


def _numbers() -> turns.Numbers:
    return turns.Numbers(
        caller=caller_number(request.form.get("From") or request.form.get("Caller")),
        called=request.form.get("To") or request.form.get("Called") or None,
    )


def _id(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


# -- the call ------------------------------------------------------------------------------


@bp.post("/voice")
def voice_webhook():
    sid = _sid()
    if sid is None:
        return _no_state()
    return xml(turns.start(sid, _numbers()))


@bp.post("/gather")
def gather():
    sid = _sid()
    if sid is None:
        return _no_state()
    try:
        return xml(turns.answer(sid, _step(), _event(), _numbers()))
    except turns.UnknownCall:
        return _no_state()


@bp.post("/fallback")
def fallback():
    """The number's Fallback URL: Twilio could not use what one of the hotline's URLs answered.

    Twilio sends the failed request's form with ``ErrorCode`` and ``ErrorUrl``; the
    answer is the degraded one for that URL, from the flows in memory alone.
    """
    failed = urlsplit(request.form.get("ErrorUrl") or "")
    line = request.args.get("line") or (parse_qs(failed.query).get("line") or [None])[0]
    log.warning(
        "Twilio fell back after error %s on %s",
        (request.form.get("ErrorCode") or "?")[:16],
        failed.path or "?",
    )
    degraded.note(degraded.FALLBACK, request.path, line)
    return xml(degraded.for_endpoint(_endpoint(failed.path), line))


def _endpoint(path: str) -> str | None:
    """The view a path of this app leads to (None when it leads nowhere)."""
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:
        return None
    return endpoint


# -- queues --------------------------------------------------------------------------------


@bp.post("/queue/wait")
def queue_wait():
    """Twilio's waitUrl: position and estimated wait (not at the head), then hold music."""
    return xml(
        hold.wait(
            request.args.get("line"),
            request.args.get("queue"),
            hold.position(request.form.get("QueuePosition")),
            _sid(),
            (request.form.get("QueueSid") or "").strip() or None,
        )
    )


@bp.post("/queue/key")
def queue_key():
    """A key pressed during the hold music: the leave key takes the caller out for a callback."""
    return xml(hold.key_pressed(request.args.get("line"), _key()))


@bp.post("/queue/done")
def queue_done():
    """The Enqueue action: the caller left the queue (QueueResult)."""
    result = (request.form.get("QueueResult") or "").strip()
    return xml(
        turns.after_queue(
            _sid(),
            request.args.get("line"),
            result,
            _step(),
            _numbers(),
            urls.queued_from(request.args),
        )
    )


@bp.post("/queue/connect")
def queue_connect():
    """The ``<Queue url>`` document, on the caller's leg: an agent is taking the call."""
    try:
        queue_time = float(request.form.get("QueueTime", "0"))
    except ValueError:
        queue_time = 0.0
    return xml(
        dequeue.answer(
            _sid(),
            request.args.get("line"),
            (request.form.get("DequeingCallSid") or "").strip(),
            queue_time,
            caller_number(request.form.get("From")),
        )
    )


# -- an offered call (SPEC §6) ---------------------------------------------------------------


@bp.post("/offer")
def offer():
    """Where the distribution has Twilio take a caller out of the queue: ring the agent."""
    return xml(
        offers.ring(
            _sid(),
            request.args.get("agent", ""),
            request.args.get("queue"),
            request.args.get("line"),
        )
    )


@bp.post("/offer/answered")
def offer_answered():
    """The ``<Client url>``, on the agent's leg: the agent picked up."""
    return xml(
        offers.answered(
            request.args.get("caller"),
            request.args.get("agent", ""),
            _sid(),
            request.args.get("line"),
        )
    )


@bp.post("/offer/done")
def offer_done():
    """The offer's ``<Dial action>``: DialCallStatus says whether they talked."""
    duration = (request.form.get("DialCallDuration") or "").strip()
    return xml(
        offers.finished(
            _sid(),
            request.args.get("agent", ""),
            request.args.get("queue"),
            request.args.get("line"),
            (request.form.get("DialCallStatus") or "").strip(),
            int(duration) if duration.isdigit() and len(duration) < 9 else None,
            caller_gone=(request.form.get("CallStatus") or "").strip() in call_status.ENDED,
        )
    )


# -- agents --------------------------------------------------------------------------------


@bp.post("/agent")
def agent():
    """The agents' TwiML App: dial the queue this agent should serve next."""
    identity = (request.form.get("From") or request.form.get("Caller") or "").strip()
    username = identity[len("client:") :] if identity.startswith("client:") else ""
    try:
        return xml(routing.dial_next(username, _sid()))
    except routing.UnknownAgent:
        return _said("agent_unknown")
    except routing.NoQueues:
        return _said("agent_no_queues")
    except routing.NotAvailable:
        return _said("agent_not_available")


# -- status callbacks ----------------------------------------------------------------------


@bp.post("/status")
def status():
    """Call status callbacks: the inbound call ended, or a callback attempt did."""
    duration = (request.form.get("CallDuration") or "").strip()
    call_status.reported(
        _sid(),
        (request.form.get("CallStatus") or "").strip(),
        _id("callback"),
        int(duration) if duration.isdigit() and len(duration) < 9 else None,
        _numbers(),
    )
    return xml(str(twiml.VoiceResponse()))


# -- the call placed for a callback --------------------------------------------------------


@bp.post("/callback/answer")
def callback_answer():
    """The customer picked up a callback: press the key to be put through (not voicemail)."""
    try:
        return xml(callback_calls.answer(_sid(), _id("id")))
    except callback_calls.NoCallback:
        return _said("goodbye")


@bp.post("/callback/connect")
def callback_connect():
    try:
        return xml(
            callback_calls.connect(
                _sid(),
                _id("id"),
                _key(),
                silent=bool(request.args.get("silent")),
                first_try=request.args.get("again") == "0",
            )
        )
    except (callback_calls.NoCallback, callback_calls.NotConfirmed):
        # Not confirmed: the status callback then counts the attempt as not reached.
        return _said("goodbye")
