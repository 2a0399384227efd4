"""Dates as the hotline's interfaces write them: ``YYYY-MM-DD`` and nothing else."""

from __future__ import annotations

from datetime import date


def iso_date(value: object) -> date | None:
    """The date ``value`` names in the form ``YYYY-MM-DD``, or None.

    ``date.fromisoformat`` also accepts ``20240101`` and ``2024-W01-1`` since Python
    3.11; a feed or a form that sends those is more likely wrong than clever.
    """
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
