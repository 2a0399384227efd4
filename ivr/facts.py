"""The engine's ``Facts`` port over SQL, Redis and the app's clock (one per webhook).

Under gevent each SQL round trip lets every other runnable call of the worker go
first, so a webhook's latency grows with its number of queries: the household is
read in two queries however many people it insures, and nothing is read twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import current_app
from redis import Redis
from sqlalchemy.orm import Session

from adapters import twilio_rest
from domain.eligibility import Eligibility, assess
from flows import Flows
from ivr.ports import Failures, Holder, InsuredPerson
from live import lockout
from runtime.clock import Clock
from storage import repository
from storage.exceptions import UnknownPerson


class SqlFacts:
    def __init__(self, session: Session, redis: Redis, flows: Flows, clock: Clock):
        self.session = session
        self.redis = redis
        self.flows = flows
        self.clock = clock
        self._now = clock.now()
        # Insured people already read in this webhook (the household, or one asked for).
        self._insured: dict[str, repository.Insured | None] = {}

    def now(self) -> datetime:
        return self._now.replace(tzinfo=None)

    def policyholders(self, suffix: str) -> Sequence[Holder]:
        return [
            Holder(id=person_id, name=name, phone=phone)
            for person_id, name, phone in repository.policyholders_by_suffix(self.session, suffix)
        ]

    def insured_people(self, policyholder_id: str) -> Sequence[InsuredPerson]:
        people = repository.household(self.session, policyholder_id)
        # The engine weighs each of them next (SPEC §4 step 3): they are read already.
        self._insured.update((person.id, person) for person in people)
        return [InsuredPerson(id=person.id, name=person.name) for person in people]

    def eligibility(self, insured_id: str) -> Eligibility:
        programme, today = self.flows.programme, self._now.date()
        if insured_id not in self._insured:
            try:
                self._insured[insured_id] = repository.insured(self.session, insured_id)
            except UnknownPerson:
                self._insured[insured_id] = None
        insured = self._insured[insured_id]
        if insured is None:
            return assess(programme, (), (), today)
        return insured.eligibility(programme, today)

    def failures(self, caller_key: str, policyholder_ids: Sequence[str]) -> Failures:
        window = self.flows.call_flow.limits.failure_window_seconds
        return lockout.failures(
            self.redis, caller_key, policyholder_ids, self._now.timestamp(), window
        )

    def sms_available(self, dialled: str | None) -> bool:
        # The settings the send job checks first: without them it logs and sends nothing.
        return not twilio_rest.missing_for_sms(current_app, dialled)
