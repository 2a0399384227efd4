"""Finding a customer at the desk: by name, phone, policy number or id (``GET /api/people``).

An unverified caller (who pressed 0, or whose name did not match) can only be
helped once the agent finds them. One query box takes what the caller says:

- a name in characters, matched as the IVR matches it (``domain.names``): the
  same letters, else the same toneless pinyin (章伟 finds 张伟);
- a name in pinyin, with or without spaces and tone marks (zhang wei, Zhāng Wěi);
- a phone number in any form ``phonenumbers`` reads (region CN), or the last six
  digits, as callers key them into the IVR;
- a person id or a policy number (the policy's holder and insured person).

Every look-up is an index look-up (``people.name_key``, ``people.name_pinyin``,
``phones.e164``, ``phones.suffix`` and the primary keys), so a million people cost
what ten do. Results are masked (张*明, 138****5678), capped, and say how each
was found; the full record stays behind the eligibility API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from domain.masking import mask_name, mask_phone
from domain.names import is_han, is_latin, latin_key, name_key, pinyin_keys, sounds_alike
from domain.phones import SUFFIX_LENGTH, InvalidPhone, to_e164
from services import defaults
from services.exceptions import SearchRefused
from storage.models import Person, Phone, Policy

# How a person was found, strongest first: results are listed in this order.
BY_ID, BY_POLICY, BY_PHONE, BY_SUFFIX, BY_NAME, BY_PINYIN, BY_SOUND = (
    "id",
    "policy",
    "phone",
    "phone_suffix",
    "name",
    "pinyin",
    "name_sound",
)
ORDER = (BY_ID, BY_POLICY, BY_PHONE, BY_SUFFIX, BY_NAME, BY_PINYIN, BY_SOUND)
# What a phone number may be written with besides digits.
PHONE_TEXT = re.compile(r"[\d\s+()\-.]+")
# People weighed per name look-up before the cap: a common name's homophones.
NAME_CANDIDATES = 200
# Insured people listed under one policyholder found.
HOUSEHOLD_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Found:
    id: str
    name: str  # masked
    phone: str | None  # masked: the number matched, else the first on file
    found_by: str
    holds_policies: bool
    insured: bool
    # The people insured under this person's policies: (id, masked name).
    household: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "phone": self.phone,
            "found_by": self.found_by,
            "policyholder": self.holds_policies,
            "insured": self.insured,
            "household": [{"id": i, "name": n} for i, n in self.household],
        }


@dataclass
class Results:
    query: str
    people: list[Found] = field(default_factory=list)
    # More people matched than the cap lets through: the agent should narrow the query.
    more: bool = False

    def as_dict(self) -> dict:
        return {
            "query": self.query,
            "people": [p.as_dict() for p in self.people],
            "more": self.more,
        }


def search(
    db_session: Session,
    query: str | None,
    limit: int = defaults.SEARCH_LIMIT,
    max_length: int = defaults.SEARCH_QUERY_MAX_LENGTH,
) -> Results:
    """The people ``query`` names, strongest match first; raises ``SearchRefused``."""
    text = (query or "").strip()
    if not text:
        raise SearchRefused("missing_query", "type a name, phone number, policy number or id")
    if len(text) > max_length:
        raise SearchRefused("invalid_query", f"the query is at most {max_length} characters")

    hits: dict[str, tuple[str, str | None]] = {}  # id -> (found_by, matched number)

    def add(person_id: str, found_by: str, number: str | None = None) -> None:
        hits.setdefault(person_id, (found_by, number))

    connection = db_session.connection()
    for person_id in _by_id(connection, text):
        add(person_id, BY_ID)
    for person_id in _by_policy(connection, text):
        add(person_id, BY_POLICY)
    if PHONE_TEXT.fullmatch(text):
        for person_id, number, found_by in _by_phone(connection, text):
            add(person_id, found_by, number)
    if any(is_han(ch) for ch in text) or is_latin(text):
        for person_id, found_by in _by_name(connection, text):
            add(person_id, found_by)

    ranked = sorted(hits.items(), key=lambda item: ORDER.index(item[1][0]))
    results = Results(query=text, more=len(ranked) > limit)
    results.people = _details(connection, ranked[:limit])
    return results


_people = Person.__table__.c
_phones = Phone.__table__.c
_policies = Policy.__table__.c


def _ids(name: str):
    return bindparam(name, expanding=True)


# Built once, with bound parameters, run as Core statements: the ORM would only add
# statement building for rows read as plain values (as in ``storage.repository``).
_BY_ID = select(_people.id).where(_people.id.in_(_ids("wanted")))
_BY_POLICY = (
    select(_policies.holder_id, _policies.insured_id)
    .where(_policies.policy_no.in_(_ids("wanted")))
    .order_by(_policies.policy_no)
)
_BY_SUFFIX = (
    select(_phones.person_id, _phones.e164)
    .where(_phones.suffix == bindparam("suffix"))
    .order_by(_phones.person_id, _phones.id)
)
_BY_NUMBER = (
    select(_phones.person_id).where(_phones.e164 == bindparam("e164")).order_by(_phones.person_id)
)
_BY_PINYIN = (
    select(_people.id)
    .where(_people.name_pinyin == bindparam("spelling"))
    .order_by(_people.id)
    .limit(NAME_CANDIDATES)
)
_BY_NAME = (
    select(_people.id, _people.name_key)
    .where(
        or_(_people.name_key == bindparam("letters"), _people.name_pinyin.in_(_ids("spellings")))
    )
    .order_by(_people.id)
    .limit(NAME_CANDIDATES)
)
# Each person found with their numbers on file, first number first.
_PEOPLE = (
    select(_people.id, _people.name, _phones.e164)
    .select_from(Person.__table__.outerjoin(Phone.__table__, _phones.person_id == _people.id))
    .where(_people.id.in_(_ids("ids")))
    .order_by(_people.id, _phones.id)
)
# Their policies, as holder or insured, with the insured person's name.
_POLICIES = (
    select(_policies.holder_id, _policies.insured_id, _people.name)
    .select_from(Policy.__table__.join(Person.__table__, _people.id == _policies.insured_id))
    .where(or_(_policies.holder_id.in_(_ids("ids")), _policies.insured_id.in_(_ids("ids"))))
    .order_by(_policies.insured_id)
)


def _by_id(connection, text: str) -> list[str]:
    return list(connection.execute(_BY_ID, {"wanted": _spellings_of_a_key(text)}).scalars())


def _spellings_of_a_key(text: str) -> list[str]:
    """An id or policy number as typed, and in capitals (d002 is D002)."""
    return [] if len(text) > 64 else list(dict.fromkeys([text, text.upper()]))


def _by_policy(connection, text: str) -> list[str]:
    """The policy's holder, then its insured person."""
    out: list[str] = []
    for holder, insured in connection.execute(_BY_POLICY, {"wanted": _spellings_of_a_key(text)}):
        out.extend(p for p in (holder, insured) if p not in out)
    return out


