"""SPEC §7's figures on hand-made call histories: service level, short abandons, ASA, AHT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import contributions
from domain.contributions import (
    AGENT,
    AGENT_HANDLED,
    AGENT_WRAPPED_UP,
    CALLBACK_COMPLETED,
    HANDLED,
    LEFT_QUEUE,
    OFFERED,
    QUEUE,
    WRAPPED_UP,
)
from domain.service_level import FigureRules, QueueTotals, exit_figures, service_level
from domain.thresholds import Threshold

RULES = FigureRules(service_level_seconds=20, short_abandon_seconds=5)
TZ = ZoneInfo("Asia/Shanghai")
# 10:00 in Shanghai.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def call(**facts):
    values = {
        "kind": "inbound",
        "queue": "medical",
        "line": "medical",
        "agent": None,
        "enqueued_at": T0,
        "left_queue_at": None,
        "queue_result": None,
        "wait_seconds": None,
        "answered_at": None,
        "talk_seconds": None,
        "wrap_up_seconds": None,
        "ended_at": None,
    }
    values.update(facts)
    return SimpleNamespace(**values)


def left(result: str, wait: float | None, **facts):
    return call(
        left_queue_at=T0 + timedelta(seconds=wait or 0),
        queue_result=result,
        wait_seconds=wait,
        **facts,
    )


def totals(*calls) -> QueueTotals:
    out = QueueTotals()
    for one in calls:
        for made in contributions.of_call(one, RULES, TZ, lambda line: line):
            if made.table == QUEUE and made.key == "medical":
                out = out + QueueTotals.of(made.figures)
    return out


def test_answered_at_exactly_the_service_level_is_within_it_and_a_moment_later_is_not():
    found = totals(left("answered", 20.0), left("answered", 20.001))
    assert (found.answered, found.answered_within_sl, found.service_level) == (2, 1, 0.5)


def test_an_abandon_at_exactly_the_short_threshold_is_short_and_left_out_of_the_service_level():
    found = totals(left("answered", 3), left("abandoned", 5.0), left("abandoned", 5.001))
    assert (found.abandoned, found.short_abandons) == (1, 1)
    assert found.service_level == 1 / 2


def test_the_service_level_counts_answered_within_over_answered_and_long_abandons():
    history = [
        left("answered", 5),
        left("answered", 20),
        left("answered", 21),
        left("answered", 60),
        left("abandoned", 3),
        left("abandoned", 30),
        left("callback", 40),
        left("failed", 1),
    ]
    found = totals(*history)
    assert (found.offered, found.answered, found.answered_within_sl) == (8, 4, 2)
    assert (found.abandoned, found.short_abandons, found.left_for_callback, found.failed) == (
        1,
        1,
        1,
        1,
    )
    assert found.service_level == 2 / 5
    assert found.average_speed_of_answer == (5 + 20 + 21 + 60) / 4
    assert found.longest_wait_seconds == 60


def test_callers_still_waiting_count_nowhere_but_offered():
    found = totals(call(), call())
    assert (found.offered, found.answered, found.abandoned) == (2, 0, 0)
    assert found.service_level is None and found.average_speed_of_answer is None


def test_without_answers_or_long_abandons_there_is_no_service_level():
    found = totals(left("abandoned", 2), left("callback", 50), left("failed", 0))
    assert found.service_level is None
    assert service_level(0, 0, 0) is None


def test_a_hang_up_whose_wait_is_unknown_counts_against_the_service_level():
    assert exit_figures("abandoned", None, RULES) == {"abandoned": 1}


def test_the_handle_time_is_talk_and_wrap_up_of_completed_calls_only():
    done = left("answered", 10, agent="ann", answered_at=T0 + timedelta(seconds=10))
    talking = dict(answered_at=T0 + timedelta(seconds=10), agent="ann")
    found = totals(
        call(**{**vars(done), "talk_seconds": 100, "wrap_up_seconds": 20}),
        call(**{**vars(done), "talk_seconds": 200, "wrap_up_seconds": 40}),
        left("answered", 10, **talking),  # still on the call: not completed
    )
    assert (found.handled, found.handle_total_seconds) == (2, 360)
    assert found.average_handle_time == 180


def test_a_call_answered_and_over_without_a_talk_time_talked_until_it_ended():
    answered = T0 + timedelta(seconds=30)
    over = call(agent="ann", answered_at=answered, ended_at=answered + timedelta(seconds=95.4))
    assert contributions.talk_of(over) == 95
    assert contributions.talk_of(call(agent="ann", answered_at=answered)) is None
    noted = call(agent="ann", answered_at=answered, ended_at=answered, talk_seconds=120)
    assert contributions.talk_of(noted) == 120
    made = contributions.of_call(over, RULES, TZ, lambda _: None)
    handled = [c for c in made if c.mark == HANDLED]
    assert handled[0].figures == {"handled": 1, "handle_total_seconds": 95}


def test_each_contribution_of_a_call_has_its_own_mark_and_interval():
    answered = T0 + timedelta(minutes=25)
    done = call(
        left_queue_at=answered,
        queue_result="answered",
        wait_seconds=25 * 60,
        agent="ann",
        answered_at=answered,
        talk_seconds=10 * 60,
        wrap_up_seconds=30,
    )
    made = contributions.of_call(done, RULES, TZ, lambda line: line)
    by_mark = {(c.mark, c.table): c.interval for c in made}
    assert by_mark[(OFFERED, QUEUE)] == T0
    assert by_mark[(LEFT_QUEUE, QUEUE)] == T0  # left at 10:25, in 10:00–10:30
    # The talk ended at 10:35: handled in 10:30–11:00, for the queue and for the agent.
    handled = T0 + timedelta(minutes=30)
    assert by_mark[(HANDLED, QUEUE)] == by_mark[(AGENT_HANDLED, AGENT)] == handled
    assert by_mark[(WRAPPED_UP, QUEUE)] == by_mark[(AGENT_WRAPPED_UP, AGENT)] == handled
    assert len({c.mark for c in made}) == len(made)  # one mark per contribution
    assert contributions.marks_of(made) == contributions.EVERY_MARK & ~CALLBACK_COMPLETED
    counted = OFFERED | LEFT_QUEUE | AGENT_WRAPPED_UP
    assert contributions.of_call(done, RULES, TZ, lambda line: line, counted) == [
        c for c in made if c.mark in (HANDLED, WRAPPED_UP, AGENT_HANDLED)
    ]


def test_an_answered_returning_callback_completes_the_callback_on_its_lines_own_queue():
    returned = left("answered", 4, kind="callback", queue="medical-callback")
    made = contributions.of_call(returned, RULES, TZ, lambda line: {"medical": "medical"}[line])
    completed = [c for c in made if "callbacks_completed" in c.figures]
    assert [(c.key, c.mark) for c in completed] == [("medical", CALLBACK_COMPLETED)]


@given(
    waits=st.lists(
        st.tuples(
            st.sampled_from(["answered", "abandoned", "callback", "failed"]),
            st.floats(min_value=0, max_value=600, allow_nan=False),
        ),
        max_size=30,
    )
)
def test_offered_is_every_way_out_added_up_and_the_service_level_stays_a_fraction(waits):
    found = totals(*(left(result, wait) for result, wait in waits))
    ways_out = (
        found.answered
        + found.abandoned
        + found.short_abandons
        + found.left_for_callback
        + found.failed
    )
    assert found.offered == ways_out == len(waits)
    assert found.service_level is None or 0 <= found.service_level <= 1
    halves = totals(*(left(r, w) for r, w in waits[::2])) + totals(
        *(left(r, w) for r, w in waits[1::2])
    )
    assert halves.as_dict() == pytest.approx(found.as_dict())


@pytest.mark.parametrize(
    ("threshold", "value", "level"),
    [
        (Threshold(0.8, 0.6, "below"), 0.8, None),
        (Threshold(0.8, 0.6, "below"), 0.79, "warn"),
        (Threshold(0.8, 0.6, "below"), 0.59, "alert"),
        (Threshold(0.8, 0.6, "below"), None, None),
        (Threshold(60, 120, "above"), 59, None),
        (Threshold(60, 120, "above"), 60, "warn"),
        (Threshold(60, 120, "above"), 120, "alert"),
    ],
)
def test_a_figure_past_its_threshold_is_highlighted_in_the_direction_that_is_worse(
    threshold, value, level
):
    assert threshold.level(value) == level
