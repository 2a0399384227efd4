"""`hotline import` of a hostile or broken file: bounded memory, every problem named by place."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from feeds import feed, person, policy
from test_feed_validation import PHONE, count, problems

from services import defaults
from services.feed import SKIP_DEPTH
from storage.models import Person

LIMIT = defaults.FEED_MAX_RECORD_BYTES
DEPTH = defaults.FEED_MAX_DEPTH
# Far more than `hotline import` needs (about 150 MB), far less than the old reader took
# for the file below (22.8 GB: every event carried its path, one string per level).
ADDRESS_SPACE = 768 << 20


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_a_small_file_of_deeply_nested_arrays_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "nested.json"
    path.write_bytes(b'{"people": [' + nested(100_000) + b"]}")  # 200 KB
    assert path.stat().st_size < 210_000

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    result = subprocess.run(
        [str(Path(sys.executable).parent / "hotline"), "import", str(path)],
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"},
        preexec_fn=cap_memory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "MemoryError" not in result.stderr
    assert f"people[0]: nested too deeply (more than {DEPTH} levels)" in result.stderr
    assert f"people[0]: nested over {SKIP_DEPTH} levels deep: reading stopped" in result.stderr


def test_nesting_deeper_than_a_record_needs_is_named_by_its_place(import_feed):
    deep = json.loads(nested(DEPTH + 5))
    doc = feed(
        [person("P1", "张伟", PHONE)],
        [policy("A001"), policy("A002"), policy("A003"), policy("A004", events=[deep])],
    )
    doc["policies"].append(policy("A005", sum_insured=-1))
    assert problems(import_feed(doc)) == [
        f"policies[3].events: nested too deeply (more than {DEPTH} levels)",
        "policies[4].sum_insured: must be a positive whole number",
    ]


def test_a_deep_value_under_a_key_is_named_by_that_key(import_feed):
    deep = json.loads(nested(DEPTH))
    events = [{"date": "2025-06-01", "status": "lapsed"}, {"date": deep, "status": "lapsed"}]
    doc = feed([person("P1", "张伟", PHONE)], [policy(events=events)])
    assert problems(import_feed(doc)) == [
        f"policies[0].events[1].date: nested too deeply (more than {DEPTH} levels)"
    ]


def test_a_value_of_the_wrong_shape_within_the_depth_is_named_as_such(import_feed):
    doc = feed([person("P1", [["张伟"]], PHONE)])
    assert problems(import_feed(doc)) == ["people[0].name: must be a non-empty string"]


def test_nesting_outside_the_sections_is_read_past_without_building_it(import_feed):
    raw = b'{"extra": ' + nested(SKIP_DEPTH) + b', "policies": [{"policy_no": "A1"}]}'
    lines = problems(import_feed(raw))
    assert lines[0] == "extra: unknown key (expected one of: people, policies, usage)"
    assert lines[1] == "policies[0].product: is required"


def test_nesting_past_a_thousand_levels_stops_the_reading_where_it_is(import_feed):
    # yajl keeps a byte per open bracket: a file of brackets is not read to its end.
    raw = b'{"people": [], "extra": ' + nested(50_000) + b', "policies": [{}]}'
    assert problems(import_feed(raw)) == [
        "extra: unknown key (expected one of: people, policies, usage)",
        f"extra: nested over {SKIP_DEPTH} levels deep: reading stopped",
    ]


def test_a_record_larger_than_the_limit_is_refused_and_the_next_ones_still_checked(import_feed):
    phones = [f"+86139{i:08d}" for i in range(LIMIT // 16)]
    doc = feed(
        [person("P1", "张伟", PHONE), person("P2", "张伟", *phones), person("P3", "张伟", "12ab")]
    )
    lines = problems(import_feed(doc))
    assert lines[0] == f"people[1]: record larger than {LIMIT} bytes"
    assert lines[1].startswith("people[2].phones[0]: not a phone number")
    assert len(lines) == 2


def test_one_value_longer_than_a_record_may_be_stops_the_reading_at_its_record(import_feed):
    doc = feed([person("P1", "张伟", PHONE), person("P2", "张" * LIMIT, PHONE)])
    assert problems(import_feed(doc)) == [f"people[1]: record larger than {LIMIT} bytes"]


def test_an_overlong_value_outside_the_sections_is_named_by_its_key(import_feed):
    raw = b'{"people": [], "note": "' + b"x" * (2 * LIMIT) + b'"}'
    lines = problems(import_feed(raw))
    assert lines[-1] == f"note: value larger than {LIMIT} bytes"


def test_a_whole_number_longer_than_64_bits_is_malformed_json_at_its_byte(import_feed):
    before = b'{"people": [{"id": "P1", "name": "x", "phones": ['
    (line,) = problems(import_feed(before + b"9" * 5000 + b"]}]}"))
    at = len(before)  # the number's first digit
    assert line.startswith(f"malformed JSON at byte {at} (line 1, column {at + 1})")
    assert "integer overflow" in line


@pytest.mark.parametrize(
    "name", ["张\x00伟", "张伟\n李娜", "张\x1b[31m伟", "张\u2028伟", "张\x85伟"], ids=repr
)
def test_control_characters_in_a_name_are_refused_with_the_records_index(app, import_feed, name):
    doc = feed([person("P1", "张伟", PHONE), person("P2", name, PHONE)])
    assert problems(import_feed(doc)) == [
        "people[1].name: must not contain control characters (NUL, line breaks, …)"
    ]
    assert count(app, Person) == 0


def test_a_nul_in_an_id_or_a_product_is_refused_before_the_database_sees_it(app, import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)],
        [policy("A\x00001"), policy("A002", product="国宝人寿\x00巴适一生终身重大疾病保险")],
    )
    assert problems(import_feed(doc)) == [
        "policies[0].policy_no: must not contain control characters (NUL, line breaks, …)",
        "policies[1].product: must not contain control characters (NUL, line breaks, …)",
    ]


def test_surrounding_line_breaks_are_trimmed_like_spaces(app, import_feed):
    result = import_feed(feed([person("P1", "张伟\r\n", PHONE)]))
    assert result.exit_code == 0, result.output


def test_control_characters_quoted_from_the_file_are_printed_escaped(import_feed):
    raw = '{"people": [{"id": "P1", "name": "张伟", "phones": [], "x\\u001b[2J": 1}]}'
    (line,) = problems(import_feed(raw))
    assert line.startswith("people[0].x\\u001b[2J: unknown key")
