"""Scratch databases for benchmarks: a SQLite file under ``benchmarks/out/`` or the
PostgreSQL database ``hotline_bench``, made empty on request and dropped after."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from benchmarks import feedgen
from benchmarks.common import POSTGRES_ADMIN_URL, POSTGRES_DATABASE, BenchmarkFailed, out_dir, tool
from storage.db import make_engine

KINDS = ("sqlite", "postgresql")
POLICIES_PER_PERSON = 2.5


def url_for(kind: str, label: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{out_dir() / f'{label}.sqlite3'}"
    admin = make_url(POSTGRES_ADMIN_URL)
    return admin.set(database=POSTGRES_DATABASE).render_as_string(hide_password=False)


def _admin():
    return make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")


def exists(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).exists()
    admin = _admin()
    try:
        with admin.connect() as connection:
            return bool(
                connection.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": parsed.database},
                )
            )
    finally:
        admin.dispose()


def create_empty(url: str) -> None:
    """An empty database at ``url`` (the tables are made by the ``hotline`` commands)."""
    drop(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = _admin()
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        except OperationalError as exc:
            raise BenchmarkFailed(f"PostgreSQL at {POSTGRES_ADMIN_URL}: {exc.orig}") from None
        finally:
            admin.dispose()


def drop(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = _admin()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    except OperationalError as exc:
        raise BenchmarkFailed(f"PostgreSQL at {POSTGRES_ADMIN_URL}: {exc.orig}") from None
    finally:
        admin.dispose()


def count(url: str, table: str) -> int | None:
    """Rows in ``table``, or None when the database or the table is not there."""
    if not exists(url):
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text(f"SELECT count(*) FROM {table}"))
    except Exception:
        return None
    finally:
        engine.dispose()


def hotline_env(url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "SECRET_KEY": "benchmark", **extra})
    return env


def hotline(url: str, *args: str, timed: bool = False, **extra: str) -> str:
    """Run the ``hotline`` console script on ``url``; returns stdout (and stderr when timed).

    ``timed`` runs it under ``/usr/bin/time -v``, whose report goes to stderr.
    """
    command = [tool("hotline"), *args]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    done = subprocess.run(command, env=hotline_env(url, **extra), capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchmarkFailed(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout + (done.stderr if timed else "")


def new_token(url: str, username: str) -> str:
    """An API token of a new agent (the last line ``hotline agent add`` prints)."""
    output = hotline(url, "agent", "add", username, "--role", "agent")
    return output.strip().splitlines()[-1]


def with_feed(kind: str, people: int, seed: int, reuse: bool) -> tuple[str, int]:
    """A database holding the generated feed for ``people`` (2.5 policies each), loaded
    with ``hotline import``; returns its URL and the policy count.

    ``reuse`` keeps a database that already holds that many policies.
    """
    policies = int(people * POLICIES_PER_PERSON)
    url = url_for(kind, f"api-{people}p-s{seed}")
    if reuse and count(url, "policies") == policies:
        print(f"reusing {kind} database with {policies} policies", flush=True)
        hotline(url, "db", "upgrade")  # made by an older commit: its schema brought up to date
        return url, policies
    path = feedgen.ensure_feed(people, policies, seed)
    create_empty(url)
    started = time.perf_counter()
    hotline(url, "import", str(path))
    print(f"imported {path.name} into {kind} in {time.perf_counter() - started:.0f} s", flush=True)
    if kind == "postgresql":
        # A database in service has been vacuumed and analysed; one just loaded has not,
        # and autovacuum would do it in the middle of the timed runs.
        engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("VACUUM (ANALYZE)")
        finally:
            engine.dispose()
    return url, policies


def forget_failed_tries(url: str) -> None:
    """Delete the failed authentication tries of earlier runs: the same callers call again,
    and their wrong tries would add up to a lockout from one run to the next."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM auth_failures"))
    finally:
        engine.dispose()


def new_agents(url: str, usernames: list[str], queues: str) -> dict[str, str]:
    """Agents added with ``hotline agent add`` (one app, the command run in process, as
    the tests run it: two hundred separate processes would take minutes of CPU);
    returns each agent's API token, the last line the command prints.
    """
    from hotline import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "benchmark"})
    runner = app.test_cli_runner()
    tokens = {}
    try:
        for username in usernames:
            done = runner.invoke(
                args=["agent", "add", username, "--role", "agent", "--queues", queues]
            )
            if done.exit_code != 0:
                raise BenchmarkFailed(f"agent add {username} failed: {done.output}")
            tokens[username] = done.output.strip().splitlines()[-1]
    finally:
        from storage import db

        db.engine(app).dispose()
    return tokens
