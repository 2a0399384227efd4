"""The engine's ``Facts`` port over SQL and the app's clock (one per webhook).

Under gevent each SQL round trip lets every other runnable call of the worker go
first, so a webhook's latency grows with its number of queries: the policyholders a
suffix matches are read with their households and the failed tries that may lock
them out in one query, however many people they insure, and nothing is read twice —
not even in a later turn: the chosen insured person's policies and uses travel in
the call state (``carried``), so the turns after authentication make no query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from flask import current_app
from sqlalchemy.orm import Session

from adapters import twilio_rest
from domain.catalogue import Tier
from domain.eligibility import Eligibility, assess, entitled_tier
from domain.policies import Policy, PolicyEvent, PolicyStatus, Use
from flows import Flows
from ivr.ports import Candidates, Failures, Holder, InsuredPerson
from runtime.clock import Clock
from services import lockout
from storage import repository
from storage.exceptions import UnknownPerson


class SqlFacts:
    def __init__(self, session: Callable[[], Session], flows: Flows, clock: Clock):
        # Opened at the first query: four turns in five make none (what they weigh is
        # carried in the call state), and a session opened and closed costs ~12 µs.
        self._session = session
        self.flows = flows
        self.clock = clock
        self._now = clock.now()
        # Insured people already read in this webhook (the household, or one asked for).
        self._insured: dict[str, repository.Insured | None] = {}
        # The households of the policyholders the suffix matched, read with them.
        self._households: dict[str, list[repository.Insured]] = {}
        # The insured people carried in from the call state, as carried, and those of them
        # built into people once weighed (``uncarried``, ~17 µs: not for a turn that
        # weighs nobody).
        self._carried: dict[str, list] = {}
        self._built: dict[str, repository.Insured] = {}
        self._eligibility: dict[str, Eligibility] = {}

    @property
    def session(self) -> Session:
        return self._session()

    def now(self) -> datetime:
        return self._now.replace(tzinfo=None)

    def candidates(self, suffix: str | None, caller_key: str) -> Candidates:
        window = self.flows.call_flow.limits.failure_window_seconds
        found = repository.candidates(
            self.session,
            suffix,
            lockout.number_subject(caller_key),
            self._now.timestamp() - window,
        )
        # Whoever the caller turns out to be, their household is weighed next, this turn.
        self._households = {holder.id: holder.household for holder in found.holders}
        return Candidates(
            holders=[Holder(id=h.id, name=h.name, phone=h.phone) for h in found.holders],
            failures=Failures(
                by_number=found.number_failures,
                by_policyholder={h.id: h.failures for h in found.holders},
            ),
        )

    def insured_people(self, policyholder_id: str) -> Sequence[InsuredPerson]:
        people = self._households.get(policyholder_id)
        if people is None:
            people = repository.household(self.session, policyholder_id)
        # The engine weighs each of them next (SPEC §4 step 3): they are read already.
        self._insured.update((person.id, person) for person in people)
        for person in people:
            self._eligibility.pop(person.id, None)  # weighed again, on what was just read
        return [InsuredPerson(id=person.id, name=person.name) for person in people]

    def carry_in(self, carried_facts: dict[str, list] | None) -> None:
        """What an earlier turn read of insured people (``carry_out``): not read again."""
        for insured_id, facts in (carried_facts or {}).items():
            if insured_id not in self._insured:
                self._carried[insured_id] = facts

    def carry_out(self, insured_ids: Sequence[str]) -> dict[str, list] | None:
        """Those of ``insured_ids`` read in this turn or carried into it, their policies
        and uses, to keep in the call state (None: none of them)."""
        out = {}
        for insured_id in insured_ids:
            insured = self._insured.get(insured_id)
            facts = self._carried.get(insured_id)
            if facts is not None and (insured is None or self._built.get(insured_id) is insured):
                out[insured_id] = facts  # as it came in, not written out again
            elif insured is not None:
                out[insured_id] = carried(insured)
        return out or None

    def eligibility(self, insured_id: str) -> Eligibility:
        # Assessed once a webhook: a turn that queues the caller weighs the service with
        # it, then shows the agents the caller's tier (``effects``), 35–50 µs each time.
        found = self._eligibility.get(insured_id)
        if found is not None:
            return found
        programme, today = self.flows.programme, self._now.date()
        insured = self._person(insured_id)
        if insured is None:
            found = assess(programme, (), (), today)
        else:
            found = insured.eligibility(programme, today)
        self._eligibility[insured_id] = found
        return found

    def tier(self, insured_id: str) -> Tier | None:
        found = self._eligibility.get(insured_id)
        if found is not None:
            return found.tier
        insured = self._person(insured_id)
        policies = insured.policies if insured is not None else ()
        return entitled_tier(self.flows.programme, policies, self._now.date())

    def _person(self, insured_id: str) -> repository.Insured | None:
        """The insured person as read in this webhook, carried in, or read now (None:
        unknown)."""
        if insured_id in self._carried and insured_id not in self._insured:
            person = uncarried(insured_id, self._carried[insured_id])
            self._insured[insured_id] = self._built[insured_id] = person
        elif insured_id not in self._insured:
            try:
                self._insured[insured_id] = repository.insured(self.session, insured_id)
            except UnknownPerson:
                self._insured[insured_id] = None
        return self._insured[insured_id]

    def sms_available(self, dialled: str | None) -> bool:
        # The settings the send job checks first: without them it logs and sends nothing.
        return not twilio_rest.missing_for_sms(current_app, dialled)


def carried(insured: repository.Insured) -> list:
    """An insured person's policies and uses as JSON-able lists (no name)."""
    return [
        [
            [
                p.policy_no,
                p.product,
                p.sum_insured,
                p.cooling_off_end.isoformat(),
                p.status.value,
                [
                    [e.on.isoformat(), e.sum_insured, e.status.value if e.status else None]
                    for e in p.events
                ],
            ]
            for p in insured.policies
        ],
        [[u.service, u.on.isoformat(), u.count] for u in insured.uses],
    ]


def uncarried(insured_id: str, facts: list) -> repository.Insured:
    """The insured person ``carried`` wrote (their name is not carried: empty)."""
    policies, uses = facts
    return repository.Insured(
        id=insured_id,
        name="",
        policies=tuple(
            Policy(
                policy_no=no,
                product=product,
                sum_insured=amount,
                cooling_off_end=date.fromisoformat(cooling_off_end),
                status=PolicyStatus(status),
                events=tuple(
                    PolicyEvent(
                        on=date.fromisoformat(on),
                        sum_insured=event_amount,
                        status=PolicyStatus(event_status) if event_status else None,
                    )
                    for on, event_amount, event_status in events
                ),
            )
            for no, product, amount, cooling_off_end, status, events in policies
        ),
        uses=tuple(
            Use(service=service, on=date.fromisoformat(on), count=count)
            for service, on, count in uses
        ),
    )
