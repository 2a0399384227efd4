"""Caller IDs as Twilio sends them: a real number in E.164, or withheld (None).

Withheld numbers arrive as words or as their keypad spellings; one of them
(+86282452253, UNAVAILABLE) even parses as a Chinese number, so they are
recognised before ``phonenumbers`` sees them.
"""

from __future__ import annotations

from functools import lru_cache

from domain.phones import InvalidPhone, to_e164

WITHHELD = frozenset(
    {
        "",
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "unavailable",
        "blocked",
        "+266696687",  # ANONYMOUS
        "+7378742833",  # RESTRICTED
        "+86282452253",  # UNAVAILABLE
        "+2562533",  # BLOCKED
        "+8656696",  # UNKNOWN
    }
)


# Each of a call's webhooks carries the same From: parsing it (``phonenumbers``) was a
# few per cent of a webhook's CPU. Bounded: a worker sees thousands of calls a day.
@lru_cache(maxsize=4096)
def caller_number(raw: str | None) -> str | None:
    """The caller's number in E.164, or None when withheld or not a phone number."""
    if raw is None:
        return None
    text = raw.strip()
    if text.casefold() in WITHHELD or text.startswith(("client:", "sip:")):
        return None
    try:
        return to_e164(text, valid=False)
    except InvalidPhone:
        return None
