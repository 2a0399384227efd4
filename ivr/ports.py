"""What the engine asks the world, as a protocol the edge implements (SQL, Redis, clock).

Reads only: the engine returns writes as effects (``ivr.replies``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.catalogue import Tier
from domain.eligibility import Eligibility

__all__ = ["Candidates", "Facts", "Failures", "Holder", "InsuredPerson"]


@dataclass(frozen=True, slots=True)
class Holder:
    """A policyholder whose number on file ends in the digits keyed in."""

    id: str
    name: str
    phone: str  # the matching number on file, E.164


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed authentication tries inside the window."""

    by_number: int = 0
    by_policyholder: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidates:
    """Who a caller keying in digits may be, and the failed tries that may lock them out."""

    holders: Sequence[Holder]
    failures: Failures


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    id: str
    name: str


class Facts(Protocol):
    def now(self) -> datetime:
        """Naive local wall-clock time in the hotline's zone."""

    def candidates(self, suffix: str | None, caller_key: str) -> Candidates:
        """Policyholders with a number on file ending in ``suffix``, each once (none
        without a suffix), and the recent failed tries against them and from this number."""

    def insured_people(self, policyholder_id: str) -> Sequence[InsuredPerson]:
        """The people insured under the policyholder's policies, each once."""

    def eligibility(self, insured_id: str) -> Eligibility:
        """What the insured person is entitled to today."""

    def tier(self, insured_id: str) -> Tier | None:
        """The tier the insured person is entitled to today: their eligibility's ``tier``."""

    def sms_available(self, dialled: str | None) -> bool:
        """Whether an SMS link can be queued for sending (from ``dialled``, the number called).

        The caller is told the link will be sent only when it will (SPEC §8).
        """
