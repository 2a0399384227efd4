"""What may be handed to text-to-speech: words a caller hears as words (SPEC §8).

The call flow's messages, menu labels and the names they are filled with are
checked with ``symbols`` when the flows load; the tests walk the whole flow and
check every ``<Say>`` the same way.
"""

from __future__ import annotations

import re

# Punctuation a Mandarin voice (Polly Zhiyu, Google cmn) turns into a pause and
# never into a word: the Chinese full stop, comma, enumeration comma, semicolon,
# colon, question and exclamation marks, their ASCII forms, and the space.
# Everything else that is neither a letter nor a digit is either read aloud (* as
# 星号, # as 井号, / as 斜杠 or "slash", + as 加, % as 百分号, - as 杠 or 减)
# or skipped, so that 门诊/住院交通 or 张*伟 is not what the caller hears:
# brackets, quotes, dashes and the middle dot · included. Say such things in words
# (门诊或住院交通, 星号键, 张某伟).
PAUSES = frozenset("，。、；：？！,.;:?! ")
# A key written out in a message ("请按0", "按#"): keys are said from the key map
# through a {key} placeholder, so that a key is said one way and means one thing.
SPELT_KEY = re.compile(r"按\s*([0-9０-９*#＊＃]|星号|井号)")


def symbols(text: str) -> list[str]:
    """The characters of ``text`` a voice would read out as a symbol or skip, each once."""
    found: list[str] = []
    for ch in text:
        if not (ch.isalnum() or ch in PAUSES) and ch not in found:
            found.append(ch)
    return found


def spelt_key(text: str) -> str | None:
    """A key written into ``text`` instead of given as ``{key}``, if any ("按0")."""
    found = SPELT_KEY.search(text)
    return found.group(0) if found else None
