"""Masks personal data for screens and logs (张*明, 138****5678)."""

from __future__ import annotations

import phonenumbers

NAME_SEPARATORS = "·•・. "


def mask_name(name: str | None) -> str:
    """Keep the first and last character: 张*明, 欧**明, 张*; separators such as · stay."""
    if not name:
        return ""
    chars = list(name.strip())
    if len(chars) <= 1:
        return "*"
    keep_last = len(chars) >= 3
    out = [chars[0]]
    for ch in chars[1:-1]:
        out.append(ch if ch in NAME_SEPARATORS else "*")
    out.append(chars[-1] if keep_last else "*")
    return "".join(out)


def mask_phone(number: str | None, region: str = "CN") -> str:
    """138****5678 for a mobile; other numbers keep at most their first 3 and last 4 digits."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, region)
        digits = phonenumbers.national_significant_number(parsed)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) >= 10:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 5:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)
