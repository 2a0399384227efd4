"""Spoken names against the name on file (SPEC §4 step 2): characters, else toneless pinyin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.names import normalise, readings, sounds_alike
from ivr.names import matches, matching, spoken_name

# -- exact and decorated -------------------------------------------------------------------


@pytest.mark.parametrize(
    "heard",
    ["张伟", "张伟。", " 张 伟 ", "张，伟", "张-伟!", "張伟", "张伟."],
)
def test_the_name_on_file_matches_with_spaces_punctuation_and_the_asr_full_stop(heard):
    assert matches(heard, "张伟")


def test_traditional_and_full_width_forms_are_not_a_different_name():
    # 張 and 张 share a reading; full-width Latin letters fold to ASCII.
    assert matches("ＷＡＮＧ", "wang")
    assert matches("張偉", "张伟")


@pytest.mark.parametrize(
    ("heard", "on_file"),
    [
        ("买买提艾力", "买买提·艾力"),
        ("买买提·艾力", "买买提艾力"),
        ("买买提 艾力", "买买提·艾力"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("达瓦.次仁", "达瓦·次仁"),
    ],
)
def test_minority_names_match_whatever_dot_or_space_separates_the_parts(heard, on_file):
    assert matches(heard, on_file)


def test_normalise_keeps_letters_only():
    assert normalise(" 买买提·艾力。") == "买买提艾力"
    assert normalise("Li E") == "lie"
    assert normalise("") == "" and normalise(None) == ""


# -- homophones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "on_file"),
    [
        ("章伟", "张伟"),
        ("张伟", "章伟"),
        ("李娜", "李纳"),
        ("王芳", "汪芳"),
        ("刘洋", "柳杨"),
        ("陈静", "陈晶"),
        ("吕丽", "吕莉"),
        ("张乐", "张悦"),  # 乐 is also read yuè
        ("欧阳娜娜", "欧阳纳纳"),
    ],
)
def test_homophones_match_because_speech_recognition_cannot_tell_them_apart(heard, on_file):
    assert matches(heard, on_file)


@pytest.mark.parametrize(
    ("heard", "on_file"),
    [
        ("李伟", "张伟"),
        ("张威力", "张伟"),
        ("张为民", "张伟"),
        ("赵敏", "张敏"),
        ("王芳", "王方明"),
        ("陈静", "陈金"),  # jing / jin: different syllables, not a tone
        ("刘洋", "刘阳光"),
    ],
)
def test_a_different_name_does_not_match(heard, on_file):
    assert not matches(heard, on_file)


# -- heteronym surnames --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_file", "heard"),
    [
        ("单田芳", "善田芳"),  # 单 as a surname is shàn
        ("单田芳", "丹田芳"),  # … and an ASR may still write the dān reading
        ("曾国藩", "增国藩"),
        ("曾国藩", "层国藩"),
        ("解缙", "谢缙"),
        ("解缙", "姐缙"),
        ("区志强", "欧志强"),
        ("仇英", "求英"),
        ("仇英", "愁英"),
        ("查良镛", "渣良镛"),
        ("查良镛", "茶良镛"),
        ("朴树", "嫖树"),
        ("盖聂", "葛聂"),
        ("乐嘉", "岳嘉"),
        ("覃海", "秦海"),
        ("缪可", "苗可"),
    ],
)
def test_a_surname_matches_by_any_of_its_readings(on_file, heard):
    assert matches(heard, on_file)


@pytest.mark.parametrize(
    ("on_file", "heard"),
    [
        ("尉迟恭", "玉迟恭"),
        ("尉迟恭", "尉迟恭"),
        ("万俟卨", "莫奇卨"),
        ("长孙无忌", "长孙无忌"),
        ("长孙无忌", "张孙无忌"),
        ("欧阳修", "欧阳秀"),
        ("诸葛亮", "诸葛亮。"),
        ("司马光", "斯马光"),
    ],
)
def test_compound_surnames_match_by_their_surname_readings(on_file, heard):
    assert matches(heard, on_file)


def test_the_surname_readings_include_the_ones_a_dictionary_might_miss():
    assert "shan" in readings("单田芳")[0]
    assert {"yu"} <= readings("尉迟恭")[0] and "chi" in readings("尉迟恭")[1]
    assert "mo" in readings("万俟卨")[0] and "qi" in readings("万俟卨")[1]


# -- length --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "on_file"),
    [("张伟明", "张伟"), ("张伟", "张伟明"), ("欧阳明", "欧明"), ("张", "张伟")],
)
def test_two_and_three_character_names_never_match_each_other(heard, on_file):
    assert not matches(heard, on_file)


def test_nothing_heard_matches_nobody():
    assert not matches("", "张伟")
    assert not matches(None, "张伟")
    assert not matches("。", "张伟")
    assert not matches("张伟", "")


# -- what callers put around a name --------------------------------------------------------


@pytest.mark.parametrize(
    "heard", ["我叫张伟", "投保人是张伟。", "投保人姓名是张伟", "我的名字叫张伟", "她叫张伟"]
)
def test_a_leading_phrase_is_not_part_of_the_name(heard):
    assert spoken_name(heard) == "张伟"
    assert matches(heard, "张伟")


def test_a_phrase_is_only_removed_when_a_name_is_left():
    # 我是 with one character after it would leave no plausible name: keep it all.
    assert spoken_name("我是王") == "我是王"


# -- several people ------------------------------------------------------------------------


def test_matching_returns_every_person_who_sounds_alike_each_once():
    people = [("P1", "张伟"), ("P2", "章伟"), ("P1", "张伟"), ("P3", "李娜")]
    assert matching("张伟", people) == ["P1", "P2"]
    assert matching("李娜。", people) == ["P3"]
    assert matching("王五", people) == []


def test_exact_characters_do_not_win_over_a_homophone():
    # The caller may be 章伟 transcribed as 张伟: the sound alone cannot decide.
    assert matching("张伟", [("P1", "章伟"), ("P2", "张伟")]) == ["P1", "P2"]


# -- properties ----------------------------------------------------------------------------

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
NAMES = st.text(HAN, min_size=1, max_size=4)
NOISE = st.sampled_from([" ", "·", "。", "，", "・", "•", ".", "-"])


@given(NAMES)
def test_every_name_matches_itself(name):
    assert matches(name, name)


@given(NAMES, st.lists(st.tuples(st.integers(0, 4), NOISE), max_size=4))
def test_punctuation_and_spaces_anywhere_do_not_change_the_answer(name, noise):
    noisy = list(name)
    for position, mark in noise:
        noisy.insert(min(position, len(noisy)), mark)
    assert matches("".join(noisy) + "。", name)


@given(NAMES, NAMES)
def test_sounding_alike_is_symmetric(a, b):
    assert sounds_alike(normalise(a), normalise(b)) == sounds_alike(normalise(b), normalise(a))


@given(NAMES, NAMES)
def test_names_of_different_lengths_never_match(a, b):
    if len(a) != len(b):
        assert not matches(a, b)
