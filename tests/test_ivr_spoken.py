"""Numbers as a caller hears them: telephone numbers digit by digit, places in a list in words."""

from __future__ import annotations

import pytest
from domain_fixtures import loaded

from ivr.spoken import spoken_digits, spoken_number

SPEECH = loaded().call_flow.speech


@pytest.mark.parametrize(
    ("number", "said"),
    [
        ("4006-058-056", "四零零六，零五八，零五六"),
        ("028-96555", "零二八，九六五五五"),
        ("5678", "五六七八"),
        ("0101", "零幺零幺"),
    ],
)
def test_a_telephone_number_is_said_digit_by_digit_in_its_groups(number, said):
    assert spoken_digits(SPEECH, number) == said


@pytest.mark.parametrize(
    ("n", "said"), [(1, "一"), (2, "二"), (10, "十"), (12, "十二"), (20, "二十"), (99, "九十九")]
)
def test_a_place_in_a_list_is_said_in_chinese_numerals(n, said):
    assert spoken_number(n) == said
