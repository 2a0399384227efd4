"""Personal data masked for screens and logs (张*明, 138****5678), and names said aloud (张某明)."""

from __future__ import annotations

import pytest

from domain.masking import mask_name, mask_phone, mask_phones_in, spoken_name


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张明", "张*"),
        ("张三明", "张*明"),
        ("欧阳娜娜", "欧**娜"),
        ("司马相如", "司**如"),
        ("买买提·艾力", "买**·*力"),
        ("阿卜杜·热合曼·买买提", "阿**·***·**提"),
        ("  李四  ", "李*"),
        ("张", "*"),
    ],
)
def test_a_name_keeps_its_first_and_last_character_and_its_separators(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("name", ["", None])
def test_no_name_masks_to_nothing(name):
    assert mask_name(name) == ""


@pytest.mark.parametrize("name", ["张三明", "欧阳娜娜", "买买提·艾力"])
def test_a_masked_name_hides_every_inner_character(name):
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert all(ch in "*·" for ch in masked[1:-1])


@pytest.mark.parametrize(
    ("name", "spoken"),
    [
        ("张明", "张某"),
        ("张三明", "张某明"),
        ("欧阳娜娜", "欧某某娜"),
        ("买买提·艾力", "买某某某力"),
        ("张", "某"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_name_is_said_masked_with_mou_for_each_hidden_character(name, spoken):
    assert spoken_name(name) == spoken


@pytest.mark.parametrize("name", ["张明", "张三明", "欧阳娜娜", "阿卜杜·热合曼·买买提"])
def test_a_masked_name_is_said_as_its_full_name_would_be(name):
    # The IVR keeps only masked names, and says them the same way.
    assert spoken_name(mask_name(name)) == spoken_name(name)
    assert "*" not in spoken_name(name) and "·" not in spoken_name(name)


@pytest.mark.parametrize(
    "number",
    ["+8613812345678", "13812345678", "138 1234 5678", "+86 138-1234-5678", "008613812345678"],
)
def test_a_mobile_shows_its_first_three_and_last_four_digits(number):
    assert mask_phone(number) == "138****5678"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("010-12345678", "010****5678"),
        ("(028) 8612 3456", "028****3456"),
        ("+86 28 8612 3456", "028****3456"),
        ("0755-8888 1234", "0755****1234"),
    ],
)
def test_a_landline_shows_its_area_code_and_last_four_digits(number, masked):
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("028-96555", "***6555"),  # a short service number: only the last four
        ("12345", "*2345"),
        ("1234", "****"),
        ("+1 415 555 0123", "415***0123"),
    ],
)
def test_other_numbers_show_at_most_their_last_four_digits_after_a_prefix(number, masked):
    assert mask_phone(number) == masked


@pytest.mark.parametrize("number", ["", None, "no digits"])
def test_no_number_masks_to_nothing(number):
    assert mask_phone(number) == ""


@pytest.mark.parametrize(
    "number", ["+8613812345678", "010-12345678", "0755-8888 1234", "+1 415 555 0123"]
)
def test_a_masked_number_never_reveals_more_than_seven_significant_digits(number):
    masked = mask_phone(number)
    # A landline's trunk 0 is shown but tells nothing about the number.
    assert sum(ch.isdigit() for ch in masked.removeprefix("0")) <= 7
    assert "*" in masked


def test_numbers_in_someone_elses_message_are_masked_and_nothing_else():
    text = (
        "The 'To' number +8613812345678 is not valid; 010-6000 0001 neither; "
        "job hotline-callback-1-0-1773187200 at 2026-03-11T00:00:00, error 21211"
    )
    assert mask_phones_in(text) == (
        "The 'To' number 138****5678 is not valid; 010****0001 neither; "
        "job hotline-callback-1-0-1773187200 at 2026-03-11T00:00:00, error 21211"
    )


def test_a_known_number_is_masked_even_where_it_is_not_a_valid_one():
    assert mask_phones_in("The 'To' number +8612345 is not valid", "+8612345") == (
        "The 'To' number *2345 is not valid"
    )
    assert mask_phones_in("number 12345 refused", "+8612345") == "number *2345 refused"
