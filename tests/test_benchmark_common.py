"""What every benchmark's ``main`` returns when it could not measure (``benchmarks.common``)."""

from __future__ import annotations

from benchmarks.common import BenchmarkFailed, exit_status


def failing(error: Exception):
    def run(_args) -> int:
        raise error

    return run


def test_a_benchmark_that_measured_exits_with_its_own_status():
    assert exit_status(lambda args: args, 1) == 1


def test_a_benchmark_that_could_not_measure_exits_2_with_its_reason(capsys):
    assert exit_status(failing(BenchmarkFailed("no wrk")), None) == 2
    assert "benchmark failed: no wrk" in capsys.readouterr().err


def test_a_failure_the_benchmark_names_is_reported_as_one_it_could_not_measure(capsys):
    assert exit_status(failing(LookupError("lost call")), None, LookupError) == 2
    assert "benchmark failed: lost call" in capsys.readouterr().err


def test_an_unexpected_error_exits_2_with_its_traceback(capsys):
    assert exit_status(failing(ConnectionRefusedError("down")), None) == 2
    assert "Traceback" in capsys.readouterr().err
