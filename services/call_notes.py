"""This process's notes on call records not yet in SQL: written together, a moment later.

A webhook that learns a fact of its call (``ivr.records``) hands the note here rather
than writing the record itself: an upsert in a transaction of its own cost the webhook
0.13 ms of CPU on SQLite and 0.17 ms on PostgreSQL (a session, a connection, the
statement, a commit; on SQLite a sync of the log), where in one transaction of 100 a
note costs 0.02 and 0.06 ms (benchmarks/README.md). A note waits at most
``CALL_NOTES_SECONDS``; then a timer of this process writes every note waiting, in the
order they were noted, one writer at a time (so a later fact of a call never overtakes
an earlier one). A reader of the records in this process writes them first
(``written``), and the process writes what is left as it exits (gunicorn's
``worker_exit``, else ``atexit``); a reader in another process sees a note at most
that moment late.

The notes wait in this process's memory, not in Redis: a Redis that restarts empty
loses none of them. A process killed outright loses the notes of its last moment, as a
note the database refuses is lost (logged): notes are history, not the call. With
``CALL_NOTES_SECONDS`` = 0 each note is written as it is made.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import nullcontext

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from storage import db

log = logging.getLogger(__name__)
EXTENSION = "hotline.call_notes"
Write = Callable[[Session], None]
# Every process's notes, written as it exits; weakly held, so an app let go of (a test's)
# is not kept alive by the exit hook.
_ALL: weakref.WeakSet[CallNotes] = weakref.WeakSet()


class CallNotes:
    """The notes this process has made and not yet written, and the timer that writes them."""

    def __init__(self, app: Flask, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._waiting: list[tuple[str, Write]] = []
        self._lock = threading.Lock()  # the list and the timer
        self._writing = threading.Lock()  # one batch at a time, in the order noted
        self._timer: threading.Timer | None = None
        self._exiting = False
        self.batches = 0  # written so far, for tests and benchmarks

    def add(self, what: str, write: Write) -> None:
        """Note ``write`` (one or more upserts on a session); ``what`` names it in logs."""
        with self._lock:
            at_once = self.seconds <= 0 or self._exiting
            if not at_once:
                self._waiting.append((what, write))
                if self._timer is None:
                    self._timer = threading.Timer(self.seconds, self.write)
                    self._timer.daemon = True
                    self._timer.start()
        if at_once:
            _alone(self.app, what, write)

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def write(self) -> int:
        """Write every note waiting now, in one transaction; how many were taken."""
        with self._writing:
            with self._lock:
                batch, self._waiting = self._waiting, []
                timer, self._timer = self._timer, None
            if timer is not None and timer is not threading.current_thread():
                timer.cancel()
            if not batch:
                return 0
            _together(self.app, batch)
            self.batches += 1
            return len(batch)

    def close(self) -> int:
        """The process is ending: write what waits, and start no timer from now on."""
        with self._lock:
            self._exiting = True
        return self.write()


def init_app(app: Flask) -> None:
    notes = CallNotes(app, float(app.config["CALL_NOTES_SECONDS"]))
    app.extensions[EXTENSION] = notes
    _ALL.add(notes)


@atexit.register
def _at_exit() -> None:
    for notes in list(_ALL):
        notes.close()


def of(app: Flask | None = None) -> CallNotes:
    return (app or current_app).extensions[EXTENSION]


def written(app: Flask | None = None) -> int:
    """For a reader of the records: this process's notes written first."""
    return of(app).write()


def _context(app: Flask):
    # A reader's or a webhook's own context (and its time budget) when there is one.
    return nullcontext() if has_app_context() else app.app_context()


def _together(app: Flask, batch: list[tuple[str, Write]]) -> None:
    started = time.monotonic()
    with _context(app):
        session = db.sessions(app)()
        try:
            for what, write in batch:
                try:
                    write(session)
                except ValueError:  # refused before anything was sent: the rest go on
                    log.exception("call note dropped: %s", what)
            session.commit()
        except Exception:
            session.rollback()
            log.exception("a batch of %d call notes failed; writing each alone", len(batch))
            for what, write in batch:
                _alone(app, what, write)
        finally:
            session.close()
    log.debug("%d call notes written in %.1f ms", len(batch), (time.monotonic() - started) * 1e3)


def _alone(app: Flask, what: str, write: Write) -> None:
    """One note in the driver's autocommit (``db.single_statement``); a failure is logged."""
    try:
        with _context(app), db.single_statement() as session:
            write(session)
    except Exception:
        log.exception("could not record %s", what)
