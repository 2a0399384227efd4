"""When a booked service counts as a use (SPEC §2 "When a use counts", manual 注意事项).

A case's quota is *held* from the moment the request is taken, so the same
insured person cannot open a second request against a quota of one; the hold
then becomes a *counted* use or is *released*, following the service's
``UsageRule`` (``flows/services.toml``):

- ``counted_when_booked`` (fast-track, second opinion, MDT, follow-up, planner):
  booked is used; the customer cannot undo it by cancelling.
- ``cancel_notice_working_days`` N: a customer cancellation with at least N
  working days' notice before the visit releases the hold; less notice, a
  late reschedule, or a no-show counts.
- ``reschedules_allowed``: customer reschedules a booking allows; one beyond it
  is refused (the customer can still cancel, in time or not, and ask again).
- A cancellation or a postponement caused by the hospital or the doctor never
  counts, whatever the rule; it cannot undo a use the customer already caused.

Everything is a pure function of the rule, the case's history and the
working-day calendar; ``decide`` replays the history, so the outcome never
depends on which process recorded which step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from domain.catalogue import UsageRule
from domain.exceptions import UsageRefused
from domain.workdays import WorkingDays


class Party(StrEnum):
    """Whose doing a cancellation or a new date is."""

    CUSTOMER = "customer"
    # The hospital or doctor (医院方或医生方), or anything else outside the customer's control.
    HOSPITAL = "hospital"


class Step(StrEnum):
    REQUESTED = "requested"
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One step in a case's life, as far as counting is concerned."""

    step: Step
    on: date
    # BOOKED / RESCHEDULED: the (new) visit date, when the service has one.
    visit: date | None = None
    # CANCELLED / RESCHEDULED: whose doing it was.
    by: Party = Party.CUSTOMER


class Outcome(StrEnum):
    HELD = "held"  # drawn from the quota while the case is open; not final
    COUNTED = "counted"
    RELEASED = "released"


class Reason(StrEnum):
    REQUESTED = "requested"
    BOOKED = "booked"
    BOOKED_IS_USED = "booked_is_used"
    CANCELLED_IN_TIME = "cancelled_in_time"
    CANCELLED_LATE = "cancelled_late"
    RESCHEDULED_LATE = "rescheduled_late"
    NO_SHOW = "no_show"
    COMPLETED = "completed"
    CANCELLED_BY_HOSPITAL = "cancelled_by_hospital"


@dataclass(frozen=True, slots=True)
class UsageDecision:
    outcome: Outcome
    reason: Reason
    # Units drawn from the quota: the booking's units while held or counted, 0 once released.
    units: int
    # The day the use became counted; None while held or after a release.
    counted_on: date | None
    # The visit the case is booked for now (after any reschedules).
    visit: date | None
    reschedules_left: int
    # True once nothing can change the outcome (the case is closed, or the customer caused it).
    final: bool

    @property
    def counted(self) -> bool:
        return self.outcome is Outcome.COUNTED


def units_for_booking(rule: UsageRule, remaining: int | None) -> int:
    """Units one booking draws from a quota with ``remaining`` units left (None: unlimited).

    ``units_per_booking`` None (nursing_carer: days are not split) takes all that is
    left. A fixed size larger than what is left takes what is left: the insured gets
    the follow-ups still owed to them this year rather than none.
    """
    if rule.units_per_booking is None:
        return 1 if remaining is None else remaining
    if remaining is None:
        return rule.units_per_booking
    return min(rule.units_per_booking, remaining)


def notice_given(calendar: WorkingDays, on: date, visit: date | None) -> int | None:
    """Working days of notice a change made on ``on`` gives before ``visit`` (None: no visit)."""
    return None if visit is None else calendar.count_before(on, visit)


def decide(
    rule: UsageRule,
    history: Iterable[UsageEvent],
    calendar: WorkingDays,
    units: int,
) -> UsageDecision:
    """Replay ``history`` (oldest first) and say whether and how much the case counts.

    Raises ``UsageRefused`` for a history the rules do not allow (a reschedule
    beyond the allowance, a step after the case closed, ...), naming the step.
    """
    state: UsageDecision | None = None
    last_day: date | None = None
    closed = False
    booked = False
    for event in history:
        if state is None:
            if event.step is not Step.REQUESTED:
                raise UsageRefused("not_requested", "a case starts with its request")
            state = UsageDecision(
                outcome=Outcome.HELD,
                reason=Reason.REQUESTED,
                units=units,
                counted_on=None,
                visit=event.visit,
                reschedules_left=rule.reschedules_allowed,
                final=False,
            )
            last_day = event.on
            continue
        if last_day is not None and event.on < last_day:
            raise UsageRefused(
                "out_of_order",
                f"{event.step} on {event.on} is earlier than the case's last step ({last_day})",
            )
        if closed:
            raise UsageRefused(
                "case_closed", f"the case is closed ({state.reason}); no {event.step}"
            )
        state, closed, booked = _apply(rule, calendar, state, event, booked)
        last_day = event.on
    if state is None:
        raise UsageRefused("not_requested", "a case starts with its request")
    return state


