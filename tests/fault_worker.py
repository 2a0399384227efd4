"""The Procfile's rq worker for the fault-injection tests, with Twilio's REST API recorded.

``python tests/fault_worker.py`` in the environment the Procfile's worker would
have: the same ``hotline.worker.Worker`` (its scheduler, its maintenance, the app
built once for the process) listening on the ``hotline`` queue of ``REDIS_URL``;
only Twilio is replaced by the simulator's recording client, so that a callback
is dialled without reaching Twilio. A dialled callback shows in SQL (status
``dialling``, the call's SID).
"""

from __future__ import annotations

import logging
import os

from redis import Redis

from adapters import background
from hotline import create_app, worker
from simulator.softphone import RecordingTwilio


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # The process's app, as worker.worker_app() would build it, with Twilio recorded.
    worker._app = create_app({"DATABASE_BUDGET": "batch", "TWILIO_HTTP_CLIENT": RecordingTwilio()})
    connection = Redis.from_url(os.environ["REDIS_URL"])
    worker.Worker([background.QUEUE], connection=connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
