"""Does a spoken name (speech recognition text) name the policyholder on file?

SPEC §4 step 2: the same characters, else the same toneless pinyin, ignoring
spaces, punctuation and ``·``. Speech recognition writes what it hears, so a
caller named 章伟 is usually transcribed 张伟 and a surname read by its
surname reading (单 shàn, 曾 zēng) may come back as any character with that
sound. A name therefore matches when, character by character, some reading of
the spoken character is a reading of the one on file; the surname counts every
reading it has as a surname.

Pure functions only: no I/O, results cached by name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin

# Surnames read differently from the same character in ordinary words, so that a
# dictionary's readings might lack them; compound surnames first.
SURNAME_READINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "尉迟": (("yu",), ("chi",)),
    "万俟": (("mo",), ("qi",)),
    "长孙": (("zhang",), ("sun",)),
    "澹台": (("tan",), ("tai",)),
    "单于": (("chan",), ("yu",)),
    "单": (("shan",),),
    "曾": (("zeng",),),
    "解": (("xie",),),
    "区": (("ou",),),
    "仇": (("qiu",),),
    "查": (("zha",),),
    "朴": (("piao",),),
    "盖": (("ge",),),
    "乐": (("yue",),),
    "覃": (("qin",),),
    "召": (("shao",),),
    "缪": (("miao",),),
    "员": (("yun",),),
    "种": (("chong",),),
    "繁": (("po",),),
    "秘": (("bi",),),
    "隗": (("wei",),),
    "那": (("na",),),
    "晟": (("sheng",),),
}
COMPOUND_SURNAMES = tuple(s for s in SURNAME_READINGS if len(s) > 1)
# What callers put before a name ("我叫张伟"); stripped only if a name remains.
DEFAULT_PREFIXES = (
    "投保人的姓名是",
    "投保人姓名是",
    "投保人的名字是",
    "投保人名字是",
    "投保人是",
    "投保人叫",
    "姓名是",
    "名字是",
    "我的名字是",
    "我的名字叫",
    "我叫",
    "我是",
    "他叫",
    "她叫",
)

Readings = tuple[frozenset[str], ...]


def normalise(text: str | None) -> str:
    """Letters only: NFKC, without spaces, punctuation, ``·`` or the trailing 。 of ASR text.

    Latin letters are case-folded so an ASR's "E" and "e" are one letter.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalpha())


def spoken_name(text: str | None, prefixes: Iterable[str] = DEFAULT_PREFIXES) -> str:
    """The name in what the caller said: normalised, a leading "我叫" or the like removed."""
    name = normalise(text)
    for prefix in sorted(prefixes, key=len, reverse=True):
        prefix = normalise(prefix)
        if prefix and name.startswith(prefix) and len(name) - len(prefix) >= 2:
            return name[len(prefix) :]
    return name


@lru_cache(maxsize=4096)
def _char_readings(ch: str) -> frozenset[str]:
    if not _is_han(ch):
        return frozenset({ch})
    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="default")
    return frozenset(r for group in readings for r in group if r)


def _is_han(ch: str) -> bool:
    return (
        "\u3400" <= ch <= "\u9fff"
        or "\U00020000" <= ch <= "\U0003134f"
        or "\uf900" <= ch <= "\ufaff"
    )


@lru_cache(maxsize=4096)
def readings(name: str) -> Readings:
    """Every toneless reading of each character of a normalised name.

    The reading in context (``lazy_pinyin``), each character's own readings, and
    for the surname its readings as a surname.
    """
    if not name:
        return ()
    contextual = lazy_pinyin(name, style=Style.NORMAL, errors=lambda chars: list(chars))
    if len(contextual) != len(name):  # a dictionary phrase read as one item; per character then
        contextual = [lazy_pinyin(ch, style=Style.NORMAL)[0] if _is_han(ch) else ch for ch in name]
    out = [set(_char_readings(ch)) | {contextual[i]} for i, ch in enumerate(name)]
    surname = next((s for s in COMPOUND_SURNAMES if name.startswith(s)), name[0])
    for i, extra in enumerate(SURNAME_READINGS.get(surname, ())):
        out[i].update(extra)
    return tuple(frozenset(r) for r in out)


def sounds_alike(spoken: str, on_file: str) -> bool:
    """Both normalised: the same characters, or a common reading at every position."""
    if not spoken or not on_file:
        return False
    if spoken == on_file:
        return True
    if len(spoken) != len(on_file):
        return False
    return all(a & b for a, b in zip(readings(spoken), readings(on_file), strict=True))


def matches(spoken: str | None, on_file: str | None) -> bool:
    """Does what the caller said name the person on file?"""
    return sounds_alike(spoken_name(spoken), normalise(on_file))


def matching(spoken: str | None, people: Sequence[tuple[str, str]]) -> list[str]:
    """Ids of the (id, name) pairs the spoken name fits, each once, in the given order.

    More than one is ambiguous: the same sound cannot tell 张伟 from 章伟, so a
    caller whose characters happen to equal one of them is not preferred.
    """
    said = spoken_name(spoken)
    out: list[str] = []
    for person_id, name in people:
        if person_id not in out and sounds_alike(said, normalise(name)):
            out.append(person_id)
    return out
