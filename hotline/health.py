"""``GET /healthz`` and ``GET /readyz`` (SPEC §5 Operations), for a load balancer or a person.

``/healthz`` answers while the process serves requests, whatever the backends do,
with the degraded answers this process has given. ``/readyz`` asks each backend,
each within a second: 200 when the database and Redis answer and the schema is
at the latest migration, else 503 naming the part that is not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Blueprint, Flask, current_app

from ivr import degraded
from live import store
from storage import db, deadlines, schema

bp = Blueprint("health", __name__)

# How long each backend has to answer /readyz.
CHECK_SECONDS = 1.0
OK, UNAVAILABLE, UNKNOWN, OUTDATED = "ok", "unavailable", "unknown", "outdated"


@bp.get("/healthz")
def healthz():
    app = current_app._get_current_object()
    return {
        "status": OK,
        "degraded_answers": degraded.counts(app),
        "breakers": {"database": db.breaker(app).as_dict(), "redis": store.breaker(app).as_dict()},
    }


@bp.get("/readyz")
def readyz():
    app = current_app._get_current_object()
    deadline = time.monotonic() + CHECK_SECONDS
    database = _Check(lambda: _revision(app))
    redis = _Check(lambda: store.redis(app).ping())
    revision = database.result(deadline)
    ponged = redis.result(deadline)
    body = {
        "database": OK if database.ok else UNAVAILABLE,
        "redis": OK if redis.ok and ponged else UNAVAILABLE,
        "schema": _schema(revision) if database.ok else UNKNOWN,
    }
    ready = all(value == OK for value in body.values())
    return body, 200 if ready else 503


def _revision(app: Flask) -> str | None:
    with deadlines.within(CHECK_SECONDS):
        return schema.current(db.engine(app))


def _schema(revision: str | None) -> str:
    return OK if revision is not None and revision == schema.head() else OUTDATED


class _Check:
    """One backend's answer, asked on a thread of its own so that a silent one cannot hold us."""

    def __init__(self, ask: Callable[[], object]):
        self.ok = False
        self.value: object = None
        self._ask = ask
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.value = self._ask()
            self.ok = True
        except Exception:
            self.ok = False

    def result(self, deadline: float) -> object:
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self.ok = False
        return self.value
