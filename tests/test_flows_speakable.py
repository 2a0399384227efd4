"""What text-to-speech may be handed (SPEC §8): words, and the punctuation a voice pauses on."""

from __future__ import annotations

import pytest

from flows import speakable


@pytest.mark.parametrize(
    "text",
    [
        "您好，欢迎致电。紧急情况请挂机拨打120。",
        "如需回电，请按1；结束通话请挂机。",
        "健康E站请按2。返回主菜单请按星号键。",
        "国内MDT多学科会诊",
        "张某明的服务档位为尊享档！",
    ],
)
def test_mandarin_with_pauses_letters_and_digits_is_speakable(text):
    assert speakable.symbols(text) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("为张*伟办理", ["*"]),
        ("门诊/住院交通", ["/"]),
        ("请按#", ["#"]),
        ("4006-058-056", ["-"]),
        ("买买提·艾力", ["·"]),
        ("（详见）100%", ["（", "）", "%"]),
        ("7×24小时", ["×"]),
    ],
)
def test_symbols_a_voice_would_read_out_are_found_each_once(text, found):
    assert speakable.symbols(text) == found


@pytest.mark.parametrize(
    ("text", "spelt"),
    [
        ("转人工服务请按0。", "按0"),
        ("返回请按 *", "按 *"),
        ("请按星号", "按星号"),
        ("按井号", "按井号"),
    ],
)
def test_a_key_written_into_a_message_is_found(text, spelt):
    assert speakable.spelt_key(text) == spelt


@pytest.mark.parametrize("text", ["请按{key}。", "请按时就诊", "紧急情况请挂机拨打120。"])
def test_a_key_given_as_a_placeholder_or_no_key_is_not_spelt(text):
    assert speakable.spelt_key(text) is None
