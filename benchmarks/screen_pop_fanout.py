"""Screen-pop fan-out: N agents hold /agent/events open; how fast does a call reach one?

Starts ``hotline serve``'s gunicorn (the worker class under test) on a scratch
SQLite database and a Redis database, signs N agents in by API token, opens N
event streams, then announces calls one at a time through ``hotline.calls``
(what the IVR's dequeue webhook does) and times announce -> event read by the
addressee. Meanwhile it times plain JSON requests, which stand in for webhooks:
they must stay fast while the streams are open.

    .venv/bin/python benchmarks/screen_pop_fanout.py --worker-class gevent --agents 200
    .venv/bin/python benchmarks/screen_pop_fanout.py --worker-class gthread --agents 200

Needs Redis (``--redis``, default redis://127.0.0.1:6379/3, flushed). Results go to
stdout; the figures kept are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline import auth, calls, create_app, db, schema  # noqa: E402
from hotline.calls import CallTaken  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def prepare(database_url: str, redis_url: str, agents: int) -> list[tuple[str, str]]:
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "b"})
    schema.upgrade(db.engine(app))
    tokens = []
    with app.app_context():
        session = db.session()
        for i in range(agents):
            agent = auth.add_agent(session, f"agent{i:03d}", "agent", ["medical"], ["medical"])
            tokens.append((agent.username, auth.issue_token(session, agent, datetime.now())))
        session.commit()
    db.engine(app).dispose()
    return tokens


async def open_stream(port: int, token: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /agent/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b"200" not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return reader, writer


async def next_pop(reader) -> str:
    """The next screen_pop's call SID (chunked transfer framing is skipped line by line)."""
    kind = None
    while True:
        line = await reader.readline()
        if not line:
            raise RuntimeError("stream closed")
        text = line.decode(errors="replace").strip()
        if text.startswith("event: "):
            kind = text[7:]
        elif text.startswith("data: ") and kind == "screen_pop":
            return json.loads(text[6:])["call_sid"]


async def json_request(port: int, token: str) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /api/cases HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    await reader.read()
    writer.close()
    return (time.perf_counter() - started) * 1000


async def measure(port, tokens, redis_url, calls_to_make):
    streams = {}
    for username, token in tokens:
        streams[username] = await open_stream(port, token)
    await asyncio.sleep(2)  # every stream past its first events
    client = redis.Redis.from_url(redis_url)
    latencies, requests = [], []
    names = list(streams)
    for n in range(calls_to_make):
        username = random.choice(names)
        reader, _ = streams[username]
        sid = f"CA{n:08d}"
        call = CallTaken(
            call_sid=sid,
            agent=username,
            verified=False,
            policyholder_id=None,
            insured_id=None,
            service=None,
            line="medical",
            queue="medical",
            queue_seconds=1,
            caller=None,
            taken_at=datetime.now().astimezone().isoformat(),
        )
        started = time.perf_counter()
        calls.announce(client, call)
        while await asyncio.wait_for(next_pop(reader), 10) != sid:
            pass
        latencies.append((time.perf_counter() - started) * 1000)
        if n % 5 == 0:
            requests.append(await json_request(port, tokens[0][1]))
    for _, writer in streams.values():
        writer.close()
    return latencies, requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    args = parser.parse_args()

    redis.Redis.from_url(args.redis).flushdb()
    scratch = tempfile.mkdtemp(prefix="hotline-bench-")
    database_url = f"sqlite:///{scratch}/bench.sqlite3"
    tokens = prepare(database_url, args.redis, args.agents)

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis,
        "SECRET_KEY": "bench",
        "HOTLINE_WORKER_CLASS": args.worker_class,
        "WEB_CONCURRENCY": str(args.workers),
    }
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:hotline.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--access-logfile",
        "/dev/null",
        "hotline:create_app()",
    ]
    log = open(Path(scratch) / "server.log", "w")  # noqa: SIM115
    print(f"server log: {log.name}")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)
    try:
        time.sleep(4)
        latencies, requests = asyncio.run(measure(args.port, tokens, args.redis, args.calls))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    print(
        f"{args.worker_class}: {args.agents} streams, {args.calls} calls | screen-pop ms "
        f"p50 {statistics.median(latencies):.1f} p95 {percentile(latencies, 95):.1f} "
        f"p99 {percentile(latencies, 99):.1f} max {max(latencies):.1f} | JSON request ms "
        f"p50 {statistics.median(requests):.1f} p99 {percentile(requests, 99):.1f}"
    )


if __name__ == "__main__":
    main()
