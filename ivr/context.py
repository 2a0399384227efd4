"""What the webhook modules read of the running hotline: the voice, a line."""

from __future__ import annotations

from domain.hours import Line
from runtime import current_flows


def voice():
    """The call flow's voice: every document the IVR says anything in speaks with it."""
    return current_flows().call_flow.voice


def line(code: str | None) -> Line:
    """The line a URL names (``?line=``), else the call flow's own line."""
    flows = current_flows()
    return flows.lines.get(code or "") or flows.line(flows.call_flow.call.line)
