"""The hotline's configuration as data: programme, services, lines, calendar, call flow.

``load()`` reads the TOML files in this folder (or in ``HOTLINE_FLOWS_DIR``),
checks every value and returns the domain objects the rules work with. The
service refuses to start on a bad file, with a message naming file and key.

This module only hands names on: ``Flows`` and its queues are in
``flows.configuration``, the loading in ``flows.loader`` (one reader per file:
``catalogue``, ``lines``, ``working_days``, ``call_flow_loader``), the call flow
the IVR reads in ``flows.call_flow`` and ``flows.nodes``.
"""

from __future__ import annotations

from flows.call_flow import CallFlow
from flows.configuration import CALLBACKS, CALLS, Flows, Queue
from flows.exceptions import FlowError
from flows.loader import DEFAULT_DIRECTORY, load

__all__ = [
    "CALLBACKS",
    "CALLS",
    "DEFAULT_DIRECTORY",
    "CallFlow",
    "FlowError",
    "Flows",
    "Queue",
    "load",
]
