"""The domain package stays pure: no web, storage, telephony or application imports."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "flask",
    "redis",
    "rq",
    "twilio",
    "sqlalchemy",
    "hotline",
    "ivr",
    "agent_assist",
    "flows",
    "runtime",
    "storage",
    "live",
    "adapters",
    "services",
    "simulator",
)


def test_importing_every_domain_module_loads_no_framework_or_application_package():
    script = (
        "import sys, pkgutil, importlib, domain\n"
        "for m in pkgutil.iter_modules(domain.__path__):\n"
        "    importlib.import_module('domain.' + m.name)\n"
        f"print(' '.join(sorted(n for n in {FORBIDDEN!r} if n in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
