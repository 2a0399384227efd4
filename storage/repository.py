"""People, policies and uses read back as domain objects.

This is the hot path of the eligibility API, the IVR and the screen-pop: one
insured person costs one statement (the person with their policies and events,
and their uses), whatever the number of policies; a policyholder's household
costs one too (``household``), and so do the policyholders a suffix matches, with
their households and failed tries (``candidates``). They are built once, with bound
parameters, and run as Core statements on the session's connection: the ORM would
only add per-request work (statement building, cache keys, result set-up) for rows
that are read as plain values anyway. Each is an index look-up: ``policies.insured_id``
(and ``policies.holder_id``), ``policy_events (policy_no, seq)``,
``service_uses.insured_id``, ``auth_failures (kind, subject, at)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby

from sqlalchemy import (
    Integer,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from domain.catalogue import Programme
from domain.eligibility import Eligibility, assess
from domain.policies import Policy, PolicyEvent, PolicyStatus, Use
from storage.exceptions import UnknownPerson
from storage.models import AuthFailure, Person, Phone, ServiceUse
from storage.models import Policy as PolicyRow
from storage.models import PolicyEvent as EventRow
from storage.prepared import Planned, insert


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
_phones = Phone.__table__.c
_failures = AuthFailure.__table__.c


# A row of ``_people_and_uses`` is one of a person's policies with one of its events (POLICY),
# or one of their uses (USE); ``_CANDIDATES`` adds policyholders (HOLDER) and the calling
# number's failed tries (CALLER). A column the row's kind lacks is NULL.
POLICY, USE, HOLDER, CALLER = 0, 1, 2, 3
# What a failed try is counted against (``AuthFailure.kind``).
FAILED_NUMBER, FAILED_HOLDER = 0, 1


# The columns of ``_people_and_uses`` in order: each row's label, and the type a NULL in
# it takes. Every branch of the UNION is built from this one list (``_row``), so that the
# branches cannot disagree on a column's place.
_COLUMNS = (
    ("id", _people.id.type),
    ("name", _people.name.type),
    ("policy_no", _policies.policy_no.type),
    ("product", _policies.product.type),
    ("sum_insured", _policies.sum_insured.type),
    ("cooling_off_end", _policies.cooling_off_end.type),
    ("status", _policies.status.type),
    ("seq", _events.seq.type),
    ("on", _events.on_date.type),
    ("event_sum_insured", _events.sum_insured.type),
    ("event_status", _events.status.type),
    ("service", _uses.service.type),
    ("count", _uses.count.type),
    ("holder_id", _policies.holder_id.type),
    ("e164", _phones.e164.type),
    ("failures", Integer()),
)


def _row(kind: int, **values):
    """A select of the UNION's columns for rows of ``kind``: ``values`` by label, NULL
    elsewhere. Every column labelled: SQLite orders a compound statement by its first
    SELECT's labels only."""
    unknown = set(values) - {label for label, _ in _COLUMNS}
    if unknown:
        raise ValueError(f"not a column of the union: {sorted(unknown)}")
    return select(
        literal_column(str(kind)).label("kind"),
        *(
            (values[label] if label in values else cast(null(), type_)).label(label)
            for label, type_ in _COLUMNS
        ),
    )


def _people_and_uses(people, users, *more):
    """One statement for each person of ``people``: every policy on their life with its
    events in feed order (and its holder), then every use of ``users``, told apart by
    ``kind``; then the rows of ``more`` (``_row`` selects).

    A UNION ALL rather than two statements: one round trip, where each round trip is a
    turn for every other request of a gevent worker and, on PostgreSQL, a wake-up of
    the server's process on the other core.
    """
    policies = (
        _row(
            POLICY,
            id=_people.id,
            name=_people.name,
            policy_no=_policies.policy_no,
            product=_policies.product,
            sum_insured=_policies.sum_insured,
            cooling_off_end=_policies.cooling_off_end,
            status=_policies.status,
            seq=_events.seq,
            on=_events.on_date,
            event_sum_insured=_events.sum_insured,
            event_status=_events.status,
            holder_id=_policies.holder_id,
        )
        .select_from(Person.__table__)
        .outerjoin(PolicyRow.__table__, _policies.insured_id == _people.id)
        .outerjoin(EventRow.__table__, _events.policy_no == _policies.policy_no)
        .where(people)
    )
    uses = _row(
        USE, id=_uses.insured_id, on=_uses.on_date, service=_uses.service, count=_uses.count
    ).where(users)
    return union_all(policies, uses, *more).order_by("kind", "id", "policy_no", "seq")


# The people insured under one policyholder's policies (each once, through the IN).
_HOUSEHOLD = select(_policies.insured_id).where(_policies.holder_id == bindparam("holder_id"))

_PERSON = Planned(
    "hotline_person",
    _people_and_uses(
        _people.id == bindparam("insured_id"), _uses.insured_id == bindparam("insured_id")
    ),
)
_HOUSEHOLD_PEOPLE = Planned(
    "hotline_household",
    _people_and_uses(_people.id.in_(_HOUSEHOLD), _uses.insured_id.in_(_HOUSEHOLD)),
)


def insured(session: Session, insured_id: str) -> Insured:
    """The insured person with every policy on their life and every recorded use."""
    people = _insureds(_PERSON.execute(session.connection(), {"insured_id": insured_id}))
    if not people:
        raise UnknownPerson(insured_id)
    (person,) = people
    return person


