"""What ``benchmarks.instructions`` asks of the process valgrind counts, and how it divides."""

from __future__ import annotations

import argparse
import subprocess

import pytest

from benchmarks import instructions
from benchmarks.common import BenchmarkFailed


def counted_with(monkeypatch, *, returncode=0, stderr="==1== Collected : 1234567\n"):
    """``instructions.counted``'s valgrind replaced by a recorder of the command lines it is
    given (each answers ``Collected`` from ``stderr`` and ten webhooks a call)."""
    seen: list[list[str]] = []

    def run(argv, **_kwargs):
        seen.append(argv)
        inner = argv[argv.index("--inner") + 1]
        stdout = f"webhooks {int(inner) * 10}\n"
        return subprocess.CompletedProcess(argv, returncode, stdout=stdout, stderr=stderr)

    monkeypatch.setattr(instructions.subprocess, "run", run)
    monkeypatch.setattr(instructions, "tool", lambda name: f"/usr/bin/{name}")
    return seen


def options(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tz", default="Etc/GMT-12")
    parser.add_argument("--warmup", type=int, default=3)
    instructions.distribution_load.add_options(parser, "")
    return parser.parse_args(list(extra))


def test_the_counted_process_makes_its_calls_with_the_distribution_when_asked(monkeypatch):
    seen = counted_with(monkeypatch)
    assert instructions.counted(options("--distribution", "--agents", "7"), 4) == (1234567, 40)
    argv = seen[0]
    assert argv[0] == "/usr/bin/valgrind" and "--tool=callgrind" in argv
    assert argv[argv.index("--inner") + 1] == "4"
    assert argv[argv.index("--agents") + 1] == "7" and "--distribution" in argv


def test_the_counted_process_makes_plain_calls_by_default(monkeypatch):
    seen = counted_with(monkeypatch)
    instructions.counted(options(), 4)
    assert "--distribution" not in seen[0] and "--agents" not in seen[0]


def test_a_count_without_valgrinds_total_is_a_benchmark_that_could_not_measure(monkeypatch):
    counted_with(monkeypatch, stderr="valgrind: no such tool\n")
    with pytest.raises(BenchmarkFailed, match="under valgrind failed"):
        instructions.counted(options(), 4)


def test_one_webhook_is_the_difference_in_instructions_over_the_difference_in_webhooks(
    monkeypatch, capsys
):
    counts = {20: (10_000_000, 183), 60: (12_000_000, 583)}
    monkeypatch.setattr(instructions.databases, "with_feed", lambda *a: ("sqlite:///x", 0))
    monkeypatch.setattr(instructions, "counted", lambda args, calls: counts[calls])
    args = options("--distribution")
    args.few, args.many, args.reuse, args.keep_database = 20, 60, True, True
    assert instructions.run(args) == 0
    out = capsys.readouterr().out
    assert "per webhook: 5.0 thousand instructions" in out
    assert "the distribution running, 20 agents" in out


def test_the_command_line_takes_the_distribution_and_its_agents(monkeypatch):
    given = []
    monkeypatch.setattr(instructions, "run", lambda args: given.append(args) or 0)
    assert instructions.main(["--distribution", "--agents", "3"]) == 0
    assert given[0].distribution and given[0].agents == 3 and given[0].inner is None
