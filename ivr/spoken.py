"""Dates, times and opening hours as the caller hears them, from ``[speech]`` in the call flow."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from domain.hours import Line


def spoken_date(speech: Mapping[str, str], day: date) -> str:
    return speech["date"].format(year=day.year, month=day.month, day=day.day)


def spoken_time(speech: Mapping[str, str], at: time) -> str:
    if at == time.max:
        return speech["hour"].format(hour=24)
    if at.minute:
        return speech["hour_minute"].format(hour=at.hour, minute=at.minute)
    return speech["hour"].format(hour=at.hour)


def spoken_moment(speech: Mapping[str, str], at: datetime, now: datetime) -> str:
    """今天8点, 明天9点, or the date: how a caller is told when something will happen."""
    if at.date() == now.date():
        day = speech["today"]
    elif at.date() == now.date() + timedelta(days=1):
        day = speech["tomorrow"]
    else:
        day = spoken_date(speech, at.date())
    return day + spoken_time(speech, at.time())


def spoken_hours(speech: Mapping[str, str], line: Line, now: datetime) -> str:
    """The line's hours on the day it next serves: "8点至22点"."""
    day = now.date()
    intervals = line.intervals_on(day)
    if not intervals or (line.closes_at(now) is None and line.next_opening(now) is not None):
        opening = line.next_opening(now)
        if opening is not None:
            intervals = line.intervals_on(opening.date())
    return "、".join(
        speech["range"].format(start=spoken_time(speech, start), end=spoken_time(speech, end))
        for start, end in intervals
    )


# Chinese numerals: how a count or a place in a list is said (第二位).
NUMERALS = "零一二三四五六七八九"


def spoken_number(n: int) -> str:
    """一, 十二, 二十, 九十九; larger numbers as digits (a voice reads them well enough)."""
    if not 0 <= n < 100:
        return str(n)
    tens, units = divmod(n, 10)
    if tens == 0:
        return NUMERALS[units]
    return (NUMERALS[tens] if tens > 1 else "") + "十" + (NUMERALS[units] if units else "")


def spoken_digits(speech: Mapping[str, str], number: str) -> str:
    """A telephone number digit by digit, its groups apart: 4006-058-056 → 四零零六，零五八，零五六.

    Written as digits, a voice would read 5678 as 五千六百七十八 and - as 杠.
    """
    words = speech["phone_digits"]
    groups = [g for g in number.replace("-", " ").split() if g]
    return "，".join("".join(words[int(d)] if d.isdigit() else d for d in g) for g in groups)
