"""An agent's state through a shift (SPEC §6), as a pure state machine.

States: ``offline`` · ``available`` · ``break`` (with a reason, e.g. ``missed``) ·
``offered`` (a call is reserved for the agent and ringing) · ``on_call`` · ``wrap_up``.
Agents choose ``available``, ``break`` and ``offline``; calls move them through
``offered``, ``on_call`` and ``wrap_up``. A choice made while a call holds the agent is
kept as ``next``, the state they take once the call and its wrap-up are over.

Each rule below takes the state now and returns the state after, or raises
``Refused`` (with a ``code`` the edges branch on). A rule that finds the change
already made returns the state unchanged (webhooks are retried), so callers can
tell a change from a repeat by comparing the two.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.exceptions import DomainError


class Status(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    BREAK = "break"
    OFFERED = "offered"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


# What an agent may choose; the others are the calls' to set.
CHOOSABLE = frozenset({Status.AVAILABLE, Status.BREAK, Status.OFFLINE})
# A call holds the agent: a choice now is kept for when it is over.
HELD = frozenset({Status.OFFERED, Status.ON_CALL, Status.WRAP_UP})
MISSED = "missed"
# Why an agent went offline without choosing it.
DESK_GONE = "desk_gone"
SIGNED_OUT = "signed_out"


class Refused(DomainError):
    """A change the rules do not allow now; ``code`` names the rule."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AgentState:
    status: Status = Status.OFFLINE
    # When the status began (aware); None for an agent never seen.
    since: datetime | None = None
    reason: str | None = None
    # The status (and reason) asked for while a call held the agent.
    next: Status | None = None
    next_reason: str | None = None
    # The caller's call while offered, on the call or wrapping it up.
    call_sid: str | None = None
    # The agent's own call leg when known (a pulled call's, the browser phone's).
    leg: str | None = None
    # When the wrap-up ends, and whether it was extended (once only).
    wrap_up_until: datetime | None = None
    extended: bool = False
    # The queues the agent serves, in order (copied from their account when they choose).
    queues: tuple[str, ...] = ()

    def holds(self, call_sid: str | None, leg: str | None = None) -> bool:
        """Whether this state is about ``call_sid`` (or the agent's leg ``leg``)."""
        return (call_sid is not None and call_sid == self.call_sid) or (
            leg is not None and leg == self.leg
        )


def _to(state: AgentState, status: Status, now: datetime, reason: str | None = None, **kept):
    """A new status from ``now``: what belonged to the call before is dropped."""
    return AgentState(status=status, since=now, reason=reason, queues=state.queues, **kept)


def _after_call(state: AgentState, now: datetime) -> AgentState:
    """The call and its wrap-up are over: the state asked for meanwhile, else available."""
    status = state.next or Status.AVAILABLE
    reason = state.next_reason if status is Status.BREAK else None
    return _to(state, status, now, reason)


# -- what agents choose ------------------------------------------------------------------


def choose(
    state: AgentState,
    wanted: Status | str,
    now: datetime,
    reason: str | None = None,
    queues: tuple[str, ...] | None = None,
) -> AgentState:
    """The agent asks for ``wanted``: taken now, or kept as ``next`` while a call holds them."""
    try:
        wanted = Status(wanted)
    except ValueError:
        raise Refused("invalid_status", f"no status {wanted!r}") from None
    if wanted not in CHOOSABLE:
        raise Refused("not_choosable", f"{wanted} is set by calls, not chosen")
    reason = (reason or None) if wanted is Status.BREAK else None
    if queues is not None:
        state = replace(state, queues=tuple(queues))
    if state.status in HELD:
        return replace(state, next=wanted, next_reason=reason)
    if state.status is wanted and state.reason == reason and state.since is not None:
        return state
    return _to(state, wanted, now, reason)


def sign_out(state: AgentState, now: datetime) -> AgentState:
    """Signed out: offline now, or once the call holding them is over."""
    if state.status in HELD:
        return replace(state, next=Status.OFFLINE, next_reason=None)
    if state.status is Status.OFFLINE and state.since is not None:
        return state
    return _to(state, Status.OFFLINE, now, SIGNED_OUT)


def desk_gone(state: AgentState, now: datetime) -> AgentState:
    """The desk's event stream has been gone too long: an available agent is offline."""
    if state.status is not Status.AVAILABLE:
        raise Refused("not_available", "only an available agent is set offline for it")
    return _to(state, Status.OFFLINE, now, DESK_GONE)