def _by_phone(connection, text: str) -> list[tuple[str, str, str]]:
    """(person id, number, how) for a whole number, or for the last six digits."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) == SUFFIX_LENGTH and "+" not in text:
        rows = connection.execute(_BY_SUFFIX, {"suffix": digits})
        return [(person_id, e164, BY_SUFFIX) for person_id, e164 in rows]
    try:
        e164 = to_e164(text)
    except InvalidPhone:
        return []
    rows = connection.execute(_BY_NUMBER, {"e164": e164})
    return [(person_id, e164, BY_PHONE) for (person_id,) in rows]


def _by_name(connection, text: str) -> list[tuple[str, str]]:
    """(person id, how): the same letters first, then the same sound, each by id."""
    if is_latin(text):
        rows = connection.execute(_BY_PINYIN, {"spelling": latin_key(text)})
        return [(person_id, BY_PINYIN) for (person_id,) in rows]
    letters = name_key(text)
    rows = connection.execute(
        _BY_NAME, {"letters": letters, "spellings": pinyin_keys(letters)}
    ).all()
    same = [(pid, BY_NAME) for pid, key in rows if key == letters]
    alike = [(pid, BY_SOUND) for pid, key in rows if key != letters and sounds_alike(letters, key)]
    return same + alike


def _details(connection, ranked: list[tuple[str, tuple[str, str | None]]]) -> list[Found]:
    """Names, numbers and households of the people found: two queries for them all."""
    ids = [person_id for person_id, _ in ranked]
    if not ids:
        return []
    names: dict[str, str] = {}
    first_phone: dict[str, str] = {}
    for person_id, name, e164 in connection.execute(_PEOPLE, {"ids": ids}):
        names[person_id] = name
        if e164 is not None:
            first_phone.setdefault(person_id, e164)
    holds: set[str] = set()
    insured: set[str] = set()
    household: dict[str, dict[str, str]] = {}
    for holder_id, insured_id, insured_name in connection.execute(_POLICIES, {"ids": ids}):
        insured.add(insured_id)
        if holder_id in names:
            holds.add(holder_id)
            household.setdefault(holder_id, {})[insured_id] = mask_name(insured_name)
    out = []
    for person_id, (found_by, number) in ranked:
        if person_id not in names:
            continue
        phone = number or first_phone.get(person_id)
        out.append(
            Found(
                id=person_id,
                name=mask_name(names[person_id]),
                phone=mask_phone(phone) if phone else None,
                found_by=found_by,
                holds_policies=person_id in holds,
                insured=person_id in insured,
                household=tuple(household.get(person_id, {}).items())[:HOUSEHOLD_SHOWN],
            )
        )
    return out
