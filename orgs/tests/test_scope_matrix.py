"""The scope matrix: every role × {inside, outside, ancestor, sibling} on both axes (DESIGN.md).

A user holds one role at a unit; each helper is asked about a target unit in each position
relative to it. Holding roles act for the subtree only; location roles oversee the territory
only; no role reaches up to an ancestor or across to a sibling or another district.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgs.choices import HOLDING_ROLES, LOCATION_ROLES, Role, UnitKind
from orgs.models import Unit
from orgs.permissions import user_can_act_for, user_oversees
from orgs.selectors import (
    holding_scope_q,
    location_scope_q,
    unit_ancestors,
    unit_subtree,
    unit_subtree_ids,
    units_held_by,
    units_overseen_by,
    user_roles_in,
)
from orgs.services import membership_grant, unit_deactivate
from orgs.tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

POSITIONS = ["inside", "outside", "ancestor", "sibling"]


def target_for(tree, home: Unit, position: str) -> Unit:
    """The unit at ``position`` relative to ``home`` (a street or the city department)."""
    street = home.kind == UnitKind.STREET
    if position == "inside":
        unit: Unit = tree.grid if street else tree.station
    elif position == "outside":
        unit = tree.other_grid
    elif position == "ancestor":
        unit = tree.district if street else tree.city
    else:
        unit = UnitFactory.create(parent=home.parent, kind=home.kind)
    return unit


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("role", Role.values)
def test_a_role_at_a_street_reaches_exactly_its_subtree_on_its_axis(tree, role, position):
    user = UserFactory.create()
    membership_grant(actor=None, user=user, unit=tree.street, role=role)
    target = target_for(tree, tree.street, position)
    inside = position == "inside"

    assert user_can_act_for(user, target) is (inside and role in HOLDING_ROLES)
    assert Unit.objects.filter(holding_scope_q(user, "pk"), pk=target.pk).exists() is (
        inside and role in HOLDING_ROLES
    )
    assert user_oversees(user, target) is (inside and role in LOCATION_ROLES)
    assert Unit.objects.filter(location_scope_q(user, "pk"), pk=target.pk).exists() is (
        inside and role in LOCATION_ROLES
    )
    assert user_roles_in(user, target) == ({role} if inside else set())
    assert list(units_held_by(user)) == ([tree.street] if role in HOLDING_ROLES else [])
    assert list(units_overseen_by(user)) == ([tree.street] if role in LOCATION_ROLES else [])


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("role", Role.values)
def test_a_role_at_a_department_holds_its_stations_and_oversees_no_territory(tree, role, position):
    user = UserFactory.create()
    membership_grant(actor=None, user=user, unit=tree.department, role=role)
    target = target_for(tree, tree.department, position)
    inside = position == "inside"

    assert user_can_act_for(user, target) is (inside and role in HOLDING_ROLES)
    assert Unit.objects.filter(holding_scope_q(user, "pk"), pk=target.pk).exists() is (
        inside and role in HOLDING_ROLES
    )
    assert user_oversees(user, target) is False
    assert not Unit.objects.filter(location_scope_q(user, "pk")).exists()
    assert list(units_overseen_by(user)) == []
    expected_roles = {role} if inside and role not in LOCATION_ROLES else set()
    assert user_roles_in(user, target) == expected_roles


@pytest.mark.parametrize("role", sorted(LOCATION_ROLES))
def test_a_station_lies_in_the_territory_of_its_street(tree, role):
    user = UserFactory.create()
    membership_grant(actor=None, user=user, unit=tree.street, role=role)
    assert user_oversees(user, tree.station)
    assert user_roles_in(user, tree.station) == {role}
    assert not user_can_act_for(user, tree.station, roles=[role])  # not on the tree axis
    assert not user_oversees(user, tree.department)


def test_the_city_territory_excludes_departments_but_includes_their_stations(tree):
    leader = UserFactory.create()
    membership_grant(actor=None, user=leader, unit=tree.city, role=Role.LEADER)
    overseen = set(Unit.objects.filter(location_scope_q(leader, "pk")).values_list("code", flat=True))
    assert overseen == {u.code for u in tree.all()} - {"D1"}


def test_the_named_cast_has_the_scopes_its_names_promise(
    tree, city_admin, district_dispatcher, street_handler, dept_handler, outsider
):
    assert user_can_act_for(district_dispatcher, tree.grid)
    assert not user_can_act_for(district_dispatcher, tree.department)
    assert user_can_act_for(street_handler, tree.community)
    assert not user_can_act_for(street_handler, tree.district)
    assert not user_can_act_for(street_handler, tree.station)
    assert user_can_act_for(dept_handler, tree.station)
    assert not user_can_act_for(dept_handler, tree.street)
    assert not user_can_act_for(outsider, tree.street)
    assert user_can_act_for(outsider, tree.other_grid)
    # An administrator role is not a scope: administrators manage, they do not act for units.
    assert not user_can_act_for(city_admin, tree.city)
    assert not Unit.objects.filter(holding_scope_q(city_admin, "pk")).exists()
    assert set(
        Unit.objects.filter(holding_scope_q(district_dispatcher, "pk")).values_list("code", flat=True)
    ) == {
        "T1",
        "T11",
        "T111",
        "T1111",
    }


def test_the_roles_argument_narrows_the_holding_axis(tree, district_dispatcher):
    assert user_can_act_for(district_dispatcher, tree.street, roles=[Role.DISPATCHER])
    assert not user_can_act_for(district_dispatcher, tree.street, roles=[Role.HANDLER])
    assert not units_held_by(district_dispatcher, roles=[Role.HANDLER]).exists()


def test_an_inactive_unit_gives_no_scope(tree, city_admin):
    leaf = UnitFactory.create(parent=tree.grid)
    user = UserFactory.create()
    membership_grant(actor=None, user=user, unit=leaf, role=Role.HANDLER)
    assert user_can_act_for(user, leaf)
    unit_deactivate(actor=city_admin, unit=leaf)
    assert not user_can_act_for(user, leaf)
    assert not Unit.objects.filter(holding_scope_q(user, "pk")).exists()


def test_an_inactive_or_anonymous_user_has_no_scope(tree, street_handler):
    from django.contrib.auth.models import AnonymousUser

    street_handler.is_active = False
    street_handler.save()
    assert not user_can_act_for(street_handler, tree.street)
    assert user_roles_in(street_handler, tree.street) == frozenset()
    assert not Unit.objects.filter(holding_scope_q(AnonymousUser(), "pk")).exists()
    assert not user_oversees(AnonymousUser(), tree.street)


def test_scope_q_filters_another_models_foreign_key(tree, street_handler):
    from orgs.models import Address

    Address.objects.create(text="东华路1号", normalized="东华路1号", grid=tree.grid)
    Address.objects.create(text="西长路1号", normalized="西长路1号", grid=tree.other_grid)
    assert list(
        Address.objects.filter(holding_scope_q(street_handler, "grid")).values_list("text", flat=True)
    ) == ["东华路1号"]
    secretary = UserFactory.create()
    membership_grant(actor=None, user=secretary, unit=tree.other_street, role=Role.SECRETARY)
    assert list(
        Address.objects.filter(location_scope_q(secretary, "grid")).values_list("text", flat=True)
    ) == ["西长路1号"]


def test_each_scope_helper_is_one_query(tree, street_handler, district_dispatcher):
    from orgs.models import Address

    for helper in (
        lambda: user_can_act_for(street_handler, tree.grid),
        lambda: user_oversees(street_handler, tree.grid),
        lambda: user_roles_in(district_dispatcher, tree.station),
        lambda: list(Address.objects.filter(holding_scope_q(district_dispatcher, "grid"))),
        lambda: list(Address.objects.filter(location_scope_q(district_dispatcher, "grid"))),
        lambda: list(units_held_by(street_handler)),
        lambda: list(unit_subtree(tree.district)),
        lambda: list(unit_ancestors(tree.grid)),
    ):
        with CaptureQueriesContext(connection) as ctx:
            helper()
        assert len(ctx.captured_queries) == 1


def test_subtree_and_ancestors(tree):
    assert list(unit_ancestors(tree.grid)) == [tree.city, tree.district, tree.street, tree.community]
    assert list(unit_ancestors(tree.grid, include_self=True))[-1] == tree.grid
    assert set(unit_subtree(tree.department)) == {tree.department, tree.station}
    assert set(unit_subtree(tree.department, include_self=False)) == {tree.station}
    assert set(Unit.objects.filter(pk__in=unit_subtree_ids(tree.street.pk))) == {
        tree.street,
        tree.community,
        tree.grid,
    }
