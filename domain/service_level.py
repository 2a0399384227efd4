"""What supervisors read of a queue (SPEC §7), made exact: service level, answer speed, handle time.

- A caller counts once they leave the queue: answered, abandoned, gone to be called
  back, or failed (Twilio's queue full or in error). A caller still waiting counts
  nowhere yet, so a board never drops to 0 % because someone has just joined.
- **Answered within the service level**: waited at most ``service_level_seconds``
  (exactly 20 s of 20 is within).
- **Short abandon**: hung up having waited at most ``short_abandon_seconds`` (exactly
  5 s of 5 is short). Short abandons are reported on their own and left out of the
  service level; ``abandoned`` counts only the longer ones. A hang-up whose wait is
  unknown counts as abandoned: it is not made to look better than it may have been.
- **Service level** = answered within ÷ (answered + abandoned); None when both are 0.
- **Average speed of answer** = mean wait of answered calls; **average handle time** =
  mean (talk + wrap-up) of completed calls (answered, and their talk time known).

Waits are seconds as measured (fractions kept); totals of many calls add up here, so the
live board, the interval history and every report sum the same numbers the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

# How a caller left a queue (the call record's ``queue_result``).
ANSWERED, ABANDONED, LEFT_FOR_CALLBACK, FAILED = "answered", "abandoned", "callback", "failed"
QUEUE_RESULTS = (ANSWERED, ABANDONED, LEFT_FOR_CALLBACK, FAILED)


@dataclass(frozen=True, slots=True)
class FigureRules:
    """The two thresholds the figures are counted by (config: ``flows/``)."""

    service_level_seconds: int
    short_abandon_seconds: int

    def within_service_level(self, wait: float) -> bool:
        return wait <= self.service_level_seconds

    def short_abandon(self, wait: float | None) -> bool:
        return wait is not None and wait <= self.short_abandon_seconds


def service_level(answered_within: int, answered: int, abandoned: int) -> float | None:
    """Answered within the service level ÷ (answered + abandoned after the short threshold)."""
    counted = answered + abandoned
    return answered_within / counted if counted else None


def mean(total: float, count: int) -> float | None:
    return total / count if count else None


# The figures of a queue that add up: everything but ``longest_wait_seconds`` is a sum.
LONGEST = "longest_wait_seconds"


@dataclass(frozen=True, slots=True)
class QueueTotals:
    """Counts and sums of one queue over a period (an interval, a day, a range, today)."""

    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    left_for_callback: int = 0
    failed: int = 0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    # Seconds answered callers waited, all told; the longest any leaving caller waited.
    wait_total_seconds: float = 0.0
    longest_wait_seconds: float | None = None
    # Completed calls, and their talk and wrap-up seconds all told.
    handled: int = 0
    handle_total_seconds: float = 0.0

    @classmethod
    def of(cls, figures: Mapping[str, float | None]) -> QueueTotals:
        """From a row or a contribution's figures: missing figures are 0 (None for the longest)."""
        values = {}
        for name in NAMES:
            value = figures.get(name)
            if value is not None:
                values[name] = value
        return cls(**values)

    def __add__(self, other: QueueTotals) -> QueueTotals:
        return QueueTotals(**add(self.as_dict(), other.as_dict()))

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def service_level(self) -> float | None:
        return service_level(self.answered_within_sl, self.answered, self.abandoned)

    @property
    def average_speed_of_answer(self) -> float | None:
        return mean(self.wait_total_seconds, self.answered)

    @property
    def average_handle_time(self) -> float | None:
        return mean(self.handle_total_seconds, self.handled)


NAMES = tuple(f.name for f in fields(QueueTotals))


def add(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> dict:
    """Two sets of figures as one: sums added, the longest wait the longer of the two.

    Works on any figures (queue or agent): a name missing on one side counts as 0.
    """
    out = dict(a)
    for name, value in b.items():
        if value is None:
            continue
        mine = out.get(name)
        if mine is None:
            out[name] = value
        elif name == LONGEST:
            out[name] = max(mine, value)
        else:
            out[name] = mine + value
    return out


def exit_figures(result: str, wait: float | None, rules: FigureRules) -> dict[str, float]:
    """What one caller leaving a queue adds to its figures (``result`` of QUEUE_RESULTS)."""
    figures: dict[str, float] = {}
    if result == ANSWERED:
        wait = max(0.0, wait or 0.0)
        figures.update(answered=1, wait_total_seconds=wait)
        if rules.within_service_level(wait):
            figures["answered_within_sl"] = 1
    elif result == ABANDONED:
        figures["short_abandons" if rules.short_abandon(wait) else "abandoned"] = 1
    elif result == LEFT_FOR_CALLBACK:
        figures["left_for_callback"] = 1
    elif result == FAILED:
        figures["failed"] = 1
    else:
        raise ValueError(f"not a way to leave a queue: {result!r}")
    if wait is not None:
        figures[LONGEST] = max(0.0, wait)
    return figures