def household(session: Session, holder_id: str) -> list[Insured]:
    """Every person insured under ``holder_id``'s policies, each once and by id, as
    ``insured`` reads them (every policy on their life, whoever holds it; every use).

    One statement for the whole household, where ``insured`` would take one per person:
    on the IVR's hot path each round trip to the database is a turn for every other
    call the worker holds (gevent), so the caller waits for all of them each time.
    """
    return _insureds(_HOUSEHOLD_PEOPLE.execute(session.connection(), {"holder_id": holder_id}))


def _insureds(result) -> list[Insured]:
    """People as ``Insured`` from the rows of ``_people_and_uses``: their policies and
    events (ordered by person, policy and event), then their uses. A person is known by
    their POLICY rows (one at least, the outer join's); uses alone make no one."""
    rows = []
    uses: dict[str, list[Use]] = {}
    for row in result:
        if row.kind == POLICY:
            rows.append(row)
        else:
            uses.setdefault(row.id, []).append(Use(service=row.service, on=row.on, count=row.count))
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


@dataclass(frozen=True, slots=True)
class Policyholder:
    id: str
    name: str
    phone: str  # the number on file that ends in the digits keyed in, E.164
    household: list[Insured]  # as ``household`` reads it
    failures: int  # failed tries against them since the time asked for


@dataclass(frozen=True, slots=True)
class Candidates:
    """Who the caller may be, and the failed tries that may lock them out."""

    holders: list[Policyholder]
    number_failures: int  # failed tries from the calling number since the time asked for


def _failures_since(kind: int, subject):
    """Failed tries against ``subject`` of ``kind`` since the ``since`` parameter."""
    return (
        select(func.count())
        .select_from(AuthFailure.__table__)
        .where(
            _failures.kind == literal_column(str(kind)),
            _failures.subject == subject,
            _failures.at >= bindparam("since"),
        )
        .scalar_subquery()
    )


# Policyholders with a number ending in the suffix, one HOLDER row per matching number;
# their numbers in the order they were filed (the phone's id, in ``seq``).
_HOLDERS = (
    _row(
        HOLDER,
        id=_people.id,
        name=_people.name,
        seq=cast(_phones.id, _events.seq.type),
        e164=_phones.e164,
        failures=_failures_since(FAILED_HOLDER, _people.id),
    )
    .select_from(Person.__table__)
    .join(Phone.__table__, _phones.person_id == _people.id)
    .where(_phones.suffix == bindparam("suffix"), exists().where(_policies.holder_id == _people.id))
)
# Everyone insured under their policies.
_THEIR_HOUSEHOLDS = select(_policies.insured_id).where(
    _policies.holder_id.in_(select(_phones.person_id).where(_phones.suffix == bindparam("suffix")))
)
# Always one row: the calling number's failed tries, whether the suffix matched or not.
_CALLER = _row(CALLER, failures=_failures_since(FAILED_NUMBER, bindparam("number")))
_CANDIDATES = Planned(
    "hotline_candidates",
    _people_and_uses(
        _people.id.in_(_THEIR_HOUSEHOLDS),
        _uses.insured_id.in_(_THEIR_HOUSEHOLDS),
        _HOLDERS,
        _CALLER,
    ),
)


def candidates(session: Session, suffix: str | None, number: str, since: float) -> Candidates:
    """Policyholders with a number ending in ``suffix`` (none for None), each with their
    household, and the failed tries since ``since`` against each and from ``number`` (a
    digest, ``AuthFailure.subject``).

    One per person (their first matching number); people who hold no policy are not
    policyholders and cannot authenticate as one. All in one statement: the IVR weighs
    the household of whoever the caller turns out to be in the same turn, and whether
    they are locked out before that; on its hot path a second statement, or a read of
    the counts elsewhere, is a second wait (see ``household``). A suffix matches few
    policyholders, most often one.
    """
    rows = _CANDIDATES.execute(
        session.connection(), {"suffix": suffix, "number": number, "since": since}
    ).all()
    holders: dict[str, tuple[str, str, int]] = {}
    insured_under: dict[str, set[str]] = {}
    number_failures = 0
    for row in rows:
        if row.kind == HOLDER:
            holders.setdefault(row.id, (row.name, row.e164, row.failures))
        elif row.kind == CALLER:
            number_failures = row.failures
        elif row.kind == POLICY and row.holder_id is not None:
            insured_under.setdefault(row.holder_id, set()).add(row.id)
    people = _insureds(row for row in rows if row.kind in (POLICY, USE))
    return Candidates(
        holders=[
            Policyholder(
                id=holder_id,
                name=name,
                phone=e164,
                household=[p for p in people if p.id in insured_under.get(holder_id, ())],
                failures=failures,
            )
            for holder_id, (name, e164, failures) in holders.items()
        ],
        number_failures=number_failures,
    )


def record_failures(session: Session, rows: list[dict]) -> None:
    """Add failed tries (``AuthFailure`` rows as dicts); a try already there is kept as is."""
    if rows:
        statement = insert(session.connection().dialect, AuthFailure.__table__)
        session.execute(statement.on_conflict_do_nothing(), rows)


def prune_failures(session: Session, before: float) -> int:
    """Delete the failed tries older than ``before``; how many went. The caller commits."""
    return session.execute(delete(AuthFailure).where(AuthFailure.at < before)).rowcount
