"""The engine's ``Facts`` port over SQL, Redis and the app's clock (one per webhook)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from redis import Redis
from sqlalchemy.orm import Session

from domain.eligibility import Eligibility, assess
from flows import Flows
from hotline import repository
from hotline.clock import Clock
from hotline.exceptions import UnknownPerson
from ivr import lockout
from ivr.ports import Failures, Holder, InsuredPerson


class SqlFacts:
    def __init__(self, session: Session, redis: Redis, flows: Flows, clock: Clock):
        self.session = session
        self.redis = redis
        self.flows = flows
        self.clock = clock
        self._now = clock.now()

    def now(self) -> datetime:
        return self._now.replace(tzinfo=None)

    def policyholders(self, suffix: str) -> Sequence[Holder]:
        return [
            Holder(id=person_id, name=name, phone=phone)
            for person_id, name, phone in repository.policyholders_by_suffix(self.session, suffix)
        ]

    def insured_people(self, policyholder_id: str) -> Sequence[InsuredPerson]:
        return [
            InsuredPerson(id=person_id, name=name)
            for person_id, name in repository.insured_by(self.session, policyholder_id)
        ]

    def eligibility(self, insured_id: str) -> Eligibility:
        programme, today = self.flows.programme, self._now.date()
        try:
            return repository.eligibility(self.session, programme, insured_id, today)
        except UnknownPerson:
            return assess(programme, (), (), today)

    def failures(self, caller_key: str, policyholder_ids: Sequence[str]) -> Failures:
        window = self.flows.call_flow.limits.failure_window_seconds
        return lockout.failures(
            self.redis, caller_key, policyholder_ids, self._now.timestamp(), window
        )
