"""``create_app``: configuration, the flows and clock, storage and every blueprint.

Nothing connects at import time; the database and Redis are reached on first use.
"""

from __future__ import annotations

import os

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface

import flows
import runtime
from agent_assist import (
    agent_api,  # noqa: F401  (adds the agents' views to api.bp)
    api,
    case_api,  # noqa: F401  (adds the case and queue views to api.bp)
    desk,
    people_api,  # noqa: F401  (adds customer search and history to api.bp)
    report_api,  # noqa: F401  (adds /api/reports/... to api.bp)
    reports_page,  # noqa: F401  (adds /supervisor/reports to supervisor.bp)
    supervisor,
)
from hotline import config, health
from ivr import views as ivr_views
from live import store
from runtime.clock import Clock
from services import call_notes
from simulator import views as simulator_views
from storage import db


class JSONProvider(DefaultJSONProvider):
    # Names stay readable Chinese, and keys keep the order SPEC §5 gives them.
    ensure_ascii = False
    sort_keys = False


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with no signer built for a request without the cookie.

    Twilio's webhooks and API clients with a token send no session cookie; Flask builds
    the cookie's signer for every request first (10 µs, about 0.5 % of a webhook), only
    to find nothing to read. A session written later is signed as before.
    """

    def open_session(self, app, request):
        # No Cookie header at all (Twilio's case) is told without parsing the headers.
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies
        ):
            return self.session_class()
        return super().open_session(app, request)


def create_app(test_config: dict | None = None) -> Flask:
    # Named for the package, as before: the instance folder is found from it.
    app = Flask("hotline", instance_relative_config=True)
    app.json = JSONProvider(app)
    app.session_interface = CookieSessions()
    app.config.from_mapping(config.base(app.instance_path))
    app.config.from_mapping(config.from_environment())
    if test_config is not None:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret(app.instance_path)

    # A bad flows/ file stops start-up here, with the file and key in the message.
    loaded = flows.load(app.config.get("HOTLINE_FLOWS_DIR"))
    runtime.install(app, loaded, app.config.get("CLOCK") or Clock(app.config["HOTLINE_TZ"]))
    db.init_app(app)
    store.init_app(app)
    call_notes.init_app(app)

    app.register_blueprint(api.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(ivr_views.bp)
    app.register_blueprint(health.bp)
    simulator_views.init_app(app)

    from hotline import cli  # the CLI builds apps itself: imported once the package is

    cli.init_app(app)
    return app
