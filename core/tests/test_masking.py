"""Golden tests of the display masks (SECURITY.md PI-2) and the phone/ID validators (DI-1)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.masking import (
    id_checksum,
    is_valid_id_number,
    is_valid_mainland_mobile,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_phone,
)

CI = settings(deadline=None, derandomize=True, max_examples=200)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("008613812345678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),  # full-width digits
        ("010-12345678", "010-****5678"),
        ("01012345678", "010-****5678"),
        ("(010)12345678", "010-****5678"),
        ("0755-1234567", "0755-***4567"),
        ("010-12345678-123", "010-****5678-***"),  # extension masked whole
        ("+86 10 12345678", "010-****5678"),
        ("+44 20 7946 0958", "+********0958"),
        ("0044 20 7946 0958", "+********0958"),
        ("+1 (415) 555-2671", "+*******2671"),
        ("12345", "*****"),  # too short to show its last 4
        ("110", "****"),
        ("unknown", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@CI
@given(
    st.one_of(
        st.text(alphabet="0123456789 +-()", max_size=24),
        st.from_regex(r"(\+86 ?)?1[3-9]\d{9}", fullmatch=True),
    )
)
def test_a_masked_phone_shows_at_most_an_area_code_or_mobile_prefix_and_the_last_four_digits(raw):
    masked = mask_phone(raw)
    if is_valid_mainland_mobile(raw):
        mobile = normalize_phone(raw)
        assert masked == mobile[:3] + "****" + mobile[-4:]
        return
    after_area_code = masked.split("-", 1)[-1]
    assert sum(c.isdigit() for c in after_area_code) <= 4


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("+86 138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("010 1234 5678", "01012345678"),
        ("+86 10 12345678", "01012345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("", ""),
    ],
)
def test_normalize_phone(raw, normalized):
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("13812345678", True),
        ("+86 199 1234 5678", True),
        ("12812345678", False),  # no 12x mobile prefix
        ("1381234567", False),
        ("010-12345678", False),
        ("+44 7700 900123", False),
        ("", False),
        (None, False),
    ],
)
def test_is_valid_mainland_mobile(raw, valid):
    assert is_valid_mainland_mobile(raw) is valid


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        ("110105 19491231 002X", "110105********002X"),
        ("440524188001010014", "440524********0014"),
        ("110105491231002", "110105*****1002"),  # the old 15-digit form
        ("E12345678", "*****5678"),  # passport: only the last 4
        ("H1234", "*****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_number(raw, masked):
    assert mask_id_number(raw) == masked


def test_id_checksum_follows_gb_11643():
    assert id_checksum("11010519491231002") == "X"
    assert id_checksum("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("11010519491231002X", True),  # the examples of GB 11643-1999
        ("11010519491231002x", True),
        ("440524188001010014", True),
        ("110105194912310021", False),  # wrong check character
        ("11010519491331002X", False),  # month 13
        ("11010519490230002X", False),  # 30 February
        ("01010519491231002X", False),  # no region starts with 0
        ("110105491231002", True),  # 15 digits, 1949-12-31
        ("110105491331002", False),
        ("11010549123100", False),
        ("E12345678", False),
        ("", False),
        (None, False),
    ],
)
def test_is_valid_id_number(raw, valid):
    assert is_valid_id_number(raw) is valid


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("张三", "张*"),
        ("张小三", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳娜", "欧阳*"),
        ("司马", "司*"),  # a compound surname alone: never shown whole
        ("张", "*"),
        ("李女士", "李女士"),
        ("欧阳先生", "欧阳先生"),
        ("张三先生", "张***"),  # a given name before the title is still masked
        ("阿卜杜拉·艾买提", "阿***·***"),
        ("John Smith", "J*** *****"),
        ("Li", "L*"),
        ("  王 小明 ", "王 **"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_name(raw, masked):
    assert mask_name(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("北京市东城区东华门街道多福巷社区银闸胡同12号", "北京市东城区东华门街道多福巷社区***"),
        ("平谷区大华山镇西峪村三组", "平谷区大华山镇西峪村***"),
        ("阳光小区5栋2单元301", "阳光小区***"),
        ("朝阳路12号院3号楼幸福社区", "朝阳路***"),  # numbers before the marker are cut too
        ("幸福里二十三号楼", "幸福里***"),
        ("广州市天河区体育西路191号中石化大厦B塔2301", "广州市天河区体育西路***"),
        ("人民公园", "人民***"),  # no marker: at most half
        ("多福巷社区", "多福巷社区"),  # nothing beyond the community to hide
        ("", ""),
        (None, ""),
    ],
)
def test_mask_address(raw, masked):
    assert mask_address(raw) == masked


@settings(deadline=None, derandomize=True, max_examples=100)
@given(st.text(max_size=40))
def test_masks_never_raise_and_a_masked_address_never_shows_a_digit(text):
    for mask in (mask_phone, mask_id_number, mask_name, mask_address):
        assert isinstance(mask(text), str)
    assert not re.search("[0-9]", mask_address(text))
