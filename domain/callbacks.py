"""A callback a caller asks for: who to call, on which line, from when (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    line: str
    # E.164: the number on file when the caller was verified, else the caller ID.
    number: str
    # Naive local time (HOTLINE_TZ) from which to dial: now, or the line's next opening.
    due: datetime
    verified: bool
    policyholder_id: str | None
    insured_id: str | None
    service: str | None
