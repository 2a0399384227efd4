"""The yardstick of the IVR benchmark: the least a webhook endpoint can do, under the same gunicorn.

A stateless Flask app that does what every IVR webhook must and nothing else: it
checks Twilio's signature with the ``twilio`` library's ``RequestValidator`` over the
public URL and the form, and answers a Mandarin ``<Gather>`` of six ``<Say>`` built with
``VoiceResponse``. No Redis, no SQL, no call flow. ``benchmarks.ivr_webhooks`` starts
it itself, with the settings of ``hotline.gunicorn_conf`` (this module is also its
gunicorn config: the settings are imported from there, the hotline's own start-up hooks
are not), drives it in the same run with the same load generator, and divides the
hotline's server CPU per webhook by this endpoint's.

    gunicorn --config python:benchmarks.bare_endpoint "benchmarks.bare_endpoint:create_app()"
"""

from __future__ import annotations

import os

# gunicorn settings: the hotline's (bind, gevent workers, WEB_CONCURRENCY, access log on
# stdout, the keep-alive limit and the yield after each request), without its hooks
# (migrations, rq, deadlines, the garbage collector's thresholds).
from hotline.gunicorn_conf import (  # noqa: F401 - read by gunicorn as its settings
    access_log_format,
    accesslog,
    bind,
    control_socket_disable,
    forwarded_allow_ips,
    graceful_timeout,
    post_request,
    pre_request,
    threads,
    timeout,
    worker_class,
    worker_connections,
    workers,
)

PATH = "/bare/gather"
PROMPTS = (
    "请输入投保人手机号码的后六位。",
    "输入完毕后，请说出投保人的姓名。",
    "如需人工服务，请按零。",
    "如需重听，请按星号键。",
    "您的来电可能被录音，以便提高服务质量。",
    "感谢您致电健康保障服务热线。",
)


def create_app():
    # Imported here, in the worker: gunicorn's master reads this module as its config
    # and, as with the hotline's, must not import ssl (through twilio) before the gevent
    # worker patches it.
    from flask import Flask, Response, abort, request
    from twilio.request_validator import RequestValidator
    from twilio.twiml.voice_response import Gather, VoiceResponse

    app = Flask(__name__)
    token = os.environ["TWILIO_AUTH_TOKEN"]
    base = os.environ["PUBLIC_BASE_URL"].rstrip("/")

    @app.post(PATH)
    def gather():
        query = request.query_string.decode()
        url = base + request.path + ("?" + query if query else "")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(token).validate(url, request.form, signature):
            abort(403)
        response = VoiceResponse()
        element = Gather(
            input="dtmf speech",
            action=PATH + "?step=2",
            method="POST",
            timeout=6,
            num_digits=6,
            finish_on_key="",
            action_on_empty_result=True,
            language="zh-CN",
        )
        for text in PROMPTS:
            element.say(text, voice="Polly.Zhiyu", language="cmn-CN")
        response.append(element)
        response.redirect(PATH + "?step=2", method="POST")
        return Response(str(response), mimetype="text/xml")

    return app
