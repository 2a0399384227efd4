"""The URLs of the IVR's own webhooks that its TwiML hands Twilio.

The few that every call asks for over and over — a gather's action differs only by
its step — are built once per script root and kept (``same``): ``url_for`` costs 6–8
µs a time (measured), a lookup under one.

The Enqueue's action (``queue_done``) carries the queue the caller was put in and
when: the caller's exit from it — most often a hang-up — then needs nothing of the
call's state, and is noted in one Redis round trip instead of two (the state read
first). Twilio signs the URL it requests, so what it carries is as trustworthy as
the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

EXTENSION = "hotline.ivr.urls"
# Far more than the call flow's steps × lines × queues: a bound, not a size to reach.
KEPT = 4096


@dataclass(frozen=True, slots=True)
class Queued:
    """The queue a caller's ``<Enqueue>`` put them in, and when (Unix time), from its URL."""

    queue: str
    since: float


def queue_done(line: str, step: int, queued: Queued | None = None) -> str:
    """The Enqueue's action; with ``queued``, carrying it (``queued_from``)."""
    if queued is None:
        return url_for("ivr.queue_done", line=line, step=step)
    return url_for(
        "ivr.queue_done", line=line, step=step, queue=queued.queue, since=f"{queued.since:.3f}"
    )


def queued_from(args) -> Queued | None:
    """What ``queue_done`` carried, from a request's query (None: not there, or garbled)."""
    queue = (args.get("queue") or "").strip()
    try:
        since = float(args.get("since", ""))
    except ValueError:
        return None
    if not queue or not (since > 0):  # rejects nan as well
        return None
    return Queued(queue, since)


def same(endpoint: str, **values: str | int) -> str:
    """``url_for(endpoint, **values)``, built once for this app and script root."""
    kept = current_app.extensions.get(EXTENSION)
    if kept is None:
        kept = current_app.extensions[EXTENSION] = {}
    key = (request.script_root, endpoint, *values.items())
    url = kept.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(kept) < KEPT:
            kept[key] = url
    return url
