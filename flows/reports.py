"""Reading ``reports.toml``: how the supervisors' figures are counted, kept and highlighted.

The service level's threshold stays the call flow's (``[limits] service_level_seconds``,
which the IVR reads too); it is handed in, so the figures have one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from domain.agent_figures import TIMED_STATES
from domain.service_level import FigureRules
from domain.thresholds import ABOVE, BELOW, Threshold
from flows.checks import TomlTable

FILE = "reports.toml"
# The live board's figures that may have thresholds, and which way each is worse.
QUEUE_FIGURES = {
    "service_level": BELOW,
    "average_speed_of_answer": ABOVE,
    "longest_wait_seconds": ABOVE,
    "waiting": ABOVE,
}
AGENT_STATE_SECONDS = "agent_state_seconds"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    rules: FigureRules
    keep_days: int
    # Per figure of a queue (QUEUE_FIGURES) and per agent state; absent: never highlighted.
    thresholds: MappingProxyType[str, Threshold]
    state_thresholds: MappingProxyType[str, Threshold]

    def levels(self, figures: dict[str, Any]) -> dict[str, str]:
        """The highlighted figures among ``figures``: name → "warn" or "alert"."""
        out = {}
        for name, threshold in self.thresholds.items():
            level = threshold.level(figures.get(name))
            if level:
                out[name] = level
        return out


def parse(doc: TomlTable, service_level_seconds: int) -> ReportSettings:
    doc.only("short_abandon_seconds", "keep_days", "thresholds")
    thresholds = doc.table("thresholds", {})
    thresholds.only(*QUEUE_FIGURES, AGENT_STATE_SECONDS)
    queue = {
        name: _threshold(thresholds.table(name), worse, 1.0 if name == "service_level" else None)
        for name, worse in QUEUE_FIGURES.items()
        if thresholds.has(name)
    }
    states = thresholds.table(AGENT_STATE_SECONDS, {})
    states.only(*TIMED_STATES)
    return ReportSettings(
        rules=FigureRules(
            service_level_seconds=service_level_seconds,
            short_abandon_seconds=doc.whole("short_abandon_seconds"),
        ),
        keep_days=doc.whole("keep_days", minimum=1),
        thresholds=MappingProxyType(queue),
        state_thresholds=MappingProxyType(
            {
                state: _threshold(states.table(state), ABOVE)
                for state in TIMED_STATES
                if states.has(state)
            }
        ),
    )


def _threshold(node: TomlTable, worse: str, maximum: float | None = None) -> Threshold:
    warn_key, alert_key = f"warn_{worse}", f"alert_{worse}"
    node.only(warn_key, alert_key)
    warn, alert = node.number(warn_key), node.number(alert_key)
    for key, value in ((warn_key, warn), (alert_key, alert)):
        if maximum is not None and value > maximum:
            raise node.error(key, f"must be a fraction ≤ {maximum:g} (0.8 is 80 %)")
    if worse == BELOW and alert > warn:
        raise node.error(alert_key, f"must not be above {warn_key} (lower is worse)")
    if worse == ABOVE and alert < warn:
        raise node.error(alert_key, f"must not be below {warn_key} (higher is worse)")
    return Threshold(warn=warn, alert=alert, worse=worse)
