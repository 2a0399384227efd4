"""``hotline import`` of a large feed: wall time and peak memory, first import and re-import.

A deterministic feed (``--policies`` policies, 0.4 people per policy, a few
events per policy, usage rows) is loaded into an empty database with
``/usr/bin/time -v hotline import FEED``, then imported again (the idempotent
case: everything is read back and compared, nothing is written). Wall time is
``Elapsed (wall clock)``, peak memory ``Maximum resident set size``; the run
with the median wall time is reported.

    python -m benchmarks.importing --policies 1000000 --database sqlite
    python -m benchmarks.importing --policies 1000000 --database postgresql --runs 3

Exit status: 0 targets met, 1 a target missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

from benchmarks import databases, feedgen
from benchmarks.common import (
    BenchmarkFailed,
    context,
    exit_status,
    load_average,
    median_run,
    verdict,
)

TARGET_SECONDS = 180
TARGET_RSS_MIB = 2048
PEOPLE_PER_POLICY = 0.4


def parse_time(report: str) -> dict:
    """Wall seconds and peak RSS (MiB) from ``/usr/bin/time -v``'s report."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", report)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    cpu = re.search(r"User time \(seconds\): ([\d.]+)\s+System time \(seconds\): ([\d.]+)", report)
    if not wall or not rss:
        raise BenchmarkFailed(f"no /usr/bin/time -v report in:\n{report[-2000:]}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return {
        "seconds": seconds,
        "rss_mib": int(rss.group(1)) / 1024,
        "cpu_seconds": float(cpu.group(1)) + float(cpu.group(2)) if cpu else float("nan"),
    }


def summary_line(output: str, key: str) -> str:
    match = re.search(rf"^\s*{key}:.*$", output, re.MULTILINE)
    return match.group(0).strip() if match else ""


def one_run(url: str, path) -> dict:
    databases.create_empty(url)
    # The schema is made first, so that the import itself is what is timed.
    databases.hotline(url, "db", "upgrade")
    result = {}
    for phase in ("first", "again"):
        load = load_average()
        output = databases.hotline(url, "import", str(path), timed=True)
        figures = parse_time(output)
        figures["load"] = load
        figures["policies"] = summary_line(output, "policies")
        result[phase] = figures
        print(
            f"  {phase:5}: {figures['seconds']:6.1f} s wall, {figures['cpu_seconds']:6.1f} s CPU, "
            f"peak RSS {figures['rss_mib']:6.0f} MiB  ({figures['policies']}; "
            f"load before: {load})",
            flush=True,
        )
    return result


def run(args) -> int:
    if shutil.which("/usr/bin/time") is None:
        if not args.install_time:
            raise BenchmarkFailed("/usr/bin/time is missing: `apt-get install -y time`")
        subprocess.run(["apt-get", "install", "-y", "time"], check=True)
    people = args.people or max(1, int(args.policies * PEOPLE_PER_POLICY))
    path = feedgen.ensure_feed(people, args.policies, args.seed)
    url = databases.url_for(args.database, f"import-{args.policies}pol-s{args.seed}")
    size = path.stat().st_size / 2**20
    print(
        f"hotline import · {args.database} · {path.name} ({size:.0f} MiB: {people} people, "
        f"{args.policies} policies) · {args.runs} run(s)"
    )
    runs = []
    try:
        for number in range(1, args.runs + 1):
            print(f"run {number}:", flush=True)
            runs.append(one_run(url, path))
    finally:
        if not args.keep_database:
            databases.drop(url)
    print(context())
    ok = True
    for phase, label in (("first", "first import"), ("again", "re-import")):
        best = median_run([r[phase] for r in runs], "seconds")
        time_ok = best["seconds"] < TARGET_SECONDS
        rss_ok = best["rss_mib"] < TARGET_RSS_MIB
        ok = ok and time_ok and rss_ok
        print(
            f"{label:12}: {best['seconds']:.0f} s "
            f"(target < {TARGET_SECONDS} s: {verdict(time_ok)}), "
            f"peak RSS {best['rss_mib']:.0f} MiB (target < {TARGET_RSS_MIB} MiB: "
            f"{verdict(rss_ok)})"
        )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, help="default: 0.4 per policy")
    parser.add_argument("--database", choices=databases.KINDS, default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--install-time", action="store_true", help="apt-get install time if it is missing"
    )
    args = parser.parse_args(argv)
    return exit_status(run, args)


if __name__ == "__main__":
    sys.exit(main())
