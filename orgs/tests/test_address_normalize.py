"""normalize_address: the documented rules, one by one (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orgs.addresses import chinese_numeral_to_int, normalize_address


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("长安区中山路１２３号", "长安区中山路123号"),  # full-width digits
        ("Ａ座１０１室", "A座101室"),  # full-width letters
        ("a座101室", "A座101室"),  # case
        ("长安区 中山路\u3000123号", "长安区中山路123号"),  # spaces, ideographic space
        ("中山路123号（东门）", "中山路123号东门"),  # brackets
        ("中山路，123号。", "中山路123号"),  # punctuation
        ("3#楼2单元", "3号楼2单元"),  # hash means 号
        ("三号楼二单元一〇一室", "3号楼2单元101室"),
        ("十二号楼", "12号楼"),
        ("第三单元", "3单元"),
        ("第3单元", "3单元"),
        ("第第三单元", "3单元"),
        ("一百零一室", "101室"),
        ("二十五栋", "25栋"),
        ("两千号", "2000号"),
        ("十层", "10层"),
        ("⑤号楼", "5号楼"),
    ],
)
def test_equivalent_spellings_normalise_alike(a, b):
    assert normalize_address(a) == normalize_address(b)


def test_the_normalised_form_is_what_the_rules_say():
    assert (
        normalize_address("长安区 中山路１２３号院 三号楼 二单元 一〇一室")
        == "长安区中山路123号院3号楼2单元101室"
    )


def test_a_dash_between_numbers_is_kept_so_different_addresses_stay_different():
    assert normalize_address("中山路3－2－101") == "中山路3-2-101"
    assert normalize_address("中山路3—2~101") == "中山路3-2-101"
    assert normalize_address("中山路3-2-101") != normalize_address("中山路32-101")
    assert normalize_address("中山路-3号") == "中山路3号"  # not between numbers: removed


def test_numerals_in_names_are_left_alone():
    assert normalize_address("五道口八号") == "五道口8号"
    assert normalize_address("三里屯路") == "三里屯路"
    assert normalize_address("十里河村") == "十里河村"


def test_the_configured_province_and_city_prefixes_are_optional(settings):
    settings.ADDRESS_CITY_PREFIXES = ["河北省", "石家庄市"]
    short = normalize_address("长安区中山路1号")
    assert normalize_address("石家庄市长安区中山路1号") == short
    assert normalize_address("河北省石家庄市长安区中山路1号") == short
    assert normalize_address("河北省 石家庄市 长安区中山路1号") == short
    # only the full forms are stripped: a bare name may begin a road's name
    assert normalize_address("石家庄路1号") == "石家庄路1号"


def test_prefixes_may_be_given_as_one_comma_separated_string(settings):
    settings.ADDRESS_CITY_PREFIXES = "河北省, 石家庄市"
    assert normalize_address("河北省石家庄市长安区1号") == "长安区1号"


def test_without_configured_prefixes_nothing_is_stripped(settings):
    settings.ADDRESS_CITY_PREFIXES = []
    assert normalize_address("石家庄市长安区1号") == "石家庄市长安区1号"


def test_a_prefix_alone_is_not_stripped_to_nothing(settings):
    settings.ADDRESS_CITY_PREFIXES = ["石家庄市"]
    assert normalize_address("石家庄市") == "石家庄市"


def test_text_of_only_punctuation_normalises_to_empty():
    assert normalize_address(" ，。！ ") == ""
    assert normalize_address("") == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("一百零一", 101),
        ("一〇一", 101),
        ("两千零五", 2005),
    ],
)
def test_chinese_numerals_convert(text, value):
    assert chinese_numeral_to_int(text) == value


ADDRESS_ALPHABET = st.sampled_from(
    list("长安区中山路号栋幢座单元室层楼第一二三十百〇零两0123456789０１２AaＡ -－—#＃，。()（） \u3000")
)


@given(st.lists(ADDRESS_ALPHABET, max_size=30).map("".join))
def test_normalisation_is_idempotent(text):
    once = normalize_address(text)
    assert normalize_address(once) == once
