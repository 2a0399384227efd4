"""Masks personal data for screens and logs (张*明, 138****5678), and names said aloud (张某明)."""

from __future__ import annotations

import phonenumbers

NAME_SEPARATORS = "·•・. "
HIDDEN = "*"
# What a caller hears for each hidden character (SPEC §8): text-to-speech would
# read "*" as 星号 or skip it, and 张* would then sound like 张.
SPOKEN_HIDDEN = "某"


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
        out.append(ch if ch in NAME_SEPARATORS else HIDDEN)
    out.append(chars[-1] if keep_last else HIDDEN)
    return "".join(out)


def spoken_name(name: str | None) -> str:
    """The masked name as said aloud: 张某明, 欧某某娜, 张某; separators are not said.

    A masked name gives the same as the full one (``mask_name`` keeps a mask as it
    is), so the IVR, which keeps only masked names, says them the same way. Only
    letters and digits are kept besides 某: a separator such as · would be read out
    or skipped by text-to-speech, and a space is kept as the pause it is.
    """
    spoken = []
    for ch in mask_name(name):
        if ch == HIDDEN:
            spoken.append(SPOKEN_HIDDEN)
        elif ch.isalnum() or ch == " ":
            spoken.append(ch)
    return "".join(spoken).strip()


def mask_phone(number: str | None, region: str = "CN") -> str:
    """138****5678 for a mobile, 010****5678 for a landline (area code as dialled, last 4).

    Other numbers keep at most their first 3 and last 4 digits.
    """
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, region)
        digits = phonenumbers.national_significant_number(parsed)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in number if ch.isdigit())
    else:
        area = phonenumbers.length_of_geographical_area_code(parsed)
        if area and len(digits) - area > 4:
            # Agents know a landline by its area code with the trunk 0 (028, 0755);
            # the significant number alone would show 288***3456 for 028-8612 3456.
            national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            dialled = "".join(ch for ch in national if ch.isdigit())
            keep = len(dialled) - len(digits) + area
            return dialled[:keep] + "*" * (len(dialled) - keep - 4) + dialled[-4:]
    if len(digits) >= 10:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 5:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_phones_in(text: str, *known: str, region: str = "CN") -> str:
    """``text`` with phone numbers masked: for messages others wrote (Twilio's errors).

    Valid numbers are found wherever they are; ``known`` numbers (the one a request
    was about, valid or not) are masked as written there, in E.164 or national form.
    """
    for number in known:
        for form in sorted({number, number.removeprefix("+86")} - {""}, key=len, reverse=True):
            text = text.replace(form, mask_phone(number, region))
    if not any(ch.isdigit() for ch in text):
        return text
    out, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
        out.append(text[last : match.start])
        out.append(mask_phone(match.raw_string, region))
        last = match.end
    out.append(text[last:])
    return "".join(out)
