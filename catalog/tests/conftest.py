"""A small org tree and catalog for the catalog tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from catalog.services import category_create, item_create
from core.models import User
from orgs.choices import UnitKind
from orgs.services import unit_create


@pytest.fixture
def actor(db):
    return User.objects.create_user(username="catalog_admin", password="x")


@pytest.fixture
def tree(db):
    """city → district → two streets → communities → a grid; two city departments."""
    city = unit_create(actor=None, code="C", name="示例市", kind=UnitKind.CITY, parent=None)
    district = unit_create(actor=None, code="C01", name="东城区", kind=UnitKind.DISTRICT, parent=city)
    street = unit_create(actor=None, code="C0101", name="和平街道", kind=UnitKind.STREET, parent=district)
    other_street = unit_create(
        actor=None, code="C0102", name="安定街道", kind=UnitKind.STREET, parent=district
    )
    community = unit_create(
        actor=None, code="C010101", name="花园社区", kind=UnitKind.COMMUNITY, parent=street
    )
    grid = unit_create(actor=None, code="C01010101", name="花园一网格", kind=UnitKind.GRID, parent=community)
    water = unit_create(actor=None, code="D01", name="市水务局", kind=UnitKind.DEPARTMENT, parent=city)
    gas = unit_create(actor=None, code="D02", name="市燃气集团", kind=UnitKind.DEPARTMENT, parent=city)
    return SimpleNamespace(
        city=city,
        district=district,
        street=street,
        other_street=other_street,
        community=community,
        grid=grid,
        water=water,
        gas=gas,
    )


@pytest.fixture
def catalog(actor):
    """One category, one subcategory, two items."""
    top = category_create(actor=actor, code="01", name="城市管理")
    sub = category_create(actor=actor, code="0101", name="环境卫生", parent=top)
    garbage = item_create(
        actor=actor, code="010101", name="垃圾分类", subcategory=sub, keywords="垃圾桶 分类投放"
    )
    noise = item_create(
        actor=actor, code="010102", name="施工噪音", subcategory=sub, keywords="夜间施工，噪声"
    )
    return SimpleNamespace(top=top, sub=sub, garbage=garbage, noise=noise)
