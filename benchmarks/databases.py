"""Scratch databases for benchmarks: a SQLite file under ``benchmarks/out/`` or the
PostgreSQL database ``hotline_bench``, made empty on request and dropped after."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from benchmarks.common import POSTGRES_ADMIN_URL, POSTGRES_DATABASE, BenchmarkFailed, out_dir, tool
from hotline.db import make_engine

KINDS = ("sqlite", "postgresql")


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
