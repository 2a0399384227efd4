"""The web process on a free loopback port, started as the Procfile starts it.

For the browser tests and the API benchmark: both need the real thing (gunicorn,
``hotline.gunicorn_conf``, gevent workers), not Flask's test client, and both
must wait until it answers and stop it afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


class ServerFailed(RuntimeError):
    """The server exited, or did not answer in time; the log says why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_path() -> str:
    """This environment's gunicorn (beside the running Python), else one on PATH."""
    beside = Path(sys.executable).parent / "gunicorn"
    if beside.exists():
        return str(beside)
    found = shutil.which("gunicorn")
    if found is None:
        raise ServerFailed("gunicorn is not installed")
    return found


class LocalServer:
    """``gunicorn --config python:hotline.gunicorn_conf "hotline:create_app()"`` on loopback.

    ``env`` is the whole environment of the server (``DATABASE_URL``, ``REDIS_URL``…);
    the bind address is added. ``port``: one from ``free_port()`` when the environment
    must name it (``PUBLIC_BASE_URL``), else a free one. Output goes to ``log``.
    ``app`` and ``config``: another app under the same kind of server (a benchmark's
    yardstick, ``benchmarks.bare_endpoint``).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log: Path,
        extra_args: Sequence[str] = (),
        port: int | None = None,
        app: str = "hotline:create_app()",
        config: str = "python:hotline.gunicorn_conf",
    ):
        self.port = port or free_port()
        self.log = log
        command = [
            gunicorn_path(),
            "--config",
            config,
            *extra_args,
            app,
        ]
        self.handle = open(log, "w")  # noqa: SIM115 - open while the server runs
        self.process = subprocess.Popen(
            command,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_ready(
        self, path: str, headers: Mapping[str, str] | None = None, timeout: float = 60
    ) -> tuple[int, bytes]:
        """The first answer to ``GET path`` (any status) once the server listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"gunicorn exited ({self.process.returncode}): see {self.log}")
            try:
                # This class's get: a subclass may give ``get`` other arguments (a token).
                return LocalServer.get(self, path, headers)
            except OSError:
                time.sleep(0.2)
        raise ServerFailed(f"gunicorn did not answer within {timeout} s: see {self.log}")

    def processes(self) -> list[int]:
        """The master and its workers (workers may be replaced, so asked each time)."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            pids += [int(pid) for pid in children.read_text().split()]
        return pids

    def stop(self, quick: bool = False) -> None:
        """Stop gracefully (SIGTERM), or ``quick`` (SIGQUIT): without waiting for open
        event streams, which would hold a graceful stop for ``graceful_timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT if quick else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()
