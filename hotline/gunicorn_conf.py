"""gunicorn settings, shared by ``hotline serve`` and the Procfile
(``gunicorn --config python:hotline.gunicorn_conf "hotline:create_app()"``).

Without ``REDIS_URL`` the call state lives in an in-process store, which one
process cannot share with another: then there is exactly one worker process,
and threads give it concurrency. With Redis, ``WEB_CONCURRENCY`` workers.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("hotline.gunicorn")


def _whole(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


SHARED_STORE = bool(os.environ.get("REDIS_URL"))

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
# Server-sent events (screen-pop, wallboard) hold a thread each while open.
threads = _whole("GUNICORN_THREADS", 16)
workers = _whole("WEB_CONCURRENCY", 2) if SHARED_STORE else 1
# Long enough for a slow database reconnect, short enough that a stuck worker is replaced.
timeout = 60
graceful_timeout = 20
accesslog = "-"
# gunicorn 27's control socket sits at one path per user: two servers on a machine would clash.
control_socket_disable = True
# Twilio signs the public URL; behind a proxy the scheme must come from X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def on_starting(server) -> None:
    """Migrate once, in the master, before any worker takes a request."""
    if not SHARED_STORE and os.environ.get("WEB_CONCURRENCY", "1") != "1":
        log.warning("REDIS_URL is unset: running one worker process, WEB_CONCURRENCY ignored")
    from hotline import create_app, db, schema

    app = create_app()
    schema.upgrade(db.engine(app))
    db.engine(app).dispose()
