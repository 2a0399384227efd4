"""Dates in feeds, query strings and forms are YYYY-MM-DD, strictly."""

from __future__ import annotations

from datetime import date

import pytest

from domain.dates import iso_date


def test_a_dashed_calendar_date_is_read():
    assert iso_date("2024-02-29") == date(2024, 2, 29)


@pytest.mark.parametrize(
    "value",
    [
        "20240229",
        "2024-W09-4",
        "2023-02-29",
        "2024-2-29",
        " 2024-02-29",
        "2024-02-29T00",
        "",
        None,
        20240229,
    ],
)
def test_anything_else_is_not_a_date(value):
    assert iso_date(value) is None
