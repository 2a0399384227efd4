"""When a figure on the live board is highlighted: past ``warn`` amber, past ``alert`` red.

A threshold says which way is worse: a service level is worse ``below`` its marks, a
wait ``above`` them. A figure not known yet (None) is never highlighted.
"""

from __future__ import annotations

from dataclasses import dataclass

WARN, ALERT = "warn", "alert"
ABOVE, BELOW = "above", "below"


@dataclass(frozen=True, slots=True)
class Threshold:
    warn: float
    alert: float
    worse: str = ABOVE

    def level(self, value: float | None) -> str | None:
        if value is None:
            return None
        if self._past(value, self.alert):
            return ALERT
        if self._past(value, self.warn):
            return WARN
        return None

    def _past(self, value: float, mark: float) -> bool:
        return value < mark if self.worse == BELOW else value >= mark
