"""Failed authentication tries across calls (SPEC §4 step 2), per calling number and per
policyholder, so that six digits cannot be guessed by redialling.

Kept in SQL (``AuthFailure``): a Redis that restarts empty forgets nothing here, and
the spoken-name answer reads the counts in the statement that finds the policyholders
(``repository.candidates``), with no round trip of their own. A try is written as a
call note (``services.call_notes``): the webhook does not wait for it, and another
process counts it a moment later (``CALL_NOTES_SECONDS``), as two calls trying at the
same moment could each read the counts before the other's try was written anyway.
Numbers are kept as digests: this table needs to tell numbers apart, not know them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from flask import Flask
from sqlalchemy.orm import Session

from services import call_notes
from storage import repository


def number_subject(caller_key: str) -> str:
    """What a failed try is counted against for the calling number (a digest of it)."""
    return hashlib.sha256(caller_key.encode()).hexdigest()[:24]


def record(
    app: Flask, caller_key: str, holder_ids: Sequence[str], attempt: str, now: float
) -> None:
    """Count one failed try (``attempt`` names it: the same try written twice counts once)
    against the calling number and each policyholder the digits matched."""
    against = [
        (repository.FAILED_NUMBER, number_subject(caller_key)),
        *((repository.FAILED_HOLDER, i) for i in dict.fromkeys(holder_ids)),
    ]
    rows = [{"kind": k, "subject": s, "attempt": attempt, "at": now} for k, s in against]
    call_notes.of(app).add(
        "a failed authentication try", lambda session: repository.record_failures(session, rows)
    )


def prune(session: Session, now: float, window_seconds: int) -> int:
    """Forget the tries that fell out of the window; how many went. The caller commits."""
    return repository.prune_failures(session, now - window_seconds)
