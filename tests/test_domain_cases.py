"""A case's milestones: which may follow which, and the status they leave it in."""

from __future__ import annotations

import pytest

from domain.cases import CaseStatus, Milestone, is_new, status_of
from domain.exceptions import UsageRefused

M = Milestone


def test_a_new_case_is_open_and_a_booking_makes_it_booked():
    assert status_of([M.REQUESTED]) is CaseStatus.OPEN
    assert status_of([M.REQUESTED, M.CONTACTED, M.BOOKED]) is CaseStatus.BOOKED
    assert status_of([M.REQUESTED, M.BOOKED, M.RESCHEDULED]) is CaseStatus.BOOKED


@pytest.mark.parametrize("closing", [M.COMPLETED, M.CANCELLED, M.NO_SHOW])
def test_a_closing_milestone_gives_the_case_its_final_status(closing):
    assert status_of([M.REQUESTED, M.BOOKED, closing]) is CaseStatus(closing.value)


def test_recording_a_milestone_twice_changes_nothing():
    assert is_new([M.REQUESTED], M.CONTACTED)
    assert not is_new([M.REQUESTED, M.CONTACTED], M.CONTACTED)
    assert not is_new([M.REQUESTED, M.BOOKED, M.COMPLETED], M.COMPLETED)


def test_a_booking_may_be_rescheduled_more_than_once_as_far_as_the_case_goes():
    # How many the customer may ask for is domain.usage's rule; the hospital may postpone again.
    assert is_new([M.REQUESTED, M.BOOKED, M.RESCHEDULED], M.RESCHEDULED)


@pytest.mark.parametrize("later", [M.CONTACTED, M.BOOKED, M.RESCHEDULED, M.NO_SHOW])
def test_nothing_but_the_same_closing_step_follows_a_closed_case(later):
    with pytest.raises(UsageRefused) as caught:
        is_new([M.REQUESTED, M.CANCELLED], later)
    assert caught.value.code == "case_closed"


@pytest.mark.parametrize(
    ("milestone", "needs"),
    [
        (M.REPORT_ISSUED, "not_consultation_held"),
        (M.RESCHEDULED, "not_booked"),
        (M.NO_SHOW, "not_booked"),
        (M.COMPLETED, "not_booked"),
    ],
)
def test_a_milestone_needs_what_comes_before_it(milestone, needs):
    with pytest.raises(UsageRefused) as caught:
        is_new([M.REQUESTED, M.CONTACTED], milestone)
    assert caught.value.code == needs
