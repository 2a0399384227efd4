"""Policies as the insurer's feed describes them, and their state on a date."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from operator import attrgetter


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


_EVENT_DAY = attrgetter("on")


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
        # A stable sort: same-day events keep the feed's order.
        for event in sorted(self.events, key=_EVENT_DAY):
            if event.on > on:
                break
            if event.sum_insured is not None:
                amount = event.sum_insured
            if event.status is not None:
                status = event.status
        return amount, status


@dataclass(frozen=True, slots=True)
class Use:
    """Uses of a service recorded on a date, in the service's unit (days for nursing_carer)."""

    service: str
    on: date
    count: int = 1


# Book-title marks are how the manual prints a name (《…》（智选版）), not part of it.
_TITLE_MARKS = str.maketrans("", "", "《》")


@lru_cache(maxsize=1024)
def normalise_product(name: str) -> str:
    """Product names compare after NFKC, so （智选版） and (智选版) are one product.

    White space and 《》 are dropped wherever they stand, so normalising twice
    changes nothing. Cached: a feed repeats the same few names many times.
    """
    text = unicodedata.normalize("NFKC", name)
    return "".join(text.split()).translate(_TITLE_MARKS)
