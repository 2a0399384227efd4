"""The hotline application shell: ``create_app`` wires configuration, storage and blueprints.

This package's own import stays light: gunicorn's master reads ``hotline.gunicorn_conf``
and the console script starts in ``hotline.launcher``, both before gevent has patched
sockets in the workers, so the app itself (Flask, Redis, Twilio, every blueprint) is
imported only when ``create_app`` is first called, in the process that serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    from hotline.app import create_app as build

    return build(test_config)
