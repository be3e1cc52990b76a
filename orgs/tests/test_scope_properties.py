"""Property: on random small trees with random memberships, the scope Qs select exactly the units
that a plain walk up the parent links finds (holding), or up the territory (location)."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from orgs.choices import HOLDING_ROLES, LOCATION_ROLES, TERRITORIAL_KINDS, Role, UnitKind
from orgs.models import Unit
from orgs.selectors import holding_scope_q, location_scope_q
from orgs.services import membership_grant
from orgs.tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

TERRITORIAL_CHAIN = [UnitKind.CITY, UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY, UnitKind.GRID]


def build_tree(shape: list[tuple[int, int]]) -> list[Unit]:
    """A seed (city, district, street, a city department with a station in the street), then each
    (parent pick, flavour) adds a department, a station or a territorial child."""
    city = UnitFactory.create(kind=UnitKind.CITY)
    district = UnitFactory.create(parent=city)
    street = UnitFactory.create(parent=district)
    dept = UnitFactory.create(parent=city, kind=UnitKind.DEPARTMENT)
    station = UnitFactory.create(parent=dept, kind=UnitKind.STATION, located_in=street)
    units = [city, district, street, dept, station]
    for pick, flavour in shape:
        if flavour == 0:  # a department under a city or a district
            parents = [u for u in units if u.kind in (UnitKind.CITY, UnitKind.DISTRICT)]
            units.append(UnitFactory.create(parent=parents[pick % len(parents)], kind=UnitKind.DEPARTMENT))
        elif flavour == 1:  # a station in a street of its department's territory
            options = [
                (dept, street)
                for dept in units
                if dept.kind == UnitKind.DEPARTMENT
                for street in units
                if street.kind == UnitKind.STREET and within(street, dept.parent)
            ]
            if options:
                dept, street = options[pick % len(options)]
                units.append(UnitFactory.create(parent=dept, kind=UnitKind.STATION, located_in=street))
        else:
            parents = [u for u in units if u.kind in TERRITORIAL_CHAIN[:-1]]
            units.append(UnitFactory.create(parent=parents[pick % len(parents)]))
    return units


def within(unit: Unit, ancestor: Unit | None) -> bool:
    """Walk parents in Python: is ``unit`` ``ancestor`` or below it?"""
    node: Unit | None = unit
    while node is not None:
        if ancestor is not None and node.pk == ancestor.pk:
            return True
        node = node.parent
    return False


def expected_holding(units: list[Unit], grants: list[tuple[Unit, str]]) -> set[int]:
    held = [unit for unit, role in grants if role in HOLDING_ROLES]
    return {u.pk for u in units if any(within(u, h) for h in held)}


def expected_location(units: list[Unit], grants: list[tuple[Unit, str]]) -> set[int]:
    territories = [unit for unit, role in grants if role in LOCATION_ROLES and unit.kind in TERRITORIAL_KINDS]
    found = set()
    for u in units:
        anchor = u if u.kind in TERRITORIAL_KINDS else (u.located_in if u.kind == UnitKind.STATION else None)
        if anchor is not None and any(within(anchor, t) for t in territories):
            found.add(u.pk)
    return found


@settings(max_examples=40)
@given(
    shape=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 4)), min_size=1, max_size=12),
    grants=st.lists(st.tuples(st.integers(0, 50), st.sampled_from(Role.values)), max_size=5),
)
def test_scope_qs_match_a_walk_up_the_parents(shape, grants):
    with transaction.atomic():
        units = build_tree(shape)
        user = UserFactory.create(username="prop")
        given_grants: list[tuple[Unit, str]] = []
        for pick, role in grants:
            unit = units[pick % len(units)]
            if (unit, role) not in given_grants:
                membership_grant(actor=None, user=user, unit=unit, role=role)
                given_grants.append((unit, role))
        holding = set(Unit.objects.filter(holding_scope_q(user, "pk")).values_list("pk", flat=True))
        location = set(Unit.objects.filter(location_scope_q(user, "pk")).values_list("pk", flat=True))
        assert holding == expected_holding(units, given_grants)
        assert location == expected_location(units, given_grants)
        transaction.set_rollback(True)
