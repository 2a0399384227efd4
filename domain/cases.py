"""A service request's life: its milestones, and which of them may follow which.

A case is opened when an agent takes a request; the service's 服务流程 then
runs through milestones (contact, complete materials, feedback, booking, ...)
that anchor or fulfil its deadlines (``domain.sla``), and a closing one
(completed, cancelled, no-show). Counting the use is ``domain.usage``'s job;
this module only keeps the sequence sensible.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from domain.exceptions import UsageRefused
from domain.usage import Step


class Milestone(StrEnum):
    REQUESTED = "requested"  # the case is opened
    CONTACTED = "contacted"  # 联系客户确认具体需求 / 响应
    MATERIALS_COMPLETE = "materials_complete"  # 提交完整医学资料
    FEEDBACK_GIVEN = "feedback_given"  # 反馈安排结果
    CONFIRMED = "confirmed"  # 确认客户需求 (nursing carer, transport)
    BOOKED = "booked"  # 预约成功 / 安排完成, with the visit date where there is one
    RESCHEDULED = "rescheduled"  # 改期, by the customer or the hospital
    CONSULTATION_HELD = "consultation_held"  # 会诊 (second opinion, MDT)
    REPORT_ISSUED = "report_issued"  # 出具会诊报告
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"  # 未应约


class CaseStatus(StrEnum):
    OPEN = "open"
    BOOKED = "booked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# Deadline anchors (flows/services.toml ``anchor``) and the milestone that sets each.
ANCHORS: dict[str, Milestone] = {
    "request": Milestone.REQUESTED,
    "materials_complete": Milestone.MATERIALS_COMPLETE,
    "confirmed": Milestone.CONFIRMED,
    "consultation": Milestone.CONSULTATION_HELD,
}

CLOSING = frozenset({Milestone.COMPLETED, Milestone.CANCELLED, Milestone.NO_SHOW})
# Everything but a reschedule happens once; recording it again changes nothing.
REPEATABLE = frozenset({Milestone.RESCHEDULED})

# The milestones that matter for counting the use, as ``domain.usage`` steps.
USAGE_STEPS: dict[Milestone, Step] = {
    Milestone.REQUESTED: Step.REQUESTED,
    Milestone.BOOKED: Step.BOOKED,
    Milestone.RESCHEDULED: Step.RESCHEDULED,
    Milestone.CANCELLED: Step.CANCELLED,
    Milestone.NO_SHOW: Step.NO_SHOW,
    Milestone.COMPLETED: Step.COMPLETED,
}

# What must have happened before a milestone makes sense.
PREREQUISITES: dict[Milestone, Milestone] = {
    Milestone.REPORT_ISSUED: Milestone.CONSULTATION_HELD,
    Milestone.RESCHEDULED: Milestone.BOOKED,
    Milestone.NO_SHOW: Milestone.BOOKED,
    Milestone.COMPLETED: Milestone.BOOKED,
}


def status_of(milestones: Iterable[Milestone]) -> CaseStatus:
    status = CaseStatus.OPEN
    for milestone in milestones:
        if milestone is Milestone.BOOKED:
            status = CaseStatus.BOOKED
        elif milestone in CLOSING:
            status = CaseStatus(milestone.value)
    return status


def is_new(done: Iterable[Milestone], milestone: Milestone) -> bool:
    """Whether ``milestone`` may be recorded after ``done``: False when it already was.

    Raises ``UsageRefused`` for a step that cannot follow: anything after the case
    closed, or a step whose prerequisite has not happened.
    """
    done = list(done)
    closing = next((m for m in done if m in CLOSING), None)
    if closing is not None:
        if milestone is closing:
            return False
        raise UsageRefused("case_closed", f"the case is {closing}; it cannot be {milestone}")
    if milestone in done and milestone not in REPEATABLE:
        return False
    needed = PREREQUISITES.get(milestone)
    if needed is not None and needed not in done:
        raise UsageRefused(f"not_{needed}", f"{milestone} needs the case to be {needed} first")
    return True
