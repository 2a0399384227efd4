"""Twilio's REST API at the simulator's own origin: the part of 2010-04-01 the hotline uses.

``hotline serve --demo`` points ``TWILIO_API_BASE_URL`` here, so SMS, callback calls
and the distribution's queue requests leave through the production code
(``adapters.twilio_rest``) and arrive where Twilio's paths are answered:

- ``Messages.json`` (POST): the text reaches the handset of ``To`` (``handsets``);
- ``Calls.json`` (POST): the call rings the handset of ``To``, for ``hotline call --answer``;
- ``Queues.json``, ``Queues/{sid}/Members.json`` (GET) and ``Queues/{sid}/Members/{CallSid}.json``
  (POST): the store's queues, answered by ``softphone.Exchange.answer_rest`` as in the
  tests; a Members update then takes the caller to its ``Url`` and rings the agent's
  simulated browser phone (``browser_phones.deliver``).

Requests are authenticated as Twilio's are, HTTP Basic with the account SID and auth
token; the bodies and errors are Twilio's (``softphone.created``, ``page``,
``rest_error``). Registered with the simulator only.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, current_app, jsonify, request

from live import store
from simulator import browser_phones, handsets, switchboard
from simulator.softphone import API_VERSION, RESOURCE_PREFIXES, created, rest_error, sid

log = logging.getLogger(__name__)
bp = Blueprint("twilio_api", __name__, url_prefix=f"/{API_VERSION}")


def init_app(app: Flask) -> None:
    if switchboard.enabled(app):
        app.register_blueprint(bp)


def _answer(status: int, body: dict):
    response = jsonify(body)
    response.status_code = status
    return response


@bp.before_request
def _authenticated():
    config = current_app.config
    account, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
    given = request.authorization
    if (
        not account
        or not token
        or given is None
        or given.type != "basic"
        or not hmac.compare_digest((given.username or "").encode(), account.encode())
        or not hmac.compare_digest((given.password or "").encode(), token.encode())
    ):
        response = _answer(401, rest_error(20003, "Authenticate", 401))
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response
    # Twilio's clock: rings that are over end before anything else is answered.
    browser_phones.ring_out_due(current_app._get_current_object())
    handsets.unanswered_due(current_app._get_current_object())
    return None


@bp.route("/Accounts/<account>/<path:resource>", methods=["GET", "POST"])
def account_resource(account: str, resource: str):
    if account != current_app.config["TWILIO_ACCOUNT_SID"] or not resource.endswith(".json"):
        return _answer(404, rest_error(20404, "The requested resource was not found", 404))
    parts = resource.removesuffix(".json").split("/")
    form = request.form.to_dict()
    if parts in (["Messages"], ["Calls"]):
        if request.method != "POST":
            return _answer(405, rest_error(20004, "Method not allowed", 405))
        return _create(parts[0], form)
    if parts[0] == "Queues":
        return _queues(parts, form)
    return _answer(404, rest_error(20404, "The requested resource was not found", 404))


def _create(kind: str, form: dict):
    redis = store.redis()
    now = switchboard.queues().now
    if not form.get("To"):
        return _answer(400, rest_error(21604, "A 'To' phone number is required.", 400))
    if kind == "Messages":
        if not form.get("Body"):
            return _answer(400, rest_error(21602, "Message body is required.", 400))
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _answer(400, rest_error(21603, "A 'From' phone number is required.", 400))
        made = sid(RESOURCE_PREFIXES[kind])
        handsets.text(redis, made, form, now)
    else:
        if not form.get("From"):
            return _answer(400, rest_error(21213, "No 'From' number is specified", 400))
        if not form.get("Url") and not form.get("Twiml"):
            return _answer(400, rest_error(21205, "Url parameter is required", 400))
        made = sid(RESOURCE_PREFIXES[kind])
        handsets.place(redis, made, form, now)
    log.info("simulator: %s %s created", kind, made)
    return _answer(201, created(request.path, form, made))


def _queues(parts: list[str], form: dict):
    app = current_app._get_current_object()
    # The webhooks the delivery posts are requests of their own (own g, own session).
    with app.app_context():
        holder = switchboard.queues(app)
        twilio = switchboard.exchange(app, holder)
        status, body = twilio.answer_rest(request.method, parts, form)
        if twilio.redirects:
            # Twilio answers, then takes the caller to the Url: here before answering, which
            # the hotline cannot tell apart (it waits for nothing after its request).
            try:
                browser_phones.deliver(twilio, holder)
            except Exception:
                log.exception("simulator: taking a dequeued caller to the offer failed")
    return _answer(status, body)
