"""Instructions per IVR webhook, counted by valgrind: an A/B figure the host's speed does not move.

On the shared 2-core machine a millisecond of CPU is not the same from one minute to the
next (the gunicorn benchmarks' figures move by ±30 %, the in-process ones by ±15 %), so a
change of a few per cent cannot be told from the drift by timing it. Instructions can:
``valgrind --tool=callgrind`` counts those the process runs, the same for the same work
whatever else the machine does.

The in-process IVR calls of ``benchmarks.in_process`` (``benchmarks.callers``: whole
calls, signed as Twilio signs them, followed through their TwiML; the app behind Flask's
test client, with real Redis and the benchmark's database) are run twice under callgrind,
``--few`` and ``--many`` calls after the same ``--warmup`` calls; the difference in
instructions divided by the difference in webhooks is one webhook's cost, start-up and
warm-up cancelled out. The test client and the softphone are in the figure (the same for
any commit of the hotline); the Redis and database servers are not. User space only: the
kernel's share of a round trip is not counted, so a change that saves a round trip
saves more than this shows.

    python -m benchmarks.instructions --database sqlite --reuse

Compare two commits by running each from its own folder. With ``--distribution`` the
calls are made with the distribution running (``benchmarks.in_process.with_distribution``:
``--agents`` agents available), so that what it adds to a webhook (issue 14's target 3)
is counted the same way; the step that takes each call's dispatch job off the queue is
not a webhook's work but is in the count (about 65 thousand instructions per webhook,
benchmarks/README.md). Exit status 2 when valgrind is missing or the calls fail; there
is no target.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile

from benchmarks import callers, databases, distribution_load
from benchmarks.common import ROOT, BenchmarkFailed, context, exit_status, tool
from benchmarks.server import add_database_options

COLLECTED = re.compile(r"Collected : (\d+)")
WEBHOOKS = re.compile(r"^webhooks (\d+)$", re.MULTILINE)


def calls(args) -> int:
    """In this process: ``--warmup`` calls, then ``--inner`` calls; prints their webhooks."""
    from benchmarks import in_process
    from hotline import create_app

    url, _ = databases.with_feed(args.database, args.people, args.seed, reuse=True)
    settings, book = in_process.prepare(url, args.tz)
    app = create_app(settings)
    _, count = in_process.timed(app)
    made = in_process.ivr_calls(app, book, args.seed)
    if args.distribution:
        made = in_process.with_distribution(app, url, args.agents, made)
    made(args.warmup)
    in_process.write_notes(app)
    count.clear()
    made(args.inner)
    in_process.write_notes(app)
    print(f"webhooks {sum(count.values())}")
    return 0


def counted(args, how_many: int) -> tuple[int, int]:
    """Instructions and webhooks of a process making ``how_many`` calls after the warm-up."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                tool("valgrind"),
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/callgrind.out",
                sys.executable,
                "-m",
                "benchmarks.instructions",
                *("--database", args.database, "--people", str(args.people)),
                *("--seed", str(args.seed), "--tz", args.tz, "--warmup", str(args.warmup)),
                *("--inner", str(how_many)),
                *(("--distribution", "--agents", str(args.agents)) if args.distribution else ()),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    collected, webhooks = COLLECTED.search(done.stderr), WEBHOOKS.search(done.stdout)
    if done.returncode != 0 or collected is None or webhooks is None:
        raise BenchmarkFailed(f"the calls under valgrind failed: {done.stderr[-2000:]}")
    return int(collected.group(1)), int(webhooks.group(1))


def run(args) -> int:
    url, _ = databases.with_feed(args.database, args.people, args.seed, args.reuse)
    args.tz = args.tz or callers.open_zone()  # one zone for both counts: the same lines open
    try:
        few, few_webhooks = counted(args, args.few)
        many, many_webhooks = counted(args, args.many)
    finally:
        if not args.keep_database and args.database == "postgresql":
            databases.drop(url)
    webhooks = many_webhooks - few_webhooks
    if webhooks <= 0:
        raise BenchmarkFailed("no more webhooks with more calls")
    per_webhook = (many - few) / webhooks
    running = f" · the distribution running, {args.agents} agents" if args.distribution else ""
    print(
        f"instructions · {args.database} · {args.people} people{running} · HOTLINE_TZ={args.tz} · "
        f"{args.few} and {args.many} calls after {args.warmup}: {few_webhooks} and "
        f"{many_webhooks} webhooks, {few:,} and {many:,} instructions"
    )
    print(context())
    print(f"per webhook: {per_webhook / 1e3:,.1f} thousand instructions (client and server)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_options(parser)
    parser.add_argument("--warmup", type=int, default=30, help="calls before those counted")
    parser.add_argument("--few", type=int, default=20, help="calls of the first count")
    parser.add_argument("--many", type=int, default=60, help="calls of the second count")
    parser.add_argument("--inner", type=int, help=argparse.SUPPRESS)  # the process counted
    distribution_load.add_options(
        parser, "the calls made with the distribution running (--agents available)"
    )
    args = parser.parse_args(argv)
    return exit_status(calls if args.inner is not None else run, args)


if __name__ == "__main__":
    sys.exit(main())
