"""The hotline application: ``create_app`` wires configuration, storage and blueprints.

Nothing connects at import time; the database and Redis are reached on first use.
"""

from __future__ import annotations

import os

from flask import Flask, current_app
from flask.json.provider import DefaultJSONProvider

import flows
from hotline import config, db, store
from hotline.clock import Clock

FLOWS = "hotline.flows"
CLOCK = "hotline.clock"


class JSONProvider(DefaultJSONProvider):
    # Names stay readable Chinese, and keys keep the order SPEC §5 gives them.
    ensure_ascii = False
    sort_keys = False


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json = JSONProvider(app)
    app.config.from_mapping(config.base(app.instance_path))
    app.config.from_mapping(config.from_environment())
    if test_config is not None:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret(app.instance_path)

    # A bad flows/ file stops start-up here, with the file and key in the message.
    app.extensions[FLOWS] = flows.load(app.config.get("HOTLINE_FLOWS_DIR"))
    app.extensions[CLOCK] = app.config.get("CLOCK") or Clock(app.config["HOTLINE_TZ"])
    db.init_app(app)
    store.init_app(app)

    from agent_assist import (
        api,
        case_api,  # noqa: F401  (adds the case and agent views to api.bp)
        desk,
        supervisor,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(supervisor.bp)

    from ivr import views

    app.register_blueprint(views.bp)

    from ivr import simulator_views

    simulator_views.init_app(app)

    from hotline import cli

    cli.init_app(app)
    return app


def current_flows() -> flows.Flows:
    return current_app.extensions[FLOWS]


def current_clock() -> Clock:
    return current_app.extensions[CLOCK]
