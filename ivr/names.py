"""Does a spoken name (speech recognition text) name the policyholder on file?

SPEC §4 step 2. How two names compare — characters, else toneless pinyin — is
``domain.names``, which the desk's customer search shares; here is what is
particular to speech: the phrases callers put before a name ("我叫张伟"), and
several people who sound alike.

Pure functions only: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.names import normalise, sounds_alike

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


def spoken_name(text: str | None, prefixes: Iterable[str] = DEFAULT_PREFIXES) -> str:
    """The name in what the caller said: normalised, a leading "我叫" or the like removed."""
    name = normalise(text)
    for prefix in sorted(prefixes, key=len, reverse=True):
        prefix = normalise(prefix)
        if prefix and name.startswith(prefix) and len(name) - len(prefix) >= 2:
            return name[len(prefix) :]
    return name


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
