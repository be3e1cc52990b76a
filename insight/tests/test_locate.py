"""Address → grid through the address list, tolerant of typos and missing parts; unknown → flagged."""

from __future__ import annotations

import pytest

from insight.locate import Reason, address_matcher_clear, locate_address, parse
from orgs.addresses import address_create
from orgs.choices import UnitKind
from orgs.services import unit_create


@pytest.fixture
def places(tree):
    """Two grids of 东华社区 and one of 西长社区, each with a few addresses of its own."""
    address_matcher_clear()
    second = unit_create(
        actor=None, code="T1112", name="东华二网格", kind=UnitKind.GRID, parent=tree.community
    )
    add = lambda text, grid: address_create(actor=None, text=text, grid=grid)  # noqa: E731
    add("东城区东华街道幸福路88号院3号楼2单元", tree.grid)
    add("东城区东华街道幸福路88号院5号楼1单元", tree.grid)
    add("东城区东华街道和平街12号", tree.grid)
    add("东城区东华街道光明小区7栋", second)
    add("东城区东华街道光明小区9栋", second)
    add("东城区东华街道建设路100号", second)
    add("东城区东华街道建设路100号院", tree.grid)
    add("东城区东华街道胜利家园1栋", tree.grid)
    add("东城区东华街道胜利家园2栋", second)
    add("西城区西长街道长安大道68号", tree.other_grid)
    yield {"first": tree.grid, "second": second, "west": tree.other_grid}
    address_matcher_clear()


def test_the_address_as_stored_is_found_exactly(places):
    found = locate_address("东城区东华街道幸福路88号院3号楼2单元")
    assert found.grid == places["first"]
    assert found.reason == Reason.EXACT
    assert not found.flagged


@pytest.mark.parametrize(
    "text",
    [
        "幸福路88号院3号楼2单元",  # no district, no street
        "东华街道幸福路88号院3栋2单元",  # 栋 for 号楼
        "幸福路八十八号院三幢二单元",  # Chinese numerals, 幢
        "东城区幸副路88号院3号楼2单元",  # a wrong character in the road's name
        "幸福路８８号院３号楼２单元",  # full-width digits
    ],
)
def test_typos_variants_and_missing_parts_still_find_the_grid(places, text):
    found = locate_address(text)
    assert found.grid == places["first"], found
    assert found.address is not None
    assert found.address.text == "东城区东华街道幸福路88号院3号楼2单元"


def test_a_building_in_the_other_grid_is_told_apart_by_its_number(places):
    assert locate_address("光明小区7号楼").grid == places["second"]
    assert locate_address("光明小去9号楼").grid == places["second"]


def test_a_number_is_never_fuzzy(places):
    found = locate_address("幸福路88号院8号楼2单元")  # building 8 is in no list
    assert found.flagged
    assert found.grid is None
    assert found.reason == Reason.NO_MATCH


def test_an_address_matching_nothing_is_flagged_never_guessed(places):
    found = locate_address("火星大道1号")
    assert found.flagged
    assert found.grid is None
    assert found.address is None
    assert found.reason == Reason.NO_MATCH


def test_a_coarser_address_inside_one_grid_finds_that_grid(places):
    found = locate_address("光明小区")
    assert found.grid == places["second"]
    assert found.reason == Reason.FUZZY


def test_a_coarser_address_spanning_two_grids_is_flagged_as_ambiguous(places):
    found = locate_address("胜利家园")  # building 1 is in one grid, building 2 in the other
    assert found.flagged
    assert found.grid is None
    assert found.reason == Reason.AMBIGUOUS
    assert len(found.candidates) >= 2


def test_the_closest_of_two_numbered_addresses_wins(places):
    assert locate_address("建设路100号").grid == places["second"]
    assert locate_address("建设路100号院").grid == places["first"]


def test_a_district_the_query_names_must_agree(places):
    found = locate_address("西城区幸福路88号院3号楼2单元")
    assert found.flagged


def test_an_empty_address_is_flagged(places):
    assert locate_address("  ，。 ").reason == Reason.EMPTY
    assert locate_address("").flagged


def test_an_address_without_a_grid_is_flagged(tree):
    address_matcher_clear()
    address_create(actor=None, text="东华街道无名路1号")
    found = locate_address("东华街道无名路1号")
    assert found.flagged
    assert found.reason == Reason.NO_GRID
    address_matcher_clear()


def test_the_canonical_form_makes_the_words_for_one_part_alike():
    assert parse("东城区东华街道幸福路88号院3号楼2单元").rest == parse("幸福路88号院3栋2单元").rest
    parsed = parse("东城区东华街道幸福路88号院3号楼2单元501室")
    assert parsed.district == "东城区"
    assert parsed.street == "东华街道"
    assert parsed.numbers == {("号", "88"), ("栋", "3"), ("单元", "2"), ("室", "501")}
