"""People, policies and uses read back as domain objects.

This is the hot path of the eligibility API, the IVR and the screen-pop: one
insured person costs two queries (the person with their policies and events,
then their uses), whatever the number of policies; a policyholder's household
costs the same two (``household``). They are built once, with bound parameters,
and run as Core statements on the session's connection: the ORM would only add
per-request work (statement building, cache keys, result set-up) for rows that
are read as plain values anyway. Each is an index look-up: ``policies.insured_id``
(and ``policies.holder_id``), ``policy_events (policy_no, seq)``,
``service_uses.insured_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from domain.catalogue import Programme
from domain.eligibility import Eligibility, assess
from domain.policies import Policy, PolicyEvent, PolicyStatus, Use
from storage.exceptions import UnknownPerson
from storage.models import Person, Phone, ServiceUse
from storage.models import Policy as PolicyRow
from storage.models import PolicyEvent as EventRow


@dataclass(frozen=True, slots=True)
class Insured:
    id: str
    name: str
    policies: tuple[Policy, ...]
    uses: tuple[Use, ...]

    def eligibility(self, programme: Programme, on: date) -> Eligibility:
        return assess(programme, self.policies, self.uses, on)


_people = Person.__table__.c
_policies = PolicyRow.__table__.c
_events = EventRow.__table__.c
_uses = ServiceUse.__table__.c


def _policies_and_events(people):
    """Each person of ``people`` with every policy on their life and its events in feed order."""
    return (
        select(
            _people.id,
            _people.name,
            _policies.policy_no,
            _policies.product,
            _policies.sum_insured,
            _policies.cooling_off_end,
            _policies.status,
            _events.on_date.label("on"),
            _events.sum_insured.label("event_sum_insured"),
            _events.status.label("event_status"),
        )
        .select_from(Person.__table__)
        .outerjoin(PolicyRow.__table__, _policies.insured_id == _people.id)
        .outerjoin(EventRow.__table__, _events.policy_no == _policies.policy_no)
        .where(people)
        .order_by(_people.id, _policies.policy_no, _events.seq)
    )


def _uses_of(people):
    return select(_uses.insured_id, _uses.service, _uses.on_date.label("on"), _uses.count).where(
        people
    )


# The people insured under one policyholder's policies (each once, through the IN).
_HOUSEHOLD = select(_policies.insured_id).where(_policies.holder_id == bindparam("holder_id"))

_POLICIES_AND_EVENTS = _policies_and_events(_people.id == bindparam("insured_id"))
_USES = _uses_of(_uses.insured_id == bindparam("insured_id"))
_HOUSEHOLD_POLICIES_AND_EVENTS = _policies_and_events(_people.id.in_(_HOUSEHOLD))
_HOUSEHOLD_USES = _uses_of(_uses.insured_id.in_(_HOUSEHOLD))


def insured(session: Session, insured_id: str) -> Insured:
    """The insured person with every policy on their life and every recorded use."""
    connection = session.connection()
    key = {"insured_id": insured_id}
    rows = connection.execute(_POLICIES_AND_EVENTS, key).all()
    if not rows:
        raise UnknownPerson(insured_id)
    (person,) = _insureds(rows, connection.execute(_USES, key).all())
    return person


def household(session: Session, holder_id: str) -> list[Insured]:
    """Every person insured under ``holder_id``'s policies, each once and by id, as
    ``insured`` reads them (every policy on their life, whoever holds it; every use).

    Two queries for the whole household, where ``insured`` would take two per person:
    on the IVR's hot path each round trip to the database is a turn for every other
    call the worker holds (gevent), so the caller waits for all of them each time.
    """
    connection = session.connection()
    key = {"holder_id": holder_id}
    rows = connection.execute(_HOUSEHOLD_POLICIES_AND_EVENTS, key).all()
    if not rows:
        return []
    return _insureds(rows, connection.execute(_HOUSEHOLD_USES, key).all())


def _insureds(rows, use_rows) -> list[Insured]:
    """People as ``Insured`` from the rows of ``_policies_and_events`` (ordered by person,
    policy and event) and of ``_uses_of``."""
    uses: dict[str, list[Use]] = {}
    for u in use_rows:
        uses.setdefault(u.insured_id, []).append(Use(service=u.service, on=u.on, count=u.count))
    people: list[Insured] = []
    for person_id, person_rows in groupby(rows, key=lambda row: row.id):
        person_rows = list(person_rows)
        people.append(
            Insured(
                id=person_id,
                name=person_rows[0].name,
                policies=_policies_of(person_rows),
                uses=tuple(uses.get(person_id, ())),
            )
        )
    return people


def _policies_of(rows) -> tuple[Policy, ...]:
    policies: list[Policy] = []
    current = None
    events: list[PolicyEvent] = []
    for row in rows:
        if row.policy_no is None:
            continue  # a person with no policy on their life
        if current is None or row.policy_no != current.policy_no:
            if current is not None:
                policies.append(_policy(current, events))
            current, events = row, []
        if row.on is not None:
            events.append(
                PolicyEvent(
                    on=row.on,
                    sum_insured=row.event_sum_insured,
                    status=PolicyStatus(row.event_status) if row.event_status else None,
                )
            )
    if current is not None:
        policies.append(_policy(current, events))
    return tuple(policies)


def _policy(row, events: list[PolicyEvent]) -> Policy:
    return Policy(
        policy_no=row.policy_no,
        product=row.product,
        sum_insured=row.sum_insured,
        cooling_off_end=row.cooling_off_end,
        status=PolicyStatus(row.status),
        events=tuple(events),
    )


def eligibility(session: Session, programme: Programme, insured_id: str, on: date) -> Eligibility:
    """What ``insured_id`` is entitled to on ``on``; raises ``UnknownPerson``."""
    return insured(session, insured_id).eligibility(programme, on)


def policyholders_by_suffix(session: Session, suffix: str) -> list[tuple[str, str, str]]:
    """(id, name, number on file) of policyholders with a number ending in ``suffix``.

    One row per person (their first matching number); people who hold no policy
    are not policyholders and cannot authenticate as one.
    """
    rows = session.execute(
        select(Person.id, Person.name, Phone.e164)
        .join(Phone, Phone.person_id == Person.id)
        .where(Phone.suffix == suffix, exists().where(PolicyRow.holder_id == Person.id))
        .order_by(Person.id, Phone.id)
    ).all()
    seen: dict[str, tuple[str, str, str]] = {}
    for person_id, name, e164 in rows:
        seen.setdefault(person_id, (person_id, name, e164))
    return list(seen.values())
