"""Brings the schema up to date once the database answers, in a web process that started without it.

A web process does not wait for the database to start (callers get the degraded
answer meanwhile): if the schema could not be migrated at start, each worker
tries again every ``every_seconds`` until the database answers, then migrates
(PostgreSQL's advisory lock lets one do it) and stops. ``hotline db upgrade``
does the same by hand.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from storage import db, deadlines, schema

log = logging.getLogger(__name__)

EVERY_SECONDS = 10.0
# Asking which revision the database is at: a database that is down says nothing.
ASK_SECONDS = 5.0
# A migration may rewrite a table: its statements are not held to a webhook's seconds.
MIGRATION_SECONDS = 600.0


class Migrator(threading.Thread):
    def __init__(self, app: Flask, every_seconds: float = EVERY_SECONDS):
        super().__init__(name="hotline-migrator", daemon=True)
        self.app = app
        self.every = every_seconds
        self.stopped = threading.Event()
        self.done = threading.Event()

    def attempt(self) -> bool:
        """One try: True once the schema is at the latest migration."""
        engine = db.batch_engine(self.app)
        try:
            with deadlines.within(ASK_SECONDS):
                before = schema.current(engine)
            if before == schema.head():
                return True
            with deadlines.within(MIGRATION_SECONDS):
                schema.upgrade(engine)
            log.info("schema brought up to date from %s", before or "an empty database")
            return True
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.warning("schema not brought up to date yet (database unavailable: %s)", reason)
            return False
        finally:
            engine.dispose()

    def run(self) -> None:
        delay = 0.0
        while not self.stopped.wait(delay):
            if self.attempt():
                self.done.set()
                return
            delay = self.every
