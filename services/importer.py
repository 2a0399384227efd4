"""``hotline import``: a checked feed written in one transaction, in batches.

The feed is an upsert, not a sync: what it holds is created or brought up to
date, and what it leaves out stays as it was. A person's phones and a policy's
events are replaced as a whole when they differ; usage is keyed by insured
person, service and date (``source="feed"``), so importing the same feed twice
writes nothing the second time.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, delete, literal, select

from domain.catalogue import Programme
from domain.names import name_key, pinyin_key
from services import defaults, feed
from services.feed import PersonRecord, PolicyRecord, UsageKey
from storage import db
from storage.models import Person, Phone, Policy, PolicyEvent, ServiceUse

log = logging.getLogger(__name__)

FEED_SOURCE = "feed"
T = TypeVar("T")

people_table = Person.__table__
phones_table = Phone.__table__
policies_table = Policy.__table__
events_table = PolicyEvent.__table__
uses_table = ServiceUse.__table__


def usage_ref(key: UsageKey) -> str:
    insured_id, service, on = key
    return f"{insured_id}|{service}|{on.isoformat()}"


@dataclass
class Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    def counts(self, known: bool, unchanged: bool) -> bool:
        """Count one record; whether it has to be written (it is new or changed)."""
        if unchanged:
            self.unchanged += 1
        elif known:
            self.updated += 1
        else:
            self.new += 1
        return not unchanged

    def __str__(self) -> str:
        return f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class Summary:
    path: str
    people: Tally = field(default_factory=Tally)
    policies: Tally = field(default_factory=Tally)
    usage: Tally = field(default_factory=Tally)
    usage_records: int = 0
    events_in_feed: int = 0
    events_written: int = 0
    phones_written: int = 0
    unknown_products: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        lines = [
            f"Imported {self.path} in {self.seconds:.1f} s (one transaction):",
            f"  people:   {self.people.total} in feed: {self.people}"
            f" ({self.phones_written} phone numbers written)",
            f"  policies: {self.policies.total} in feed: {self.policies}",
            f"  events:   {self.events_in_feed} in feed: {self.events_written} written",
            f"  usage:    {self.usage_records} records as {self.usage.total} uses"
            f" (insured, service, date): {self.usage}",
        ]
        flagged = sum(self.unknown_products.values())
        if flagged:
            listed = ", ".join(
                f"{product} ({count})" for product, count in self.unknown_products.most_common()
            )
            lines.append(
                f"{flagged} {'policy' if flagged == 1 else 'policies'} of products not in the "
                f"programme (kept, never counted): {listed}"
            )
        return lines


def import_feed(
    engine: Engine,
    path: str | Path,
    programme: Programme,
    now: datetime,
    batch_size: int = defaults.IMPORT_BATCH_SIZE,
    error_limit: int = defaults.IMPORT_ERROR_LIMIT,
) -> Summary:
    """Check the whole feed, then write it all or nothing; raises ``feed.FeedError``."""
    started = time.perf_counter()
    with engine.connect() as connection:
        checked = feed.check(
            path,
            programme,
            known_people=lambda ids: _known_people(connection, ids),
            limit=error_limit,
            batch_size=batch_size,
        )
    summary = Summary(
        path=str(path),
        usage_records=checked.usage_records,
        events_in_feed=checked.events,
        unknown_products=checked.unknown_products,
    )
    with engine.begin() as connection:
        writer = _Writer(connection, now, summary)
        for batch in _batches(feed.people(path, checked), batch_size):
            writer.people(batch)
        for batch in _batches(feed.policies(path, programme), batch_size):
            writer.policies(batch)
        for batch in _batches(checked.usage.items(), batch_size):
            writer.usage(batch)
    summary.seconds = time.perf_counter() - started
    log.info(
        "feed imported: people %s; policies %s; usage %s; %d events written; "
        "%d policies of products not in the programme",
        summary.people,
        summary.policies,
        summary.usage,
        summary.events_written,
        sum(summary.unknown_products.values()),
    )
    return summary


def _known_people(connection: Connection, ids: list[str]) -> set[str]:
    found = connection.execute(select(people_table.c.id).where(people_table.c.id.in_(ids)))
    return set(found.scalars())


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Writer:
    """Writes batches of records, reading first what is stored so that unchanged rows
    are left alone (no churn in ids or timestamps) and the summary can say what changed."""

    def __init__(self, connection: Connection, now: datetime, summary: Summary):
        self.connection = connection
        self.now = now
        self.summary = summary
        # Into an empty table everything is new: the first load of a big feed
        # skips reading back what cannot be there.
        self.empty = {
            table.name: connection.execute(select(literal(1)).select_from(table).limit(1)).first()
            is None
            for table in (people_table, policies_table, uses_table)
        }

    def people(self, batch: list[PersonRecord]) -> None:
        c = self.connection
        ids = [p.id for p in batch]
        names: dict[str, str] = {}
        stored_phones: dict[str, list[str]] = defaultdict(list)
        if not self.empty["people"]:
            names.update(
                c.execute(
                    select(people_table.c.id, people_table.c.name).where(people_table.c.id.in_(ids))
                ).all()
            )
            for person_id, e164 in c.execute(
                select(phones_table.c.person_id, phones_table.c.e164)
                .where(phones_table.c.person_id.in_(ids))
                .order_by(phones_table.c.person_id, phones_table.c.id)
            ):
                stored_phones[person_id].append(e164)

        rows, replace, phone_rows = [], [], []
        tally = self.summary.people
        for person in batch:
            known = person.id in names
            same_name = known and names[person.id] == person.name
            same_phones = stored_phones.get(person.id, []) == list(person.phones)
            if not tally.counts(known, known and same_name and same_phones):
                continue
            rows.append(
                {
                    "id": person.id,
                    "name": person.name,
                    # The desk's customer search keys, written with the name they key.
                    "name_key": name_key(person.name),
                    "name_pinyin": pinyin_key(person.name),
                    "updated_at": self.now,
                }
            )
            if not same_phones:
                if known:
                    replace.append(person.id)
                phone_rows.extend(
                    {"person_id": person.id, "e164": e164, "suffix": sfx}
                    for e164, sfx in zip(person.phones, person.suffixes(), strict=True)
                )
        db.upsert(c, people_table, rows, ("id",), ("name", "name_key", "name_pinyin", "updated_at"))
        if replace:
            c.execute(delete(phones_table).where(phones_table.c.person_id.in_(replace)))
        db.insert_rows(c, phones_table, phone_rows)
        self.summary.phones_written += len(phone_rows)

    def policies(self, batch: list[PolicyRecord]) -> None:
        c = self.connection
        numbers = [p.policy_no for p in batch]
        t = policies_table.c
        e = events_table.c
        stored: dict[str, tuple] = {}
        stored_events: dict[str, list[tuple]] = defaultdict(list)
        if not self.empty["policies"]:
            for row in c.execute(
                select(
                    t.policy_no,
                    t.product,
                    t.applicable,
                    t.holder_id,
                    t.insured_id,
                    t.sum_insured,
                    t.cooling_off_end,
                    t.status,
                ).where(t.policy_no.in_(numbers))
            ):
                stored[row.policy_no] = tuple(row[1:])
            for row in c.execute(
                select(e.policy_no, e.on_date, e.sum_insured, e.status)
                .where(e.policy_no.in_(numbers))
                .order_by(e.policy_no, e.seq)
            ):
                stored_events[row.policy_no].append(tuple(row[1:]))

        rows, replace, event_rows = [], [], []
        tally = self.summary.policies
        for policy in batch:
            values = (
                policy.product,
                policy.applicable,
                policy.holder_id,
                policy.insured_id,
                policy.sum_insured,
                policy.cooling_off_end,
                policy.status,
            )
            events = [(ev.on, ev.sum_insured, ev.status) for ev in policy.events]
            known = policy.policy_no in stored
            same_values = known and stored[policy.policy_no] == values
            same_events = stored_events.get(policy.policy_no, []) == events
            if not tally.counts(known, same_values and same_events):
                continue
            if not same_values:
                rows.append(
                    {
                        "policy_no": policy.policy_no,
                        "product": policy.product,
                        "applicable": policy.applicable,
                        "holder_id": policy.holder_id,
                        "insured_id": policy.insured_id,
                        "sum_insured": policy.sum_insured,
                        "cooling_off_end": policy.cooling_off_end,
                        "status": policy.status,
                    }
                )
            if not same_events:
                if known:
                    replace.append(policy.policy_no)
                event_rows.extend(
                    {
                        "policy_no": policy.policy_no,
                        "seq": seq,
                        "on_date": on,
                        "sum_insured": amount,
                        "status": status,
                    }
                    for seq, (on, amount, status) in enumerate(events)
                )
        db.upsert(
            c,
            policies_table,
            rows,
            ("policy_no",),
            (
                "product",
                "applicable",
                "holder_id",
                "insured_id",
                "sum_insured",
                "cooling_off_end",
                "status",
            ),
        )
        if replace:
            c.execute(delete(events_table).where(events_table.c.policy_no.in_(replace)))
        db.insert_rows(c, events_table, event_rows)
        self.summary.events_written += len(event_rows)

    def usage(self, batch: list[tuple[UsageKey, int]]) -> None:
        c = self.connection
        u = uses_table.c
        refs = {usage_ref(key): (key, count) for key, count in batch}
        stored: dict[str, int] = {}
        if not self.empty["service_uses"]:
            stored.update(
                c.execute(
                    select(u.ref, u.count).where(u.source == FEED_SOURCE, u.ref.in_(list(refs)))
                ).all()
            )
        rows = []
        tally = self.summary.usage
        for ref, ((insured_id, service, on), count) in refs.items():
            if stored.get(ref) == count:
                tally.unchanged += 1
                continue
            if ref in stored:
                tally.updated += 1
            else:
                tally.new += 1
            rows.append(
                {
                    "insured_id": insured_id,
                    "service": service,
                    "on_date": on,
                    "count": count,
                    "source": FEED_SOURCE,
                    "ref": ref,
                    "created_at": self.now,
                }
            )
        db.upsert(c, uses_table, rows, ("source", "ref"), ("count",))
