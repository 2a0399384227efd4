"""What each call, callback and agent spell adds to the interval history, and when.

One function per source says it, for both ways the history is written: as things
happen (each contribution added once, when it becomes due, and marked on its call)
and when it is rebuilt from the records (every due contribution, added up). The
two agree because a contribution's interval and figures depend only on facts that,
once known, never change (the call record keeps the first value of each).

A call makes up to seven contributions, each with its own mark (a bit), each due once
every fact it is made of is known — whatever order the facts arrive in:

- ``OFFERED`` — it entered a queue: ``offered`` in the interval it entered;
- ``LEFT_QUEUE`` — it left the queue: its way out (``domain.service_level``) in the
  interval it left; ``CALLBACK_COMPLETED`` — a returning callback an agent answered
  completes the callback, on its line's own queue, in that interval;
- ``HANDLED`` / ``AGENT_HANDLED`` — an agent talked with it: ``handled`` and the talk
  time, in the interval the talk ended (answer + talk seconds), for its queue and for
  the agent;
- ``WRAPPED_UP`` / ``AGENT_WRAPPED_UP`` — its wrap-up time once known, in that same
  interval, so the handle time of an interval is that of the calls it counts.

A callback asked for adds ``callbacks_requested`` to its line's queue when asked. An
agent's spell in a state adds its seconds to every interval it covers, once it has
ended, and a missed offer (``domain.agent_figures``) in the interval it began.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from domain import agent_figures, service_level
from domain.intervals import interval_of, slices, utc
from domain.service_level import ANSWERED, QUEUE_RESULTS, FigureRules

OFFERED, LEFT_QUEUE, CALLBACK_COMPLETED = 1, 2, 4
HANDLED, WRAPPED_UP, AGENT_HANDLED, AGENT_WRAPPED_UP = 8, 16, 32, 64
EVERY_MARK = 127
QUEUE, AGENT = "queue", "agent"
CALLBACK_CALL = "callback"


class CallFacts(Protocol):
    """What a call record knows (``storage.models.CallRecord``, or a row of it)."""

    kind: str
    queue: str | None
    line: str | None
    agent: str | None
    enqueued_at: datetime | None
    left_queue_at: datetime | None
    queue_result: str | None
    wait_seconds: float | None
    answered_at: datetime | None
    talk_seconds: int | None
    wrap_up_seconds: int | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Contribution:
    mark: int  # the call's mark it is made under; 0 for callbacks and spells
    table: str  # QUEUE or AGENT
    key: str  # the queue's name, or the agent's username
    interval: datetime  # its start, UTC
    figures: dict[str, float]

    @property
    def row(self) -> tuple[str, str, datetime]:
        return self.table, self.key, self.interval


def of_call(
    call: CallFacts,
    rules: FigureRules,
    tz: ZoneInfo,
    calls_queue: Callable[[str], str | None],
    counted: int = 0,
) -> list[Contribution]:
    """The contributions of ``call`` that its facts make due, but for those ``counted``.

    ``counted`` is the call's marks (what was added already); ``calls_queue`` names a
    line's own queue (where its callbacks are counted).
    """
    out = []
    queue = call.queue
    if not counted & OFFERED and queue and call.enqueued_at is not None:
        out.append(
            Contribution(OFFERED, QUEUE, queue, interval_of(call.enqueued_at, tz), {"offered": 1})
        )
    left_at, result = call.left_queue_at, call.queue_result
    if not counted & LEFT_QUEUE and queue and left_at is not None and result in QUEUE_RESULTS:
        figures = service_level.exit_figures(result, call.wait_seconds, rules)
        out.append(Contribution(LEFT_QUEUE, QUEUE, queue, interval_of(left_at, tz), figures))
    if (
        not counted & CALLBACK_COMPLETED
        and call.kind == CALLBACK_CALL
        and result == ANSWERED
        and left_at is not None
        and call.line
    ):
        home = calls_queue(call.line)
        if home:
            left = interval_of(left_at, tz)
            out.append(
                Contribution(CALLBACK_COMPLETED, QUEUE, home, left, {"callbacks_completed": 1})
            )
    talk = talk_of(call)
    if call.answered_at is None or talk is None:
        return out
    wrap = max(0, call.wrap_up_seconds) if call.wrap_up_seconds is not None else None
    ended = None
    for mark, wrap_mark, table, key, talked, wrapped in (
        (HANDLED, WRAPPED_UP, QUEUE, queue, "handle_total_seconds", "handle_total_seconds"),
        (AGENT_HANDLED, AGENT_WRAPPED_UP, AGENT, call.agent, "talk_seconds", "wrap_up_seconds"),
    ):
        if not key:
            continue
        handled = not counted & mark
        wrapping = wrap is not None and not counted & wrap_mark
        if (handled or wrapping) and ended is None:
            ended = interval_of(utc(call.answered_at) + timedelta(seconds=talk), tz)
        if handled:
            out.append(Contribution(mark, table, key, ended, {"handled": 1, talked: talk}))
        if wrapping:
            out.append(Contribution(wrap_mark, table, key, ended, {wrapped: wrap}))
    return out


def talk_of(call: CallFacts) -> int | None:
    """Seconds the caller talked with an agent: as noted, else from the answer to the end.

    Twilio's DialCallDuration is noted when the agent's leg reports it; a call answered
    and over without it talked until it ended.
    """
    if call.talk_seconds is not None:
        return max(0, call.talk_seconds)
    if call.answered_at is None or call.ended_at is None:
        return None
    return max(0, round((utc(call.ended_at) - utc(call.answered_at)).total_seconds()))


def marks_of(contributions: Iterable[Contribution]) -> int:
    out = 0
    for contribution in contributions:
        out |= contribution.mark
    return out


def of_callback_request(
    line: str, requested_at: datetime, tz: ZoneInfo, calls_queue: Callable[[str], str | None]
) -> Contribution | None:
    """A callback asked for on ``line``: counted on the line's own queue."""
    queue = calls_queue(line)
    if queue is None:
        return None
    return Contribution(0, QUEUE, queue, interval_of(requested_at, tz), {"callbacks_requested": 1})


def of_spell(
    username: str,
    state: str,
    reason: str | None,
    started_at: datetime,
    ended_at: datetime,
    tz: ZoneInfo,
    within: tuple[datetime, datetime] | None = None,
) -> list[Contribution]:
    """A spell of an agent in ``state`` from ``started_at`` to ``ended_at``.

    ``within``: only the part of it inside [start, end) (a rebuild, or today so far).
    """
    start, end = utc(started_at), utc(ended_at)
    out = []
    if agent_figures.missed_offer(state, reason) and (
        within is None or within[0] <= start < within[1]
    ):
        out.append(Contribution(0, AGENT, username, interval_of(start, tz), {"missed_offers": 1}))
    figure = agent_figures.STATE_FIGURE.get(state)
    if figure is None:
        return out
    if within is not None:
        start, end = max(start, within[0]), min(end, within[1])
    for interval, seconds in slices(start, end, tz):
        out.append(Contribution(0, AGENT, username, interval, {figure: seconds}))
    return out


def add_up(contributions: Iterable[Contribution]) -> dict[tuple[str, str, datetime], dict]:
    """Contributions summed per row (table, key, interval)."""
    rows: dict[tuple[str, str, datetime], dict] = {}
    for contribution in contributions:
        row = contribution.row
        rows[row] = service_level.add(rows.get(row, {}), contribution.figures)
    return rows
