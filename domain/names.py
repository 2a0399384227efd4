"""Chinese names compared by characters or by sound: the rule the IVR and the desk's search share.

SPEC §4 step 2: the same characters, else the same toneless pinyin, ignoring
spaces, punctuation and ``·``. Speech recognition writes what it hears, so a
caller named 章伟 is usually transcribed 张伟 and a surname read by its
surname reading (单 shàn, 曾 zēng) may come back as any character with that
sound. A name therefore matches when, character by character, some reading of
the one character is a reading of the other; the surname counts every reading
it has as a surname.

For looking people up among a million, a name also has *keys* that an index can
hold: ``name_key`` (its letters) and ``pinyin_key`` (one toneless spelling: the
surname's reading as a surname, the given name as read in context). A query in
characters is looked up by every spelling it may have (``pinyin_keys``), a query
in Latin letters by its own spelling (``latin_key``).

Pure functions only: no I/O, results cached by name.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin

# Surnames read differently from the same character in ordinary words, so that a
# dictionary's readings might lack them; compound surnames first. The first reading
# is the one a search key spells.
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
# A characters query has at most this many spellings looked up; a name with more
# (long, every character a heteronym) is looked up by its own key alone.
MAX_SPELLINGS = 64

Readings = tuple[frozenset[str], ...]


def normalise(text: str | None) -> str:
    """Letters only: NFKC, without spaces, punctuation, ``·`` or the trailing 。 of ASR text.

    Latin letters are case-folded so an ASR's "E" and "e" are one letter.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalpha())


@lru_cache(maxsize=4096)
def _char_readings(ch: str) -> frozenset[str]:
    if not is_han(ch):
        return frozenset({ch})
    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="default")
    return frozenset(r for group in readings for r in group if r)


def is_han(ch: str) -> bool:
    return (
        "\u3400" <= ch <= "\u9fff"
        or "\U00020000" <= ch <= "\U0003134f"
        or "\uf900" <= ch <= "\ufaff"
    )


def _surname(name: str) -> str:
    return next((s for s in COMPOUND_SURNAMES if name.startswith(s)), name[:1])


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
        contextual = [lazy_pinyin(ch, style=Style.NORMAL)[0] if is_han(ch) else ch for ch in name]
    out = [set(_char_readings(ch)) | {contextual[i]} for i, ch in enumerate(name)]
    for i, extra in enumerate(SURNAME_READINGS.get(_surname(name), ())):
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


# -- keys an index holds -------------------------------------------------------------------


def name_key(name: str | None) -> str:
    """The name as stored for look-up by characters: its letters (``normalise``)."""
    return normalise(name)


@lru_cache(maxsize=8192)
def _default_reading(ch: str) -> tuple[str, bool]:
    """A character's reading on its own, and whether it has others (a heteronym)."""
    if not is_han(ch):
        return ch, False
    return lazy_pinyin(ch, style=Style.NORMAL)[0], len(_char_readings(ch)) > 1


def pinyin_key(name: str | None) -> str:
    """One toneless spelling of a name, for an index: 张伟 → zhangwei, 单田芳 → shantianfang.

    The surname as a surname is read; the given name as read in context (长青 is
    changqing) when one of its characters has several readings, else character by
    character (cached: a feed of a million names costs seconds, not minutes).
    """
    name = normalise(name)
    if not name:
        return ""
    surname = _surname(name)
    fixed = SURNAME_READINGS.get(surname)
    head = (
        "".join(r[0] for r in fixed)
        if fixed
        else "".join(_default_reading(ch)[0] for ch in surname)
    )
    rest = name[len(surname) :]
    parts = [_default_reading(ch) for ch in rest]
    if len(rest) > 1 and any(several for _, several in parts):
        return head + "".join(lazy_pinyin(rest, style=Style.NORMAL, errors=lambda c: list(c)))
    return head + "".join(reading for reading, _ in parts)


@lru_cache(maxsize=1)
def _surname_spellings() -> dict[str, frozenset[str]]:
    """Reading → how ``pinyin_key`` spells the surnames read so (dan → shan, for 单)."""
    out: dict[str, set[str]] = {}
    for surname, spelt in SURNAME_READINGS.items():
        if len(surname) == 1:
            for reading in _char_readings(surname) | set(spelt[0]):
                out.setdefault(reading, set()).add(spelt[0][0])
    return {reading: frozenset(spellings) for reading, spellings in out.items()}


def pinyin_keys(name: str | None, limit: int = MAX_SPELLINGS) -> list[str]:
    """Every spelling a name in characters may have, its own ``pinyin_key`` first; only that
    one when there would be more than ``limit``.

    Homophones are among them, and a surname that sounds like one read differently as a
    surname (丹 dān and 单 shàn) brings that surname's spelling: 丹田芳 is looked up as
    shantianfang too. What the keys cannot find is a name on file whose given name is
    read in context otherwise than the query's characters (李长青 is changqing; 李张青
    does not look it up), which an agent typing the characters the caller spells rarely meets.
    """
    name = normalise(name)
    if not name:
        return []
    own = pinyin_key(name)
    choices = [set(r) for r in readings(name)]
    surnames = _surname_spellings()
    for reading in list(choices[0]):
        choices[0] |= surnames.get(reading, frozenset())
    choices = [sorted(c) for c in choices]
    count = 1
    for options in choices:
        count *= len(options)
    if count > limit:
        return [own]
    spelt = ("".join(parts) for parts in itertools.product(*choices))
    return list(dict.fromkeys([own, *spelt]))


def latin_key(text: str | None) -> str:
    """What someone typed in pinyin, as ``pinyin_key`` spells it: "Zhāng Wěi" → zhangwei.

    Tone marks and spaces go; ü (or u:) is written v, as pypinyin writes it.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold().replace("u:", "v")
    decomposed = unicodedata.normalize("NFD", text.replace("ü", "v"))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())


def is_latin(text: str | None) -> bool:
    """Typed pinyin: letters and digits, all of them Latin letters (tone marks allowed)."""
    if not text:
        return False
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text))
    kept = [ch for ch in decomposed if ch.isalnum()]
    return bool(kept) and all(ch.isascii() and ch.isalpha() for ch in kept)
