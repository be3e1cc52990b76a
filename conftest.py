"""Shared pytest fixtures: the hypothesis CI profile and the named cast (STYLE.md rules 22, 23a).

The cast lives on one fixed tree (``tree``)::

    测试市 (city, T0)
    ├── 东城区 (district, T1)
    │   └── 东华街道 (street, T11)
    │       └── 东华社区 (community, T111)
    │           └── 东华一网格 (grid, T1111)
    ├── 西城区 (district, T2)          ← the outsider's district
    │   └── 西长街道 (street, T21)
    │       └── 西长社区 (community, T211)
    │           └── 西长一网格 (grid, T2111)
    └── 市城管局 (department, D1)
        └── 城管东华执法队 (station, D11, located in 东华街道)

Users (password ``orgs.tests.factories.PASSWORD``):

- ``city_admin``: system administrator (``admin_role="system"``, staff), no membership;
- ``district_dispatcher``: dispatcher at 东城区;
- ``street_handler``: handler at 东华街道;
- ``dept_handler``: handler at 市城管局;
- ``outsider``: handler at 西城区.

Building the tree writes audit rows (no actor); tests that count audit rows count from a baseline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings as hypothesis_settings

if TYPE_CHECKING:
    from core.models import User
    from orgs.models import Unit

# Hypothesis: steady on 2 cores — no deadline, derandomized, few examples (STYLE.md 23a).
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, max_examples=50)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass(frozen=True)
class OrgTree:
    """The fixed five-level test tree, plus a second district and a city department with a station."""

    city: Unit
    district: Unit
    street: Unit
    community: Unit
    grid: Unit
    other_district: Unit
    other_street: Unit
    other_community: Unit
    other_grid: Unit
    department: Unit
    station: Unit

    def all(self) -> list[Unit]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


@pytest.fixture
def tree(db: Any) -> OrgTree:
    from orgs.choices import UnitKind
    from orgs.services import unit_create

    def make(code: str, name: str, kind: str, parent: Unit | None, **extra: Any) -> Unit:
        return unit_create(actor=None, code=code, name=name, kind=kind, parent=parent, **extra)

    city = make("T0", "测试市", UnitKind.CITY, None)
    district = make("T1", "东城区", UnitKind.DISTRICT, city)
    street = make("T11", "东华街道", UnitKind.STREET, district)
    community = make("T111", "东华社区", UnitKind.COMMUNITY, street)
    grid = make("T1111", "东华一网格", UnitKind.GRID, community)
    other_district = make("T2", "西城区", UnitKind.DISTRICT, city)
    other_street = make("T21", "西长街道", UnitKind.STREET, other_district)
    other_community = make("T211", "西长社区", UnitKind.COMMUNITY, other_street)
    other_grid = make("T2111", "西长一网格", UnitKind.GRID, other_community)
    department = make("D1", "市城管局", UnitKind.DEPARTMENT, city)
    station = make("D11", "城管东华执法队", UnitKind.STATION, department, located_in=street)
    return OrgTree(
        city=city,
        district=district,
        street=street,
        community=community,
        grid=grid,
        other_district=other_district,
        other_street=other_street,
        other_community=other_community,
        other_grid=other_grid,
        department=department,
        station=station,
    )


def _member(username: str, display_name: str, unit: Unit, role: str) -> User:
    from orgs.services import membership_grant
    from orgs.tests.factories import UserFactory

    user: User = UserFactory.create(username=username, display_name=display_name)
    membership_grant(actor=None, user=user, unit=unit, role=role)
    return user


@pytest.fixture
def city_admin(tree: OrgTree) -> User:
    from core.models.user import AdminRole
    from orgs.tests.factories import UserFactory

    user: User = UserFactory.create(
        username="city_admin", display_name="市管理员", admin_role=AdminRole.SYSTEM, is_staff=True
    )
    return user


@pytest.fixture
def district_dispatcher(tree: OrgTree) -> User:
    from orgs.choices import Role

    return _member("district_dispatcher", "区派单员", tree.district, Role.DISPATCHER)


@pytest.fixture
def street_handler(tree: OrgTree) -> User:
    from orgs.choices import Role

    return _member("street_handler", "街道承办人", tree.street, Role.HANDLER)


@pytest.fixture
def dept_handler(tree: OrgTree) -> User:
    from orgs.choices import Role

    return _member("dept_handler", "部门承办人", tree.department, Role.HANDLER)


@pytest.fixture
def outsider(tree: OrgTree) -> User:
    from orgs.choices import Role

    return _member("outsider", "外区承办人", tree.other_district, Role.HANDLER)
