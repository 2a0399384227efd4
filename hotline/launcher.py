"""The ``hotline`` console script's first step: gevent's patching, before anything else loads.

``hotline serve`` becomes the gunicorn master of gevent workers. gevent must patch
sockets and ssl before any module takes a reference to them (gevent issue 1016),
and ``hotline.cli`` already imports Redis and Flask; so the patching happens here,
ahead of that import, and only for ``serve``.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["serve"] and os.environ.get("HOTLINE_WORKER_CLASS", "gevent") == "gevent":
        import warnings

        from gevent import monkey

        # Importing this package (hotline/__init__ -> flask -> http.client) has
        # already imported ssl, so gevent warns; the only module it names as
        # holding unpatched references is redis.asyncio, which the hotline never
        # uses. A newcomer's first screen should not open with that warning.
        warnings.filterwarnings("ignore", category=monkey.MonkeyPatchWarning)
        monkey.patch_all()
    from hotline.cli import main as cli_main

    cli_main()
