"""Who is offered to whom (SPEC §6 distribution, step 1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.distribution import Agent, Caller, assign, order

MEDICAL = frozenset({"medical", "medical-callback"})


def sids(callers) -> list[str]:
    return [c.call_sid for c in callers]


def test_callers_go_longest_wait_first():
    assert sids(order([Caller("B", "medical", 20), Caller("A", "medical", 10)])) == ["A", "B"]


def test_returning_callbacks_go_before_callers_who_waited_longer():
    callers = [Caller("A", "medical", 10), Caller("CB", "medical-callback", 50, callback=True)]
    assert sids(order(callers)) == ["CB", "A"]


def test_a_caller_whose_offer_failed_goes_before_everyone():
    callers = [
        Caller("A", "medical", 10),
        Caller("CB", "medical-callback", 5, callback=True),
        Caller("M", "medical", 40, missed=True),
    ]
    assert sids(order(callers)) == ["M", "CB", "A"]


def test_a_higher_tier_passes_only_callers_who_called_less_than_its_jump_before():
    # 豪华 called 50 s after A and 70 s after B; it jumps 60 s: ahead of A, behind B.
    callers = [
        Caller("B", "medical", 0),
        Caller("A", "medical", 20),
        Caller("H", "medical", 70, jump_seconds=60),
    ]
    assert sids(order(callers)) == ["B", "H", "A"]


@given(
    st.lists(st.tuples(st.integers(0, 600), st.sampled_from([0, 30, 60])), min_size=1, max_size=12)
)
def test_with_jumps_of_at_most_m_nobody_is_passed_by_a_caller_who_called_m_seconds_later(entries):
    most = 60
    callers = [Caller(f"C{i}", "medical", at, jump_seconds=j) for i, (at, j) in enumerate(entries)]
    ranked = order(callers)
    for i, ahead in enumerate(ranked):
        for behind in ranked[i + 1 :]:
            assert ahead.entered_at - behind.entered_at <= most


def test_each_caller_goes_to_the_agent_available_longest_who_serves_their_queue():
    agents = [
        Agent("bob", 200, MEDICAL),
        Agent("ann", 100, MEDICAL),
        Agent("pat", 50, frozenset({"policy"})),
    ]
    callers = [Caller("A", "medical", 10), Caller("B", "medical", 20), Caller("C", "medical", 30)]
    assert [(c.call_sid, a.username) for c, a in assign(callers, agents)] == [
        ("A", "ann"),
        ("B", "bob"),
    ]


def test_a_caller_nobody_serves_is_skipped_for_the_next():
    agents = [Agent("pat", 50, frozenset({"policy"}))]
    callers = [Caller("A", "medical", 10), Caller("P", "policy", 20)]
    assert [(c.call_sid, a.username) for c, a in assign(callers, agents)] == [("P", "pat")]


def test_nobody_available_means_no_offer():
    assert assign([Caller("A", "medical", 10)], []) == []
