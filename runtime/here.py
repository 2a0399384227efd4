"""Whether a server is on this machine: a Unix socket, ``localhost`` or a loopback address.

A reply from such a server comes back in tens of microseconds, sooner than a gevent
worker's trip through its event loop costs; the Redis and PostgreSQL clients wait for
it briefly before they let the worker run other requests (``live.store``,
``storage.deadlines``). Across a network a reply takes about as long as that wait would.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=16)
def on_this_machine(host: str | None) -> bool:
    """``host`` (a name, an address, or a Unix socket's path or folder) is this machine."""
    if not host:  # libpq's and redis-py's default: the local socket or localhost
        return True
    if host.startswith("/"):
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # another name: assumed elsewhere
        return False
