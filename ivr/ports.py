"""What the engine asks the world, as a protocol the edge implements (SQL, Redis, clock).

Reads only: the engine returns writes as effects (``ivr.replies``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.eligibility import Eligibility
from live.lockout import Failures

__all__ = ["Facts", "Failures", "Holder", "InsuredPerson"]


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

    def sms_available(self, dialled: str | None) -> bool:
        """Whether an SMS link can be queued for sending (from ``dialled``, the number called).

        The caller is told the link will be sent only when it will (SPEC §8).
        """
