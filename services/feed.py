"""The insurer's data feed (SPEC §5): read as a stream and checked record by record.

A feed is one JSON object with ``people``, ``policies`` and ``usage`` arrays, in
any order. It can hold a million policies, so it is never loaded whole: ``check``
reads it once with ijson and keeps only what later records are checked against
(ids, policy numbers, the summed usage); ``people`` and ``policies`` read it again
for writing, one record at a time. Every problem is named by record and field:
``policies[17].sum_insured: must be a positive whole number``.

Whatever the file, memory stays bounded: a record is built only up to ``Limits``
(nesting depth, bytes of the file), beyond which it is refused and read past
without building anything (``policies[3].events: nested too deeply …``).
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
# C0 and C1 controls, the Unicode line and paragraph separators, lone surrogates.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

Refer = Callable[[str, str], None]


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
            # A key or value quoted from the feed may hold bytes a terminal should not get.
            self.kept.append(_printable(f"{where}: {message}"))

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
        elif _UNPRINTABLE.search(value.strip()):
            # PostgreSQL refuses NUL outright; line breaks and the rest would reach
            # screens, SMS and log lines.
            self._bad(key, "must not contain control characters (NUL, line breaks, …)")
        else:
            return value.strip()
        return None

    def reference(self, key: str, refer: Refer | None) -> str | None:
        person_id = self.text(key, ID_LENGTH)
        if person_id is not None and refer is not None:
            refer(person_id, f"{self.where}.{key}")
        return person_id

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
    value: Any,
    where: str,
    problems: Problems,
    programme: Programme,
    refer: Refer | None = None,
) -> PolicyRecord | None:
    """``refer(person_id, where)`` is told of each well-formed reference to a person."""
    fields = _Fields(where, value, POLICY_KEYS, problems)
    if not isinstance(value, dict):
        return None
    policy_no = fields.text("policy_no", ID_LENGTH)
    product = fields.text("product", PRODUCT_LENGTH)
    holder_id = fields.reference("holder_id", refer)
    insured_id = fields.reference("insured_id", refer)
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
    value: Any,
    where: str,
    problems: Problems,
    services: Iterable[str],
    refer: Refer | None = None,
) -> UseRecord | None:
    fields = _Fields(where, value, USAGE_KEYS, problems)
    if not isinstance(value, dict):
        return None
    insured_id = fields.reference("insured_id", refer)
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


@dataclass(frozen=True)
class Limits:
    """How deep a record may nest and how many bytes of the file it may take.

    The feed's own shapes need three levels (a policy, its events, an event); the
    margin lets a value of the wrong shape be named as such rather than as too deep.
    """

    depth: int = defaults.FEED_MAX_DEPTH
    record_bytes: int = defaults.FEED_MAX_RECORD_BYTES


class _Stop(Exception):
    """Reading on would hold what must not be held: the file is refused where it stands.

    yajl keeps the token it is reading whole in memory, so one value (a string, a key,
    a number) longer than a record may be cannot be read past like a record of many
    small ones; and it keeps a byte per open bracket, so nesting cannot be read past
    without end either. ``message`` is None when the place was reported already.
    """

    def __init__(self, where: str, message: str | None):
        super().__init__(where)
        self.where = where
        self.message = message


class _Source:
    """The file as ijson reads it, remembering where the last chunk came from.

    yajl reports a syntax error with a snippet of the chunk it was parsing;
    knowing the chunk turns that into a byte position an operator can look up.
    The reader marks where each record (or top-level key) starts: a read that
    takes the file far past the record limit without a mark in between means one
    value that yajl is holding whole, and is refused before it fills the memory.
    """

    def __init__(self, handle: BinaryIO, limits: Limits):
        self.handle = handle
        self.start = self.end = 0
        self.chunk = b""
        self.skipped = 0
        self.limits = limits
        self.marked = 0
        self.where = "(feed)"
        # what ``where`` names ("record", "value"), None once its size was reported
        self.what: str | None = "value"

    def mark(self, where: str, what: str = "value") -> None:
        self.marked = self.end
        self.where = where
        self.what = what

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if self.end == 0 and data.startswith(_BOM):
            # Spreadsheet exports put a byte-order mark before the JSON.
            data = data[len(_BOM) :]
            self.skipped = len(_BOM)
        self.start = self.end
        self.end += len(data)
        self.chunk = data
        # A record of many small values is caught by _value sooner (one chunk of slack);
        # this catches the one value too long to ever yield an event.
        if self.end - self.marked > self.limits.record_bytes + 3 * CHUNK:
            what = self.what and f"{self.what} larger than {self.limits.record_bytes} bytes"
            raise _Stop(self.where, what)
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
        # yajl counts the offending byte as read: point at it. A number too large
        # to hold is the exception: yajl points back at its first digit already.
        if offset and "overflow" not in reason:
            offset -= 1
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
# Bytes ijson reads at a time; the record size is measured to within one chunk.
CHUNK = 64 * 1024
# Nesting read past (outside a record, or in one refused) before reading stops.
SKIP_DEPTH = 1000
# What _value returns for a record refused for its depth or size.
_REFUSED = object()


def _events(source: _Source) -> Iterator[tuple[str, Any]]:
    # basic_parse, not parse/items: those carry the path of every event ("people.item.item…"),
    # one string per level, so a file of nested arrays took memory in the square of its depth.
    # use_float: yajl reads whole numbers as 64-bit integers and refuses longer ones as a
    # syntax error; without it every integer's digits go to Python, which refuses more
    # than 4300 of them in a way that leaves ijson's C parser broken (a crash, later).
    # No fraction is a valid value in the feed, so floats lose nothing that Decimal kept.
    return ijson.basic_parse(source, buf_size=CHUNK, use_float=True)


def _skip(events: Iterator, depth: int, source: _Source) -> None:
    """Read past ``depth`` open containers, building nothing."""
    while depth:
        event, _ = next(events)
        source.marked = source.end  # small values, however many: nothing is held
        if event in _OPEN:
            depth += 1
            if depth > SKIP_DEPTH:
                raise _Stop(source.where, f"nested over {SKIP_DEPTH} levels deep: reading stopped")
        elif event in _CLOSE:
            depth -= 1


def _place(where: str, slots: list) -> str:
    """``where`` and the path below it, up to the last key: ``policies[3].events``."""
    while slots and isinstance(slots[-1], int):
        slots = slots[:-1]  # a run of arrays in arrays is named by the key holding it
    return where + "".join(f"[{slot}]" if isinstance(slot, int) else f".{slot}" for slot in slots)


def _value(
    events: Iterator, event: str, value: Any, where: str, source: _Source, problems: Problems
) -> Any:
    """One record, built from its first event; _REFUSED if too deep or too large.

    A refused record is named in ``problems`` and the rest of it is read past, so
    the records after it are still checked. (The loop is the import's hot path:
    one turn per JSON token of the whole file.)
    """
    if event not in _OPEN:
        return value
    limits = source.limits
    bound = source.end + limits.record_bytes + CHUNK
    parent: Any = {} if event == "start_map" else []
    in_map = event == "start_map"
    # the open containers under ``parent``, and where each sits in its own: a key or an index
    stack: list = []
    key = None
    for event, value in events:
        if source.end > bound:
            problems.add(where, f"record larger than {limits.record_bytes} bytes")
            source.what = None
            _skip(events, len(stack) + 1, source)
            return _REFUSED
        if event == "map_key":
            key = value
        elif event == "end_map" or event == "end_array":
            if not stack:
                return parent
            parent, in_map, _ = stack.pop()
        elif event == "start_map" or event == "start_array":
            if len(stack) + 1 >= limits.depth:
                slots = [slot for *_, slot in stack]
                slots.append(key if in_map else len(parent))
                place = _place(where, slots)
                problems.add(place, f"nested too deeply (more than {limits.depth} levels)")
                _skip(events, len(stack) + 2, source)
                return _REFUSED
            child: Any = {} if event == "start_map" else []
            if in_map:
                parent[key] = child
                stack.append((parent, in_map, key))
            else:
                stack.append((parent, in_map, len(parent)))
                parent.append(child)
            parent, in_map = child, event == "start_map"
        elif in_map:
            parent[key] = value
        else:
            parent.append(value)
    return parent


def _records(
    events: Iterator, source: _Source, problems: Problems, sections: tuple[str, ...] = SECTIONS
) -> Iterator[tuple[str, int, Any]]:
    """(section, index, value) for every array item of ``sections``, in file order.

    Reading all sections reads the whole file (trailing garbage is a syntax error
    too); reading some, as writing a checked feed does, stops after the last of them.
    """
    event, _ = next(events)
    if event != "start_map":
        problems.add("(feed)", "must be one JSON object with people, policies and usage arrays")
        _skip(events, 1 if event in _OPEN else 0, source)
    else:
        yield from _sections(events, source, problems, sections)
    if sections == SECTIONS:
        for _ in events:
            pass


def _sections(events: Iterator, source: _Source, problems: Problems, sections: tuple[str, ...]):
    seen: set[str] = set()
    for event, key in events:
        if event == "end_map" or (sections != SECTIONS and seen.issuperset(sections)):
            break
        source.mark(key)
        event, _ = next(events)
        if key not in SECTIONS:
            problems.add(key, f"unknown key (expected one of: {', '.join(SECTIONS)})")
        elif key in seen:
            problems.add(key, "appears twice")
        elif event != "start_array":
            problems.add(key, "must be an array")
        elif key not in sections:
            seen.add(key)
        else:
            seen.add(key)
            # _value reads the rest of an item, so each turn of this loop is one item.
            for index, (event, value) in enumerate(events):
                if event == "end_array":
                    break
                where = f"{key}[{index}]"
                source.mark(where, "record")
                item = _value(events, event, value, where, source, problems)
                if item is not _REFUSED:
                    yield key, index, item
            continue
        _skip(events, 1 if event in _OPEN else 0, source)


def _read(
    path: str | Path, problems: Problems, limits: Limits, sections: tuple[str, ...] = SECTIONS
) -> Iterator[tuple[str, int, Any]]:
    """The records of the file; a syntax error or an overlong value ends the reading."""
    with _open(path) as handle:
        source = _Source(handle, limits)
        try:
            yield from _records(_events(source), source, problems, sections)
        except ijson.JSONError as exc:
            raise _syntax_error(path, exc, source) from None
        except _Stop as exc:
            if exc.message:
                problems.add(exc.where, exc.message)
            raise FeedError(problems.lines()) from None


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
    limits: Limits = Limits(),
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

    for section, index, value in _read(path, problems, limits):
        where = f"{section}[{index}]"
        if section == "people":
            record = check_person(value, where, problems, checked.numbers)
            if record is None:
                # Refused for another field, the person is still in the file: a reference
                # to them is not to an unknown person.
                person_id = value.get("id") if isinstance(value, dict) else None
                if isinstance(person_id, str) and person_id.strip() not in people:
                    people[person_id.strip()] = index
                    wanted.pop(person_id.strip(), None)
                continue
            if record.id in people:
                first = people[record.id]
                problems.add(f"{where}.id", f'duplicate id "{record.id}" (also people[{first}])')
                continue
            people[record.id] = index
            wanted.pop(record.id, None)
            checked.people += 1
        elif section == "policies":
            # References are followed even from a policy refused for another field.
            record = check_policy(value, where, problems, programme, refer)
            if record is None:
                continue
            if record.policy_no in policy_numbers:
                first = policy_numbers[record.policy_no]
                problems.add(
                    f"{where}.policy_no",
                    f'duplicate policy number "{record.policy_no}" (also policies[{first}])',
                )
                continue
            policy_numbers[record.policy_no] = index
            checked.policies += 1
            checked.events += len(record.events)
            if not record.applicable:
                checked.unknown_products[record.product] += 1
        else:
            record = check_use(value, where, problems, services, refer)
            if record is None:
                continue
            key = (record.insured_id, record.service, record.on)
            checked.usage[key] = checked.usage.get(key, 0) + record.count
            checked.usage_records += 1

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


def people(path: str | Path, checked: Checked, limits: Limits = Limits()) -> Iterator[PersonRecord]:
    """The people of a checked feed, for writing."""
    problems = Problems()
    for _, index, value in _read(path, problems, limits, ("people",)):
        record = check_person(value, f"people[{index}]", problems, checked.numbers)
        problems.raise_if_any()  # the file changed since it was checked
        yield record
    problems.raise_if_any()


def policies(
    path: str | Path, programme: Programme, limits: Limits = Limits()
) -> Iterator[PolicyRecord]:
    """The policies of a checked feed, for writing."""
    problems = Problems()
    for _, index, value in _read(path, problems, limits, ("policies",)):
        record = check_policy(value, f"policies[{index}]", problems, programme)
        problems.raise_if_any()
        yield record
    problems.raise_if_any()
