"""Which menu option a caller meant, from a key or from recognised speech.

Speech matches an option when one of its words is in what was heard, by
characters or by toneless pinyin (speech recognition writes homophones); a
spoken digit ("一", "按1") is its key. Two options heard at once are no answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from domain.names import normalise

SPOKEN_KEYS = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "星号": "*",
    "井号": "#",
}
PREFIXES = ("请按", "按")
SUFFIXES = ("号键", "键", "号")


def spoken_key(text: str | None) -> str | None:
    """The key a caller said ("一", "按 1", "1号", "按星号"), or None."""
    said = normalise_digits(text)
    forms = {said}
    for prefix in PREFIXES:
        if said.startswith(prefix):
            forms.add(said[len(prefix) :])
    for form in list(forms):
        for suffix in SUFFIXES:
            if form.endswith(suffix):
                forms.add(form[: -len(suffix)])
    for form in forms:
        if len(form) == 1 and form in "0123456789*#":
            return form
        if form in SPOKEN_KEYS:
            return SPOKEN_KEYS[form]
    return None


def normalise_digits(text: str | None) -> str:
    # normalise() keeps letters only; digits and * # must survive here.
    if not text:
        return ""
    return "".join(ch for ch in text if ch.isalnum() or ch in "*#").casefold()


@lru_cache(maxsize=4096)
def _sound(text: str) -> str:
    return " ".join(lazy_pinyin(text, style=Style.NORMAL)) + " "


def heard(text: str | None, options: Iterable[tuple[str, Iterable[str]]]) -> str | None:
    """The key of the one option whose words were heard; longest word wins, ties are None."""
    said = normalise(text)
    if not said:
        return None
    for match in (lambda w: w in said, lambda w: " " + _sound(w) in " " + _sound(said)):
        best: dict[str, int] = {}
        for key, words in options:
            for word in words:
                word = normalise(word)
                if word and match(word):
                    best[key] = max(best.get(key, 0), len(word))
        if best:
            top = max(best.values())
            winners = [key for key, length in best.items() if length == top]
            return winners[0] if len(winners) == 1 else None
    return None
