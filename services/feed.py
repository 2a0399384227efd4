"""The insurer's data feed (SPEC §5): read as a stream and checked record by record.

A feed is one JSON object with ``people``, ``policies`` and ``usage`` arrays, in
any order. It can hold a million policies, so it is never loaded whole: ``check``
reads it once with ijson and keeps only what later records are checked against
(ids, policy numbers, the summed usage); ``people`` and ``policies`` read it again
for writing, one record at a time. Every problem is named by record and field:
``policies[17].sum_insured: must be a positive whole number``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from ijson.common import ObjectBuilder

from domain.catalogue import Programme
from domain.dates import iso_date
from domain.masking import mask_phone
from domain.phones import InvalidPhone, suffix, to_e164
from domain.policies import PolicyStatus, normalise_product
from services import defaults

SECTIONS = ("people", "policies", "usage")
PERSON_KEYS = ("id", "name", "phones")
POLICY_KEYS = (
    "policy_no",
    "product",
    "holder_id",
    "insured_id",
    "sum_insured",
    "cooling_off_end",
    "status",
    "events",
)
EVENT_KEYS = ("date", "sum_insured", "status")
USAGE_KEYS = ("insured_id", "service", "date", "count")
STATUSES = tuple(str(s) for s in PolicyStatus)

# Column widths in storage.models; longer values are refused here, not by the database.
ID_LENGTH = 64
NAME_LENGTH = 100
PRODUCT_LENGTH = 200
BIGINT_MAX = 2**63 - 1
COUNT_MAX = 2**31 - 1
_BOM = b"\xef\xbb\xbf"


class FeedError(Exception):
    """A feed that cannot be imported; ``lines`` are the problems, capped for reading."""

    def __init__(self, lines: list[str]):
        super().__init__(lines[0] if lines else "feed refused")
        self.lines = lines


class Problems:
    """Collects every problem of a feed; keeps the first ``limit`` for the report."""

    def __init__(self, limit: int = defaults.IMPORT_ERROR_LIMIT):
        self.limit = limit
        self.kept: list[str] = []
        self.total = 0

    def add(self, where: str, message: str) -> None:
        self.total += 1
        if len(self.kept) < self.limit:
            self.kept.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return self.total > 0

    def lines(self) -> list[str]:
        more = self.total - len(self.kept)
        return self.kept + ([f"… and {more} more"] if more else [])

    def raise_if_any(self) -> None:
        if self:
            raise FeedError(self.lines())


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRecord:
    id: str
    name: str
    # E.164, in feed order, without repeats.
    phones: tuple[str, ...]

    def suffixes(self) -> tuple[str, ...]:
        return tuple(suffix(p) for p in self.phones)


@dataclass(frozen=True, slots=True)
class EventRecord:
    on: date
    sum_insured: int | None
    status: str | None


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    policy_no: str
    product: str  # NFKC-normalised
    applicable: bool
    holder_id: str
    insured_id: str
    sum_insured: int
    cooling_off_end: date
    status: str
    events: tuple[EventRecord, ...]


@dataclass(frozen=True, slots=True)
class UseRecord:
    insured_id: str
    service: str
    on: date
    count: int


UsageKey = tuple[str, str, date]


class _Fields:
    """One JSON object of the feed, read field by field; problems go to ``problems``."""

    def __init__(self, where: str, value: Any, allowed: tuple[str, ...], problems: Problems):
        self.where = where
        self.problems = problems
        self.ok = isinstance(value, dict)
        self.data: dict = value if self.ok else {}
        if not self.ok:
            problems.add(where, "must be an object")
            return
        for key in value:
            if key not in allowed:
                self._bad(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def _bad(self, key: str, message: str) -> None:
        self.ok = False
        self.problems.add(f"{self.where}.{key}", message)

    def present(self, key: str) -> bool:
        # null is how exports write "no value" for an optional field.
        return self.data.get(key) is not None

    def text(self, key: str, max_length: int) -> str | None:
        value = self.data.get(key)
        if key not in self.data:
            self._bad(key, "is required")
        elif not isinstance(value, str) or not value.strip():
            self._bad(key, "must be a non-empty string")
        elif len(value.strip()) > max_length:
            self._bad(key, f"must be at most {max_length} characters")
        else:
            return value.strip()
        return None

    def whole(self, key: str, minimum: int, maximum: int, message: str) -> int | None:
        value = self.data.get(key)
        if key not in self.data:
            self._bad(key, "is required")
        elif isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self._bad(key, message)
        elif value > maximum:
            self._bad(key, f"is too large (at most {maximum})")
        else:
            return value
        return None

    def day(self, key: str) -> date | None:
        value = self.data.get(key)
        if key not in self.data:
            self._bad(key, "is required")
            return None
        day = iso_date(value)
        if day is None:
            self._bad(key, "must be an ISO date (YYYY-MM-DD)")
        return day

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        value = self.data.get(key)
        if key not in self.data:
            self._bad(key, "is required")
        elif value not in options:
            self._bad(key, f"must be one of: {', '.join(options)}")
        else:
            return value
        return None

    def array(self, key: str) -> list:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(key, "must be an array")
            return []
        return value


def check_person(
    value: Any, where: str, problems: Problems, numbers: dict[str, str] | None = None
) -> PersonRecord | None:
    """``numbers`` remembers raw phone -> E.164 so the second pass parses no number twice."""
    fields = _Fields(where, value, PERSON_KEYS, problems)
    if not isinstance(value, dict):
        return None
    person_id = fields.text("id", ID_LENGTH)
    name = fields.text("name", NAME_LENGTH)
    phones: list[str] = []
    for i, raw in enumerate(fields.array("phones")):
        try:
            e164 = numbers.get(raw) if numbers is not None and isinstance(raw, str) else None
            if e164 is None:
                e164 = to_e164(raw)
                if numbers is not None:
                    numbers[raw] = e164
        except InvalidPhone as exc:
            shown = f" ({mask_phone(raw)})" if isinstance(raw, str) and raw.strip() else ""
            fields._bad(f"phones[{i}]", f"{exc}{shown}")
            continue
        if e164 not in phones:
            phones.append(e164)
    if not fields.ok:
        return None
    return PersonRecord(id=person_id, name=name, phones=tuple(phones))


def check_policy(
    value: Any, where: str, problems: Problems, programme: Programme
) -> PolicyRecord | None:
    fields = _Fields(where, value, POLICY_KEYS, problems)
    if not isinstance(value, dict):
        return None
    policy_no = fields.text("policy_no", ID_LENGTH)
    product = fields.text("product", PRODUCT_LENGTH)
    holder_id = fields.text("holder_id", ID_LENGTH)
    insured_id = fields.text("insured_id", ID_LENGTH)
    sum_insured = fields.whole("sum_insured", 1, BIGINT_MAX, "must be a positive whole number")
    cooling_off_end = fields.day("cooling_off_end")
    status = fields.choice("status", STATUSES)
    events = []
    for i, item in enumerate(fields.array("events")):
        event = check_event(item, f"{where}.events[{i}]", problems)
        if event is None:
            fields.ok = False
        else:
            events.append(event)
    if not fields.ok:
        return None
    product = normalise_product(product)
    return PolicyRecord(
        policy_no=policy_no,
        product=product,
        applicable=programme.is_applicable(product),
        holder_id=holder_id,
        insured_id=insured_id,
        sum_insured=sum_insured,
        cooling_off_end=cooling_off_end,
        status=status,
        events=tuple(events),
    )


def check_event(value: Any, where: str, problems: Problems) -> EventRecord | None:
    fields = _Fields(where, value, EVENT_KEYS, problems)
    if not isinstance(value, dict):
        return None
    on = fields.day("date")
    amount = status = None
    if fields.present("sum_insured"):
        amount = fields.whole("sum_insured", 1, BIGINT_MAX, "must be a positive whole number")
    if fields.present("status"):
        status = fields.choice("status", STATUSES)
    if not fields.present("sum_insured") and not fields.present("status"):
        problems.add(where, "an event must change sum_insured or status (or both)")
        return None
    return EventRecord(on=on, sum_insured=amount, status=status) if fields.ok else None


def check_use(
    value: Any, where: str, problems: Problems, services: Iterable[str]
) -> UseRecord | None:
    fields = _Fields(where, value, USAGE_KEYS, problems)
    if not isinstance(value, dict):
        return None
    insured_id = fields.text("insured_id", ID_LENGTH)
    service = fields.data.get("service")
    if "service" not in fields.data:
        fields._bad("service", "is required")
    elif not isinstance(service, str) or service not in services:
        shown = service if isinstance(service, str) else repr(service)
        fields._bad("service", f'unknown service "{shown}"')
    on = fields.day("date")
    count = 1
    if fields.present("count"):
        count = fields.whole("count", 0, COUNT_MAX, "must be a whole number ≥ 0")
    if not fields.ok:
        return None
    return UseRecord(insured_id=insured_id, service=service, on=on, count=count)


# -- reading -------------------------------------------------------------------------------


class _Source:
    """The file as ijson reads it, remembering where the last chunk came from.

    yajl reports a syntax error with a snippet of the chunk it was parsing;
    knowing the chunk turns that into a byte position an operator can look up.
    """

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.start = self.end = 0
        self.chunk = b""
        self.skipped = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if self.end == 0 and data.startswith(_BOM):
            # Spreadsheet exports put a byte-order mark before the JSON.
            data = data[len(_BOM) :]
            self.skipped = len(_BOM)
        self.start = self.end
        self.end += len(data)
        self.chunk = data
        return data


def _open(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise FeedError([f"{path}: cannot read ({exc.strerror})"]) from None


def _syntax_error(path: str | Path, exc: Exception, source: _Source) -> FeedError:
    raw = exc.args[0] if exc.args else str(exc)
    if isinstance(raw, UnicodeDecodeError):
        raw = str(raw)
    text = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
    lines = text.split(b"\n")
    reason = lines[0].decode("utf-8", "replace").strip()
    offset: int | None = None
    if "premature EOF" in reason or "Incomplete JSON" in reason:
        reason = "the file ends before the JSON does"
        offset = source.end
    elif len(lines) >= 2 and b"(right here)" in text:
        offset = _locate(source, lines[1])
        if offset:
            offset -= 1  # yajl counts the offending byte as read: point at it
    elif match := re.search(r" at (\d+)$", reason):  # ijson's pure-Python backend
        offset = int(match.group(1))
    if offset is None:
        where = f"between bytes {source.start + source.skipped} and {source.end + source.skipped}"
    else:
        offset += source.skipped
        line, column = _line_and_column(path, offset)
        where = f"at byte {offset} (line {line}, column {column})"
    return FeedError([f"malformed JSON {where}: {reason}"])


def _locate(source: _Source, snippet: bytes) -> int | None:
    # yajl prints 30 bytes either side of the error, padded so that the caret
    # lines up, with line breaks shown as spaces: find the offset that renders so.
    chunk = source.chunk
    flat = chunk.replace(b"\n", b" ").replace(b"\r", b" ")
    for offset in range(len(chunk) + 1):
        pad = 40 - offset if offset < 30 else 10
        window = flat[max(0, offset - 30) : offset + 30]
        if len(snippet) == pad + len(window) and snippet.endswith(window):
            return source.start + offset
    return None


def _line_and_column(path: str | Path, offset: int) -> tuple[int, int]:
    line, last_break, position = 1, -1, 0
    with open(path, "rb") as handle:
        while position < offset:
            block = handle.read(min(1 << 20, offset - position))
            if not block:
                break
            breaks = block.count(b"\n")
            if breaks:
                line += breaks
                last_break = position + block.rindex(b"\n")
            position += len(block)
    return line, offset - last_break


_OPEN = frozenset(("start_map", "start_array"))
_CLOSE = frozenset(("end_map", "end_array"))


def _skip(events: Iterator, event: str) -> None:
    depth = 1 if event in _OPEN else 0
    while depth:
        _, event, _ = next(events)
        if event in _OPEN:
            depth += 1
        elif event in _CLOSE:
            depth -= 1


def _build(events: Iterator, event: str, value: Any) -> Any:
    builder = ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for _, event, value in events:
        builder.event(event, value)
        if event in _OPEN:
            depth += 1
        elif event in _CLOSE:
            depth -= 1
            if not depth:
                break
    return builder.value


def _records(events: Iterator, problems: Problems) -> Iterator[tuple[str, int, Any]]:
    """(section, index, value) for every array item, in file order."""
    _, event, _ = next(events)
    if event != "start_map":
        problems.add("(feed)", "must be one JSON object with people, policies and usage arrays")
        for _ in events:
            pass
        return
    seen: set[str] = set()
    for _, event, key in events:
        if event == "end_map":
            break
        _, event, _ = next(events)
        if key not in SECTIONS:
            problems.add(key, f"unknown key (expected one of: {', '.join(SECTIONS)})")
        elif key in seen:
            problems.add(key, "appears twice")
        elif event != "start_array":
            problems.add(key, "must be an array")
        else:
            seen.add(key)
            # _build reads the rest of an item, so each turn of this loop is one item.
            for index, (prefix, event, value) in enumerate(events):
                if event == "end_array" and prefix == key:
                    break
                yield key, index, _build(events, event, value) if event in _OPEN else value
            continue
        _skip(events, event)
    for _ in events:
        pass  # read to the end: trailing garbage is a syntax error too


def _items(path: str | Path, section: str) -> Iterator[tuple[int, Any]]:
    with _open(path) as handle:
        source = _Source(handle)
        try:
            yield from enumerate(ijson.items(source, f"{section}.item"))
        except ijson.JSONError as exc:
            raise _syntax_error(path, exc, source) from None


# -- the two passes ------------------------------------------------------------------------


@dataclass
class Checked:
    """What the first pass learnt: counts, the summed usage, products to flag."""

    people: int = 0
    policies: int = 0
    events: int = 0
    usage_records: int = 0
    usage: dict[UsageKey, int] = field(default_factory=dict)
    unknown_products: Counter[str] = field(default_factory=Counter)
    # raw phone -> E.164, so that writing does not parse every number again
    numbers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def flagged_policies(self) -> int:
        return sum(self.unknown_products.values())


def check(
    path: str | Path,
    programme: Programme,
    known_people: Callable[[list[str]], set[str]],
    limit: int = defaults.IMPORT_ERROR_LIMIT,
    batch_size: int = defaults.IMPORT_BATCH_SIZE,
) -> Checked:
    """Read the whole feed and refuse it with every problem, or say what it holds.

    ``known_people(ids)`` returns which of ``ids`` are already stored, for
    references to people that are not in this feed.
    """
    problems = Problems(limit)
    checked = Checked()
    services = {s.code for s in programme.services}
    people: dict[str, int] = {}
    policy_numbers: dict[str, int] = {}
    # person id -> [first place it is referred to, further references]
    wanted: dict[str, list] = {}

    def refer(person_id: str, where: str) -> None:
        if person_id not in people:
            entry = wanted.setdefault(person_id, [where, 0])
            if entry[0] != where:
                entry[1] += 1

    with _open(path) as handle:
        source = _Source(handle)
        try:
            for section, index, value in _records(ijson.parse(source), problems):
                where = f"{section}[{index}]"
                if section == "people":
                    record = check_person(value, where, problems, checked.numbers)
                    if record is None:
                        continue
                    if record.id in people:
                        first = people[record.id]
                        problems.add(
                            f"{where}.id", f'duplicate id "{record.id}" (also people[{first}])'
                        )
                        continue
                    people[record.id] = index
                    wanted.pop(record.id, None)
                    checked.people += 1
                elif section == "policies":
                    record = check_policy(value, where, problems, programme)
                    if record is None:
                        continue
                    if record.policy_no in policy_numbers:
                        first = policy_numbers[record.policy_no]
                        problems.add(
                            f"{where}.policy_no",
                            f'duplicate policy number "{record.policy_no}" '
                            f"(also policies[{first}])",
                        )
                        continue
                    policy_numbers[record.policy_no] = index
                    refer(record.holder_id, f"{where}.holder_id")
                    refer(record.insured_id, f"{where}.insured_id")
                    checked.policies += 1
                    checked.events += len(record.events)
                    if not record.applicable:
                        checked.unknown_products[record.product] += 1
                else:
                    record = check_use(value, where, problems, services)
                    if record is None:
                        continue
                    refer(record.insured_id, f"{where}.insured_id")
                    key = (record.insured_id, record.service, record.on)
                    checked.usage[key] = checked.usage.get(key, 0) + record.count
                    checked.usage_records += 1
        except ijson.JSONError as exc:
            raise _syntax_error(path, exc, source) from None

    missing = [person_id for person_id in wanted if person_id not in people]
    stored: set[str] = set()
    for start in range(0, len(missing), batch_size):
        stored |= known_people(missing[start : start + batch_size])
    for person_id in missing:
        if person_id in stored:
            continue
        where, more = wanted[person_id]
        also = f" (and {more} more reference{'s' if more > 1 else ''})" if more else ""
        problems.add(where, f'unknown person "{person_id}"{also}')
    for key, total in checked.usage.items():
        if total > COUNT_MAX:
            problems.add("usage", f"uses of {key[1]} by {key[0]} on {key[2]} add up to too many")
    problems.raise_if_any()
    return checked


def people(path: str | Path, checked: Checked) -> Iterator[PersonRecord]:
    """The people of a checked feed, for writing."""
    problems = Problems()
    for index, value in _items(path, "people"):
        record = check_person(value, f"people[{index}]", problems, checked.numbers)
        problems.raise_if_any()  # the file changed since it was checked
        yield record


def policies(path: str | Path, programme: Programme) -> Iterator[PolicyRecord]:
    """The policies of a checked feed, for writing."""
    problems = Problems()
    for index, value in _items(path, "policies"):
        record = check_policy(value, f"policies[{index}]", problems, programme)
        problems.raise_if_any()
        yield record
