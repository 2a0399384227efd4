"""What every part needs at run time, from the app it runs in: the flows and the clock.

The shell (``hotline.create_app``) installs them; everything below it reads them
here, so nothing below the shell imports the shell. The database session and the
Redis client come from ``storage.db`` and ``live.store`` the same way.
"""

from __future__ import annotations

from flask import Flask, current_app

import flows
from runtime.clock import Clock

FLOWS = "hotline.flows"
CLOCK = "hotline.clock"


def install(app: Flask, loaded: flows.Flows, clock: Clock) -> None:
    app.extensions[FLOWS] = loaded
    app.extensions[CLOCK] = clock


def current_flows() -> flows.Flows:
    return current_app.extensions[FLOWS]


def current_clock() -> Clock:
    return current_app.extensions[CLOCK]
