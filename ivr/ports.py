"""What the engine asks the world, as a protocol the edge implements (SQL, Redis, clock).

Reads only: the engine returns writes as effects (``ivr.replies``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.eligibility import Eligibility


@dataclass(frozen=True, slots=True)
class Holder:
    """A policyholder whose number on file ends in the digits keyed in."""

    id: str
    name: str
    phone: str  # the matching number on file, E.164


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed authentication tries inside the window."""

    by_number: int = 0
    by_policyholder: Mapping[str, int] = field(default_factory=dict)


class Facts(Protocol):
    def now(self) -> datetime:
        """Naive local wall-clock time in the hotline's zone."""

    def policyholders(self, suffix: str) -> Sequence[Holder]:
        """Policyholders with a number on file ending in ``suffix``, each once."""

    def insured_people(self, policyholder_id: str) -> Sequence[InsuredPerson]:
        """The people insured under the policyholder's policies, each once."""

    def eligibility(self, insured_id: str) -> Eligibility:
        """What the insured person is entitled to today."""

    def failures(self, caller_key: str, policyholder_ids: Sequence[str]) -> Failures:
        """Recent failed tries from this number and against these policyholders."""
