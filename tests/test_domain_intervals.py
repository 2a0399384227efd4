"""Half-hour intervals in Asia/Shanghai: boundaries, the last interval of a day, midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from domain import contributions, intervals
from domain.agent_figures import AgentTotals

TZ = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=TZ)


def test_a_moment_falls_in_the_half_hour_it_is_in_and_a_boundary_starts_the_next():
    assert intervals.interval_of(local(10, 10, 29, 59), TZ) == local(10, 10, 0)
    assert intervals.interval_of(local(10, 10, 30), TZ) == local(10, 10, 30)


def test_the_last_interval_of_a_day_runs_from_23_30_to_midnight():
    last = intervals.interval_of(local(10, 23, 59, 59), TZ)
    assert last == local(10, 23, 30)
    assert intervals.day_of(last, TZ) == date(2026, 3, 10)
    first = intervals.interval_of(local(11, 0, 0), TZ)
    assert first == local(11, 0, 0) and intervals.day_of(first, TZ) == date(2026, 3, 11)


def test_intervals_are_named_by_their_start_in_utc_and_naive_times_are_utc():
    start = intervals.interval_of(datetime(2026, 3, 10, 15, 45), TZ)  # 23:45 in Shanghai
    assert start == datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert start.tzinfo == UTC


def test_a_day_has_48_intervals_from_local_midnight():
    found = intervals.intervals_of(date(2026, 3, 10), TZ)
    assert len(found) == 48
    assert found[0] == local(10, 0, 0) and found[-1] == local(10, 23, 30)
    assert intervals.days_span(date(2026, 3, 10), date(2026, 3, 11), TZ) == (
        local(10, 0, 0),
        local(12, 0, 0),
    )


def test_a_span_across_midnight_is_cut_at_every_boundary():
    found = list(intervals.slices(local(10, 23, 50), local(11, 0, 40), TZ))
    assert found == [
        (local(10, 23, 30), 600.0),
        (local(11, 0, 0), 1800.0),
        (local(11, 0, 30), 600.0),
    ]


def test_a_spell_counts_its_seconds_where_they_were_and_a_missed_offer_where_it_began():
    made = contributions.of_spell("ann", "break", "missed", local(10, 23, 55), local(11, 0, 5), TZ)
    rows = contributions.add_up(made)
    assert rows[("agent", "ann", local(10, 23, 30))] == {
        "missed_offers": 1,
        "state_break_seconds": 300.0,
    }
    assert rows[("agent", "ann", local(11, 0, 0))] == {"state_break_seconds": 300.0}


def test_a_spell_seen_within_a_period_counts_only_its_part_inside_it():
    today = intervals.days_span(date(2026, 3, 11), date(2026, 3, 11), TZ)
    made = contributions.of_spell(
        "ann", "break", "missed", local(10, 23, 0), local(11, 1, 0), TZ, within=today
    )
    totals = AgentTotals()
    for one in made:
        totals = totals + AgentTotals.of(one.figures)
    # The missed offer was yesterday; an hour of the break is today's.
    assert (totals.missed_offers, totals.state_break_seconds) == (0, 3600)


def test_offline_time_is_not_counted_and_nothing_else_is_a_missed_offer():
    assert contributions.of_spell("ann", "offline", None, local(10, 9), local(10, 10), TZ) == []
    made = contributions.of_spell("ann", "break", "lunch", local(10, 12), local(10, 12, 10), TZ)
    assert [c.figures for c in made] == [{"state_break_seconds": 600.0}]


def test_occupancy_is_time_on_calls_and_wrap_up_over_time_ready_or_working():
    totals = AgentTotals(
        state_available_seconds=1800,
        state_offered_seconds=60,
        state_on_call_seconds=1500,
        state_wrap_up_seconds=240,
        state_break_seconds=900,
    )
    assert totals.occupancy == (1500 + 240) / (1800 + 60 + 1500 + 240)
    assert AgentTotals().occupancy is None and AgentTotals().average_handle_time is None
