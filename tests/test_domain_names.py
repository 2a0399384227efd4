"""The keys a name is indexed by, for the desk's customer search (domain.names)."""

from __future__ import annotations

import pytest

from domain.names import (
    is_latin,
    latin_key,
    name_key,
    normalise,
    pinyin_key,
    pinyin_keys,
)


@pytest.mark.parametrize(
    ("name", "spelling"),
    [
        ("张伟", "zhangwei"),
        ("李长青", "lichangqing"),  # 长 read in context, not zhang
        ("单田芳", "shantianfang"),  # the surname as a surname
        ("曾国藩", "zengguofan"),
        ("尉迟恭", "yuchigong"),
        ("吕丽", "lvli"),
        ("买买提·艾力", "maimaitiaili"),
        ("張偉", "zhangwei"),
    ],
)
def test_a_name_is_spelt_once_in_toneless_pinyin(name, spelling):
    assert pinyin_key(name) == spelling


def test_homophones_share_a_spelling_so_one_index_look_up_finds_both():
    assert pinyin_key("章伟") == pinyin_key("张伟")


def test_a_homophone_in_characters_is_looked_up_by_the_spelling_of_the_name_on_file():
    assert pinyin_key("张伟") in pinyin_keys("章伟")
    assert pinyin_key("单田芳") in pinyin_keys("丹田芳")


def test_a_name_in_characters_is_looked_up_by_every_spelling_it_may_have_its_own_first():
    spellings = pinyin_keys("单田芳")
    assert spellings[0] == "shantianfang"
    assert "dantianfang" in spellings


def test_a_name_with_too_many_spellings_is_looked_up_by_its_own_alone():
    assert pinyin_keys("单田芳", limit=2) == ["shantianfang"]


@pytest.mark.parametrize(
    "typed", ["zhangwei", "zhang wei", "Zhang Wei", "ZHANG-WEI", "Zhāng Wěi", "zhang\u3000wei"]
)
def test_typed_pinyin_is_spelt_as_the_index_spells_it(typed):
    assert is_latin(typed)
    assert latin_key(typed) == pinyin_key("张伟")


def test_u_umlaut_is_written_v_as_pypinyin_writes_it():
    assert latin_key("lü li") == latin_key("lu:li") == latin_key("LV LI") == pinyin_key("吕丽")


@pytest.mark.parametrize("text", ["D06", "A001", "张伟", "13812345678", "", "·"])
def test_ids_numbers_and_characters_are_not_pinyin(text):
    assert not is_latin(text)


def test_the_characters_key_is_the_letters_the_ivr_compares():
    assert name_key(" 买买提·艾力 ") == normalise("买买提艾力") == "买买提艾力"
