"""Phone numbers on file: parsed with ``phonenumbers`` (region CN), stored as E.164."""

from __future__ import annotations

import phonenumbers

from domain.exceptions import DomainError

DEFAULT_REGION = "CN"
# Callers key in the last six digits of the number on file.
SUFFIX_LENGTH = 6


class InvalidPhone(DomainError):
    pass


def to_e164(raw: str, region: str = DEFAULT_REGION, *, valid: bool = True) -> str:
    """Normalise any form ``phonenumbers`` understands; refuse what is not a real number.

    ``valid``: the number must be one the numbering plan assigns (``12345`` is a
    possible length in China, but no line has it), as every number kept on file or
    texted must be. ``valid=False`` takes any possible number, for caller IDs: the
    network vouches for those, and ``phonenumbers`` learns of new ranges only later.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone("must be a phone number")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone("not a possible phone number")
    if valid and not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def suffix(e164: str, length: int = SUFFIX_LENGTH) -> str:
    """The last digits of the national number, as a caller keys them in."""
    return "".join(ch for ch in e164 if ch.isdigit())[-length:]
