"""Policies as the insurer's feed describes them, and their state on a date."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class PolicyStatus(StrEnum):
    IN_FORCE = "in_force"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    SURRENDERED = "surrendered"
    LAPSED = "lapsed"


@dataclass(frozen=True, slots=True)
class PolicyEvent:
    """A dated endorsement (保全) or status change; ``None`` fields keep their value."""

    on: date
    sum_insured: int | None = None
    status: PolicyStatus | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    policy_no: str
    product: str
    sum_insured: int
    cooling_off_end: date
    status: PolicyStatus
    # Same-day events apply in the order the feed listed them, so keep it.
    events: tuple[PolicyEvent, ...] = field(default=())

    def as_of(self, on: date) -> tuple[int, PolicyStatus]:
        """The sum insured and status in effect on ``on`` (events apply from their date)."""
        amount, status = self.sum_insured, self.status
        for event in sorted(self.events, key=_event_date):
            if event.on > on:
                break
            if event.sum_insured is not None:
                amount = event.sum_insured
            if event.status is not None:
                status = event.status
        return amount, status


def _event_date(event: PolicyEvent) -> date:
    return event.on


@dataclass(frozen=True, slots=True)
class Use:
    """Uses of a service recorded on a date, in the service's unit (days for nursing_carer)."""

    service: str
    on: date
    count: int = 1


def normalise_product(name: str) -> str:
    """Product names compare after NFKC, so （智选版） and (智选版) are one product.

    Feeds also wrap names in 《》 the way the manual prints them; that is not part
    of the name.
    """
    text = unicodedata.normalize("NFKC", name)
    text = "".join(text.split())
    return text.removeprefix("《").replace("》", "")