# -- what calls do -------------------------------------------------------------------------


def offer(
    state: AgentState, call_sid: str | None, now: datetime, leg: str | None = None
) -> AgentState:
    """A call is reserved for the agent (or the agent pulls one on their leg ``leg``)."""
    if state.status is not Status.AVAILABLE:
        raise Refused("not_available", f"the agent is {state.status}, not available")
    return _to(state, Status.OFFERED, now, call_sid=call_sid, leg=leg)


def answer(state: AgentState, call_sid: str, now: datetime, leg: str | None = None) -> AgentState:
    """The agent answered ``call_sid`` (on their leg ``leg``, if known).

    From ``offered`` for this call, or for a call pulled on ``leg``; from
    ``available`` too, when the offer had expired here but the call reached them
    all the same (their phone is connected to the caller: the state follows).
    """
    if state.status is Status.ON_CALL and state.holds(call_sid, leg):
        return state
    if state.status is Status.OFFERED and (
        state.call_sid in (None, call_sid) or (leg and state.leg == leg)
    ):
        return _to(
            state,
            Status.ON_CALL,
            now,
            call_sid=call_sid,
            leg=leg or state.leg,
            next=state.next,
            next_reason=state.next_reason,
        )
    if state.status is Status.AVAILABLE:
        return _to(state, Status.ON_CALL, now, call_sid=call_sid, leg=leg)
    raise Refused("not_offered", f"the agent is {state.status}, not offered this call")


def hang_up(
    state: AgentState,
    call_sid: str | None,
    now: datetime,
    wrap_up_seconds: int,
    leg: str | None = None,
) -> AgentState:
    """The call ended after the agent talked with the caller: wrap-up begins."""
    if state.status is Status.WRAP_UP and state.holds(call_sid, leg):
        return state
    if state.status in (Status.ON_CALL, Status.OFFERED) and state.holds(call_sid, leg):
        return _to(
            state,
            Status.WRAP_UP,
            now,
            call_sid=state.call_sid,
            leg=state.leg,
            next=state.next,
            next_reason=state.next_reason,
            wrap_up_until=now + timedelta(seconds=wrap_up_seconds),
        )
    raise Refused("not_on_this_call", f"the agent is {state.status}, not on this call")


def miss(state: AgentState, call_sid: str, now: datetime) -> AgentState:
    """The offer rang out, was rejected or failed: a break (``missed``) the agent ends.

    An agent who asked to go offline meanwhile goes offline instead.
    """
    if state.status is Status.BREAK and state.reason == MISSED:
        return state
    if state.status is not Status.OFFERED or not state.holds(call_sid):
        raise Refused("not_offered", f"the agent is {state.status}, not offered this call")
    if state.next is Status.OFFLINE:
        return _to(state, Status.OFFLINE, now)
    return _to(state, Status.BREAK, now, MISSED)


def withdraw(
    state: AgentState, call_sid: str | None, now: datetime, leg: str | None = None
) -> AgentState:
    """The offer is called off through no fault of the agent's (the caller left, it expired)."""
    if state.status is not Status.OFFERED or not state.holds(call_sid, leg):
        raise Refused("not_offered", f"the agent is {state.status}, not offered this call")
    return _after_call(state, now)


def end_wrap_up(state: AgentState, now: datetime) -> AgentState:
    """The agent is done with the call early ("ready now")."""
    if state.status is not Status.WRAP_UP:
        raise Refused("not_wrapping_up", f"the agent is {state.status}, not wrapping up")
    return _after_call(state, now)


def wrap_up_over(state: AgentState, now: datetime) -> AgentState:
    """The wrap-up's time is up."""
    if state.status is not Status.WRAP_UP:
        raise Refused("not_wrapping_up", f"the agent is {state.status}, not wrapping up")
    if state.wrap_up_until is not None and now < state.wrap_up_until:
        raise Refused("not_due", "the wrap-up goes on")
    return _after_call(state, now)


def extend_wrap_up(state: AgentState, now: datetime, seconds: int) -> AgentState:
    """More time to wrap up, once per call."""
    if state.status is not Status.WRAP_UP:
        raise Refused("not_wrapping_up", f"the agent is {state.status}, not wrapping up")
    if state.extended:
        raise Refused("already_extended", "the wrap-up was extended once already")
    until = max(state.wrap_up_until or now, now) + timedelta(seconds=seconds)
    return replace(state, wrap_up_until=until, extended=True)