def _apply(
    rule: UsageRule,
    calendar: WorkingDays,
    state: UsageDecision,
    event: UsageEvent,
    booked: bool,
) -> tuple[UsageDecision, bool, bool]:
    """The decision after ``event``, whether the case is now closed, and whether it is booked."""
    step = event.step
    if step is Step.REQUESTED:
        raise UsageRefused("already_requested", "the case was requested already")

    if step is Step.BOOKED:
        if booked:
            raise UsageRefused("already_booked", "the case is booked already; record a reschedule")
        if rule.counted_when_booked:
            # 预约成功即视为服务完成: final only against the customer; a hospital may still cancel.
            state = replace(
                state,
                outcome=Outcome.COUNTED,
                reason=Reason.BOOKED_IS_USED,
                counted_on=event.on,
                visit=event.visit,
            )
        else:
            state = replace(state, reason=Reason.BOOKED, visit=event.visit)
        return state, False, True

    if step is Step.RESCHEDULED:
        if not booked:
            raise UsageRefused("not_booked", "only a booked case can be rescheduled")
        if event.visit is None:
            raise UsageRefused("no_visit_date", "a reschedule needs the new visit date")
        if event.by is Party.HOSPITAL:
            # 由于医院方或非可控原因导致临时取消或延期服务的，将为客户协调其他时间就医。
            return replace(state, visit=event.visit), False, True
        if state.reschedules_left <= 0:
            raise UsageRefused(
                "reschedule_not_allowed",
                (
                    "no reschedule is allowed for this service"
                    if rule.reschedules_allowed == 0
                    else f"only {rule.reschedules_allowed} reschedule(s) allowed and used"
                )
                + "; record a cancellation instead",
            )
        late = _late(rule, calendar, event.on, state.visit)
        state = replace(state, visit=event.visit, reschedules_left=state.reschedules_left - 1)
        if late and not state.counted:
            # 未提前 N 个工作日取消或改期的，视为服务使用一次; the new date is still served.
            state = replace(
                state,
                outcome=Outcome.COUNTED,
                reason=Reason.RESCHEDULED_LATE,
                counted_on=event.on,
                final=True,
            )
        return state, False, True

    if step is Step.CANCELLED:
        if event.by is Party.HOSPITAL:
            if state.final:
                return state, True, booked  # the customer had already caused the use
            return (
                replace(
                    state,
                    outcome=Outcome.RELEASED,
                    reason=Reason.CANCELLED_BY_HOSPITAL,
                    units=0,
                    counted_on=None,
                    final=True,
                ),
                True,
                booked,
            )
        if state.counted:
            # Booked is used (no cancellation), or the customer already caused the use.
            return replace(state, final=True), True, booked
        if booked and _late(rule, calendar, event.on, state.visit):
            return (
                replace(
                    state,
                    outcome=Outcome.COUNTED,
                    reason=Reason.CANCELLED_LATE,
                    counted_on=event.on,
                    final=True,
                ),
                True,
                booked,
            )
        return (
            replace(
                state,
                outcome=Outcome.RELEASED,
                reason=Reason.CANCELLED_IN_TIME,
                units=0,
                counted_on=None,
                final=True,
            ),
            True,
            booked,
        )

    if step is Step.NO_SHOW:
        if not booked or state.visit is None:
            raise UsageRefused("not_booked", "a no-show needs a booked visit date")
        if event.on < state.visit:
            raise UsageRefused(
                "visit_not_yet", f"the visit on {state.visit} has not happened on {event.on}"
            )
        if state.counted:
            return replace(state, final=True), True, booked
        return (
            replace(
                state,
                outcome=Outcome.COUNTED,
                reason=Reason.NO_SHOW,
                counted_on=state.visit,
                final=True,
            ),
            True,
            booked,
        )

    if step is Step.COMPLETED:
        if not booked:
            raise UsageRefused("not_booked", "only a booked case can be completed")
        if state.counted:
            return replace(state, final=True), True, booked
        return (
            replace(
                state,
                outcome=Outcome.COUNTED,
                reason=Reason.COMPLETED,
                counted_on=event.on,
                final=True,
            ),
            True,
            booked,
        )

    raise UsageRefused("unknown_step", f"unknown step {step!r}")  # pragma: no cover


def _late(rule: UsageRule, calendar: WorkingDays, on: date, visit: date | None) -> bool:
    """Whether a customer's change on ``on`` gives less notice than the rule asks for."""
    if rule.cancel_notice_working_days is None:
        return False
    notice = notice_given(calendar, on, visit)
    return notice is not None and notice < rule.cancel_notice_working_days
