"""What every benchmark shares: where scratch files go, how runs are summarised,
and the context a figure needs to be read (date, machine, commit, load)."""

from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Generated feeds, databases and logs: git-ignored, never committed.
OUT = ROOT / "benchmarks" / "out"
VENV_BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get(
    "HOTLINE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# HOTLINE_BENCH_DATABASE: another name, so that benchmarks run side by side on one server
# (each drops and recreates its database) do not pull it out from under each other.
POSTGRES_DATABASE = os.environ.get("HOTLINE_BENCH_DATABASE", "hotline_bench")
REDIS_URL = os.environ.get("HOTLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")


class BenchmarkFailed(Exception):
    """A benchmark that could not measure what it set out to (not a missed target)."""


def exit_status(run: Callable, args, *could_not: type[Exception]) -> int:
    """``run(args)``'s exit status, or 2 when it could not measure: ``BenchmarkFailed`` or
    one of ``could_not`` with its reason on stderr, anything else with its traceback."""
    try:
        return run(args)
    except (BenchmarkFailed, *could_not) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except Exception:  # e.g. a server that refused connections: no figure, not a miss
        traceback.print_exc()
        return 2


def out_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def tool(name: str) -> str:
    """A console script of this venv (``hotline``, ``gunicorn``), else one on PATH."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise BenchmarkFailed(f"{name} is not installed")
    return found


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}{'+dirty' if dirty else ''}"


def context() -> str:
    """One line to print beside the figures, as README.md records them."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · commit {commit()} · "
        f"load average {load_average()} (1, 5, 15 min)"
    )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def median_run(runs: list[dict], key: str) -> dict:
    """The run whose ``key`` is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: run[key])
    return ordered[(len(ordered) - 1) // 2]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "MISSES the target"


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of latencies (any order)."""
    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
    }


def own_cpu_seconds() -> float:
    """User + system CPU time of this process so far (a load generator's cost)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_pressure_seconds() -> float | None:
    """Seconds so far in which some task waited for a CPU (Linux PSI), or None without PSI."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(line.rsplit("total=", 1)[1]) / 1e6
