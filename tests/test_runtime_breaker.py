"""The circuit breaker: after a failure the next callers are refused at once, then one probes."""

from __future__ import annotations

from runtime.breaker import CLOSED, OPEN, PROBING, Breaker


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(seconds: float = 5.0) -> tuple[Breaker, Ticks]:
    ticks = Ticks()
    return Breaker("database", seconds, clock=ticks), ticks


def test_a_closed_breaker_lets_every_use_through():
    guard, _ = breaker()
    assert all(guard.allow() for _ in range(10))
    assert guard.state == CLOSED


def test_after_a_failure_uses_are_refused_until_it_cools_down():
    guard, ticks = breaker(5)
    guard.failed()
    assert guard.state == OPEN and guard.is_open()
    ticks.now += 4.9
    assert not guard.allow()
    assert guard.refused == 1


def test_once_cooled_down_one_use_probes_and_the_others_wait_for_it():
    guard, ticks = breaker(5)
    guard.failed()
    ticks.now += 5
    assert guard.allow()
    assert guard.state == PROBING and not guard.is_open()
    assert not guard.allow()


def test_a_probe_that_succeeds_closes_the_breaker():
    guard, ticks = breaker(5)
    guard.failed()
    ticks.now += 5
    guard.allow()
    guard.succeeded()
    assert guard.state == CLOSED
    assert guard.allow() and guard.allow()


def test_a_probe_that_fails_opens_it_again_for_as_long():
    guard, ticks = breaker(5)
    guard.failed()
    ticks.now += 5
    guard.allow()
    guard.failed()
    ticks.now += 4
    assert not guard.allow()
    ticks.now += 1
    assert guard.allow()


def test_a_probe_that_never_reports_is_replaced_by_another():
    guard, ticks = breaker(5)
    guard.failed()
    ticks.now += 5
    assert guard.allow()
    ticks.now += 5
    assert guard.allow()
