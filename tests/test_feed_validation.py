"""`hotline import` refuses a bad feed whole, naming every bad record and field."""

from __future__ import annotations

import json

import pytest
from feeds import feed, person, policy
from sqlalchemy import func, select

from storage import db
from storage.models import Person, Policy

PHONE = "+8613900000001"


def problems(result) -> list[str]:
    """The problem lines a refused import printed on stderr."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert "refused, nothing was written" in lines[0]
    return [line.strip() for line in lines[1:]]


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("value", [0, -5, "300000", 300000.5, True, None], ids=repr)
def test_a_sum_insured_that_is_not_a_positive_whole_number_is_refused(import_feed, value):
    doc = feed([person("P1", "张伟", PHONE)], [policy("A001"), policy("A002", sum_insured=value)])
    assert problems(import_feed(doc)) == [
        "policies[1].sum_insured: must be a positive whole number"
    ]


def test_a_phone_number_that_does_not_parse_is_named_by_person_and_position(import_feed):
    doc = feed(
        [
            person("P1", "张伟", PHONE),
            person("P2", "张伟", PHONE),
            person("P3", "张伟", "+8613900000003", "12ab"),
        ]
    )
    (line,) = problems(import_feed(doc))
    assert line.startswith("people[2].phones[1]: not a phone number (")


def test_an_impossible_phone_number_is_refused_and_shown_masked(import_feed):
    doc = feed([person("P1", "张伟", "+86 139 0000 00012345")])
    (line,) = problems(import_feed(doc))
    assert line.startswith("people[0].phones[0]: not a possible phone number")
    assert "00012345" not in line  # masked: personal data never printed whole


def test_a_policy_of_an_unknown_holder_is_refused(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)], [policy("A001"), policy("A002"), policy("A003", holder="P9")]
    )
    assert problems(import_feed(doc)) == ['policies[2].holder_id: unknown person "P9"']


def test_repeated_references_to_one_unknown_person_are_reported_once_with_a_count(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)], [policy("A001", "P9", "P1"), policy("A002", "P9", "P1")]
    )
    assert problems(import_feed(doc)) == [
        'policies[0].insured_id: unknown person "P9" (and 1 more reference)'
    ]


def test_usage_of_an_unknown_service_or_person_is_refused(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)],
        [policy()],
        [
            {"insured_id": "P1", "service": "outpatient_booking", "date": "2026-01-01"},
            {"insured_id": "P1", "service": "xyz", "date": "2026-01-01", "count": 1},
            {"insured_id": "P7", "service": "escort", "date": "2026-01-01", "count": 1},
        ],
    )
    assert problems(import_feed(doc)) == [
        'usage[1].service: unknown service "xyz"',
        'usage[2].insured_id: unknown person "P7"',
    ]


@pytest.mark.parametrize("value", ["2026-02-30", "2026/02/01", "20260201", 20260201, ""])
def test_an_event_date_that_is_not_an_iso_date_is_refused(import_feed, value):
    events = [{"date": "2025-06-01", "sum_insured": 400000}, {"date": value, "status": "lapsed"}]
    doc = feed([person("P1", "张伟", PHONE)], [policy(events=events)])
    assert problems(import_feed(doc)) == [
        "policies[0].events[1].date: must be an ISO date (YYYY-MM-DD)"
    ]


def test_duplicate_person_ids_and_policy_numbers_are_refused(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE), person("P2", "张伟", PHONE), person("P1", "李娜", PHONE)],
        [policy("A001"), policy("A001", "P2", "P1")],
    )
    assert problems(import_feed(doc)) == [
        'people[2].id: duplicate id "P1" (also people[0])',
        'policies[1].policy_no: duplicate policy number "A001" (also policies[0])',
    ]


def test_unknown_keys_are_refused_at_every_level(import_feed):
    doc = feed(
        [{**person("P1", "张伟", PHONE), "email": "x@example.com"}],
        [policy(events=[{"date": "2025-06-01", "status": "lapsed", "reason": "unpaid"}])],
        [{"insured_id": "P1", "service": "escort", "date": "2026-01-01", "when": "am"}],
    )
    doc["agents"] = []
    assert problems(import_feed(doc)) == [
        "people[0].email: unknown key (expected one of: id, name, phones)",
        "policies[0].events[0].reason: unknown key (expected one of: date, sum_insured, status)",
        "usage[0].when: unknown key (expected one of: insured_id, service, date, count)",
        "agents: unknown key (expected one of: people, policies, usage)",
    ]


def test_status_values_outside_the_spec_are_refused(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)],
        [policy(status="active", events=[{"date": "2025-06-01", "status": "cancelled"}])],
    )
    statuses = "in_force, suspended, terminated, surrendered, lapsed"
    assert problems(import_feed(doc)) == [
        f"policies[0].status: must be one of: {statuses}",
        f"policies[0].events[0].status: must be one of: {statuses}",
    ]


def test_an_event_that_changes_nothing_is_refused(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)],
        [policy(events=[{"date": "2025-06-01", "sum_insured": None}])],
    )
    assert problems(import_feed(doc)) == [
        "policies[0].events[0]: an event must change sum_insured or status (or both)"
    ]


def test_missing_fields_and_wrong_shapes_are_named(import_feed):
    incomplete = policy()
    del incomplete["cooling_off_end"]
    doc = {
        "people": [
            person("P1", "张伟", PHONE),
            "P2",
            {"id": "", "name": "李娜", "phones": "13900000002"},
        ],
        "policies": [incomplete],
        "usage": {"insured_id": "P1"},
    }
    assert problems(import_feed(doc)) == [
        "people[1]: must be an object",
        "people[2].id: must be a non-empty string",
        "people[2].phones: must be an array",
        "policies[0].cooling_off_end: is required",
        "usage: must be an array",
    ]


def test_a_feed_that_is_not_one_object_is_refused(import_feed):
    assert problems(import_feed([person("P1", "张伟", PHONE)])) == [
        "(feed): must be one JSON object with people, policies and usage arrays"
    ]


def test_a_section_given_twice_is_refused(import_feed):
    text = '{"people": [], "policies": [], "people": []}'
    assert problems(import_feed(text)) == ["people: appears twice"]


def test_malformed_json_is_reported_with_its_byte_position_line_and_column(import_feed):
    good = json.dumps(
        feed([person("P1", "张伟", PHONE), person("P2", "张伟", PHONE)]),
        ensure_ascii=False,
        indent=1,
    )
    # Break the second person's id: an unquoted key where a string must be.
    broken = good.replace('"id": "P2"', 'id: "P2"')
    before = broken[: broken.index('id: "P2"')]
    offset = len(before.encode("utf-8"))
    line = before.count("\n") + 1
    column = offset - before.encode("utf-8").rindex(b"\n")
    (message,) = problems(import_feed(broken))
    assert message == (
        f"malformed JSON at byte {offset} (line {line}, column {column}): "
        "lexical error: invalid char in json text."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "the file ends before the JSON does"),
        (b'{"people": [', "the file ends before the JSON does"),
        (b'{"people": []} trailing', "trailing garbage"),
        (b'{"people": [{"id": "P1", "name": "\xff"}]}', "UTF8"),
    ],
    ids=["empty", "truncated", "trailing", "not-utf8"],
)
def test_a_file_that_is_not_json_is_refused_with_the_reason(import_feed, raw, expected):
    (message,) = problems(import_feed(raw))
    assert message.startswith("malformed JSON ")
    assert expected in message


def test_a_byte_order_mark_before_the_json_is_accepted(app, import_feed):
    raw = b"\xef\xbb\xbf" + json.dumps(feed([person("P1", "张伟", PHONE)], [policy()])).encode()
    result = import_feed(raw)
    assert result.exit_code == 0, result.output
    assert count(app, Policy) == 1


def test_the_list_of_problems_is_capped_with_a_count_of_the_rest(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)], [policy(f"A{i:03}", sum_insured=-1) for i in range(60)]
    )
    lines = problems(import_feed(doc))
    assert len(lines) == 51
    assert lines[0] == "policies[0].sum_insured: must be a positive whole number"
    assert lines[-1] == "… and 10 more"


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["import", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_people_may_come_after_the_policies_that_name_them(app, import_feed):
    doc = {"usage": [], "policies": [policy()], "people": [person("P1", "张伟", PHONE)]}
    result = import_feed(doc)
    assert result.exit_code == 0, result.output
    assert count(app, Policy) == 1


def test_policies_may_name_people_stored_by_an_earlier_feed(app, import_feed):
    assert import_feed(feed([person("P1", "张伟", PHONE), person("P2", "张伟")])).exit_code == 0
    result = import_feed({"policies": [policy(holder="P1", insured="P2")]})
    assert result.exit_code == 0, result.output
    assert count(app, Policy) == 1


def test_a_refused_feed_writes_nothing(app, import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE), person("P2", "张伟", PHONE)],
        [policy("A001"), policy("A002", holder="P9")],
    )
    problems(import_feed(doc))
    assert count(app, Person) == 0
    assert count(app, Policy) == 0


@pytest.mark.parametrize("raw", ["12345", "+86 12345", "10086123", "+8619912"], ids=repr)
def test_a_number_no_line_has_is_refused_though_its_length_is_possible(import_feed, raw):
    (line,) = problems(import_feed(feed([person("P1", "张伟", raw)])))
    assert line.startswith("people[0].phones[0]: not a valid phone number (")


def test_reference_errors_are_listed_with_the_field_errors_of_the_same_record(import_feed):
    doc = feed(
        [person("P1", "张伟", PHONE)],
        [policy("A001", holder="P9", sum_insured=0)],
        [{"insured_id": "P7", "service": "xyz", "date": "2026-01-01"}],
    )
    assert problems(import_feed(doc)) == [
        "policies[0].sum_insured: must be a positive whole number",
        'usage[0].service: unknown service "xyz"',
        'policies[0].holder_id: unknown person "P9"',
        'usage[0].insured_id: unknown person "P7"',
    ]


def test_a_person_refused_for_a_field_is_not_also_reported_as_unknown(import_feed):
    doc = feed([person("P1", "张伟", "12ab")], [policy("A001")])
    (line,) = problems(import_feed(doc))
    assert line.startswith("people[0].phones[0]: not a phone number")
