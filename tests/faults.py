"""Backends that fail on request, on loopback: a redis-server of our own and a stalling proxy.

Imported as a plain module (``from faults import ...``) by the fault-injection
tests. ``StallingProxy`` stands between the hotline and a real server (PostgreSQL)
and can pass traffic, freeze (accept connections and never answer — a frozen or
half-open server), or refuse (nothing listens: a server that is down).
``RedisServer`` is a throw-away ``redis-server`` on a free port, without
persistence, that can be stopped, frozen (SIGSTOP) and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

PASS, FREEZE, REFUSE = "pass", "freeze", "refuse"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StallingProxy:
    """A TCP proxy on ``127.0.0.1:port`` to ``upstream`` that passes, freezes or refuses.

    Switching mode cuts every connection in flight (so a frozen one is not answered
    late), as a server restart or a failover would.
    """

    def __init__(self, upstream_host: str, upstream_port: int, port: int | None = None):
        self.upstream = (upstream_host, upstream_port)
        self.port = port or free_port()
        self.mode = PASS
        self.accepted = 0
        self.sent_upstream = 0  # bytes the clients sent on to the server
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._listen())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accepted, "127.0.0.1", self.port, reuse_address=True
        )

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.accepted += 1
        links = [writer]
        self._links.add(writer)
        try:
            if self.mode == FREEZE:
                await reader.read()  # say nothing until the client or a mode change cuts it
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            links.append(up_writer)
            self._links.add(up_writer)
            await asyncio.gather(
                self._pipe(reader, up_writer, upstream=True),
                self._pipe(up_reader, writer),
                return_exceptions=True,
            )
        except (OSError, asyncio.CancelledError):
            pass  # cut: by either end, a mode change or the proxy closing
        finally:
            for link in links:
                self._links.discard(link)
                link.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode != PASS:
                    await asyncio.Event().wait()  # frozen mid-conversation: hold on to it
                if upstream:
                    self.sent_upstream += len(data)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def _switch(self, mode: str) -> None:
        for link in list(self._links):
            link.close()
        self._links.clear()
        if mode == REFUSE and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.mode = mode
        if mode != REFUSE and self._server is None:
            await self._listen()

    def set(self, mode: str) -> None:
        self._call(self._switch(mode))

    async def _shutdown(self) -> None:
        await self._switch(REFUSE)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class RedisServer:
    """``redis-server`` on a free loopback port, no persistence: a restart forgets everything."""

    def __init__(self, log: Path, port: int | None = None):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start: see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one must hear the signal
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nobody answers them."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
