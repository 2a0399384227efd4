"""The queues now, in Redis: who waits, marks counted once, O(1) snapshots, wait estimates."""

from __future__ import annotations

import fakeredis
import pytest
from redis import Redis

from live import queueboard

T0 = 1_773_000_000.0


@pytest.fixture
def redis(redis_url):
    client = Redis.from_url(redis_url) if redis_url else fakeredis.FakeRedis()
    client.flushdb()
    yield client
    client.flushdb()


def snap(redis, queue="medical", now=T0) -> queueboard.QueueNow:
    (found,) = queueboard.snapshot(redis, [queue], now)
    return found


def answer(redis, sid, at, queue="medical"):
    return queueboard.answered(redis, queue, sid, at, 20)


def test_an_empty_queue_has_nobody_waiting(redis):
    found = snap(redis)
    assert (found.waiting, found.longest_wait_seconds, found.callbacks_pending) == (0, 0, 0)


def test_waiting_callers_and_the_longest_wait(redis):
    queueboard.enqueued(redis, "medical", "CA1", T0)
    queueboard.enqueued(redis, "medical", "CA2", T0 + 30)
    found = snap(redis, now=T0 + 90)
    assert (found.waiting, found.longest_wait_seconds) == (2, 90)


def test_a_call_is_listed_answered_or_gone_once_however_often_twilio_retries(redis):
    firsts = []
    for _ in range(3):
        firsts.append(
            (
                queueboard.enqueued(redis, "medical", "CA1", T0),
                queueboard.enqueued(redis, "medical", "CA2", T0),
                answer(redis, "CA1", T0 + 10),
                queueboard.left(redis, "medical", "CA2", "hangup"),
            )
        )
    assert firsts == [(True, True, True, True), *[(False, False, False, False)] * 2]
    assert snap(redis).waiting == 0


@pytest.mark.parametrize("result", ["hangup", "leave", "queue-full", "error"])
def test_a_caller_leaving_without_an_agent_is_no_longer_waiting(redis, result):
    queueboard.enqueued(redis, "medical", "CA1", T0)
    assert queueboard.left(redis, "medical", "CA1", result)
    assert snap(redis).waiting == 0


@pytest.mark.parametrize("result", ["bridged", "redirected"])
def test_a_bridged_or_redirected_result_is_not_a_way_out(redis, result):
    queueboard.enqueued(redis, "medical", "CA1", T0)
    assert not queueboard.left(redis, "medical", "CA1", result)


def test_a_call_that_ended_while_listed_as_waiting_left_the_queue_it_was_in(redis):
    queueboard.enqueued(redis, "medical", "CA1", T0)
    assert queueboard.gone(redis, ["policy", "medical"], "CA1") == ["medical"]
    assert queueboard.gone(redis, ["policy", "medical"], "CA1") == []
    assert snap(redis).waiting == 0


def test_callbacks_pending_are_counted_and_replaced_from_the_record(redis):
    queueboard.callback_pending(redis, "medical-callback", 1)
    queueboard.callback_pending(redis, "medical-callback", 1)
    queueboard.callback_pending(redis, "medical-callback", 2)
    assert snap(redis, "medical-callback").callbacks_pending == 2
    queueboard.callback_settled(redis, "medical-callback", 1)
    assert snap(redis, "medical-callback").callbacks_pending == 1
    queueboard.set_callbacks(redis, {"medical-callback": [7, 8, 9], "policy-callback": []})
    assert snap(redis, "medical-callback").callbacks_pending == 3


class CountingPipeline:
    def __init__(self, pipe):
        self.pipe = pipe
        self.commands = 0

    def __getattr__(self, name):
        attribute = getattr(self.pipe, name)
        if name in ("execute", "reset"):
            return attribute

        def counted(*args, **kwargs):
            self.commands += 1
            return attribute(*args, **kwargs)

        return counted


def test_a_snapshot_costs_the_same_however_long_the_day(redis, monkeypatch):
    def cost(queues) -> int:
        made = []
        original = redis.pipeline

        def pipeline(*args, **kwargs):
            made.append(CountingPipeline(original(*args, **kwargs)))
            return made[-1]

        monkeypatch.setattr(redis, "pipeline", pipeline)
        queueboard.snapshot(redis, queues, T0)
        monkeypatch.setattr(redis, "pipeline", original)
        return len(made), sum(p.commands for p in made)

    quiet = cost(["medical", "policy"])
    for i in range(500):
        queueboard.enqueued(redis, "medical", f"CA{i}", T0 + i)
        if i % 2:
            answer(redis, f"CA{i}", T0 + i + 3)
    assert cost(["medical", "policy"]) == quiet == (1, 6)


def estimated_wait(redis, queues, position, now, history_seconds, fallback_seconds):
    """The estimate as the waitUrl makes it: the answer times read, then weighed."""
    pipe = redis.pipeline(transaction=False)
    queueboard.read_answer_times(pipe, queues)
    return queueboard.estimate(pipe.execute(), position, now, history_seconds, fallback_seconds)


def test_the_estimate_uses_the_interval_between_recent_answers(redis):
    for i in range(5):
        queueboard.enqueued(redis, "medical", f"CA{i}", T0)
        answer(redis, f"CA{i}", T0 + 30 * i)
    assert estimated_wait(redis, ["medical"], 3, T0 + 130, 3600, 180) == 90


def test_the_estimate_counts_answers_in_every_queue_of_the_line(redis):
    answer(redis, "CA1", T0, "medical")
    answer(redis, "CA2", T0 + 40, "medical-callback")
    assert estimated_wait(redis, ["medical", "medical-callback"], 2, T0 + 50, 3600, 180) == 80


def test_without_recent_answers_the_estimate_falls_back_to_the_configured_guess(redis):
    assert estimated_wait(redis, ["medical"], 2, T0, 3600, 180) == 360
    answer(redis, "CA1", T0 - 7200)
    answer(redis, "CA2", T0 - 7100)
    assert estimated_wait(redis, ["medical"], 2, T0, 3600, 180) == 360


def test_heads_give_count_and_oldest_entry_per_queue(redis):
    queueboard.enqueued(redis, "policy", "CA1", T0 + 5)
    queueboard.enqueued(redis, "policy", "CA2", T0)
    assert queueboard.heads(redis, ["policy", "medical"], T0 + 10) == {
        "policy": (2, T0),
        "medical": (0, None),
    }


def test_heads_skip_a_caller_whose_leave_was_never_heard_as_waiting_does(redis):
    # Hours ago a caller left without Twilio's notification reaching us; another waits now.
    queueboard.enqueued(redis, "medical", "CAGONE", T0)
    now = T0 + queueboard.STALE_SECONDS + 60
    queueboard.enqueued(redis, "policy", "CANOW", now - 30)
    heads = queueboard.heads(redis, ["medical", "policy"], now)
    assert heads == {"medical": (0, None), "policy": (1, now - 30)}
    assert [w.call_sid for w in queueboard.waiting(redis, ["medical", "policy"], now)] == ["CANOW"]
    (medical,) = queueboard.snapshot(redis, ["medical"], now)
    assert (medical.waiting, medical.longest_wait_seconds) == (0, 0)
