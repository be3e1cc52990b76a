"""The units and memberships admin: each change through the services, exactly one audit row each."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.tests.identity_helpers import login_verified
from orgs.choices import Role, UnitKind
from orgs.models import Membership, Unit, UnitClosure
from orgs.tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(client, city_admin):
    """The system administrator's browser: units (core.permissions.ADMIN_ACCESS)."""
    login_verified(client, city_admin)
    return client


@pytest.fixture
def security_client(client, tree):
    """The security administrator's browser: memberships."""
    login_verified(
        client, UserFactory.create(username="security_admin", is_staff=True, admin_role="security")
    )
    return client


def unit_form(unit: Unit, **changes) -> dict[str, str]:
    data = {
        "code": unit.code,
        "name": unit.name,
        "parent": str(unit.parent_id or ""),
        "located_in": str(unit.located_in_id or ""),
        "is_active": "on" if unit.is_active else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_creating_a_unit_in_the_admin_writes_one_audit_row(tree, admin_client_for, audit):
    response = admin_client_for.post(
        reverse("admin:orgs_unit_add"),
        {
            "code": "T12",
            "name": "东四街道",
            "kind": UnitKind.STREET,
            "parent": tree.district.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.get("Location") or response.content.decode()[:2000]
    unit = Unit.objects.get(code="T12")
    assert unit.level == 2
    assert set(UnitClosure.objects.filter(descendant=unit).values_list("ancestor__code", flat=True)) == {
        "T0",
        "T1",
        "T12",
    }
    assert audit.types() == ["orgs.unit_create"]
    assert audit.new()[0].actor_login == "city_admin"


def test_moving_a_unit_by_changing_its_parent_writes_one_audit_row(tree, admin_client_for, audit):
    response = admin_client_for.post(
        reverse("admin:orgs_unit_change", args=[tree.street.pk]),
        unit_form(tree.street, parent=str(tree.other_district.pk)),
    )
    assert response.status_code == 302, response.get("Location") or response.content.decode()[:2000]
    tree.grid.refresh_from_db()
    assert UnitClosure.objects.filter(ancestor=tree.other_district, descendant=tree.grid, depth=3).exists()
    assert not UnitClosure.objects.filter(ancestor=tree.district, descendant=tree.grid).exists()
    events = audit.new()
    assert [e.event_type for e in events] == ["orgs.unit_update"]
    assert (events[0].before["parent"], events[0].after["parent"]) == (
        tree.district.pk,
        tree.other_district.pk,
    )


def test_an_invalid_move_shows_a_chinese_form_error_and_changes_nothing(tree, admin_client_for, audit):
    response = admin_client_for.post(
        reverse("admin:orgs_unit_change", args=[tree.district.pk]),
        unit_form(tree.district, parent=str(tree.street.pk)),
    )
    assert response.status_code == 200
    assert "不能把单位移到它自己或它的下级单位之下" in response.content.decode()
    assert audit.new() == []


def test_a_wrong_kind_under_a_parent_is_a_form_error(tree, admin_client_for, audit):
    response = admin_client_for.post(
        reverse("admin:orgs_unit_add"),
        {
            "code": "X1",
            "name": "错挂网格",
            "kind": UnitKind.GRID,
            "parent": tree.district.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "不能挂在" in response.content.decode()
    assert not Unit.objects.filter(code="X1").exists()
    assert audit.new() == []


def test_granting_a_membership_in_the_admin_writes_one_audit_row(tree, security_client, audit):
    user = UserFactory.create(username="new_handler")
    response = security_client.post(
        reverse("admin:orgs_membership_add"),
        {"user": user.pk, "unit": tree.community.pk, "role": Role.HANDLER},
    )
    assert response.status_code == 302, response.get("Location") or response.content.decode()[:2000]
    assert Membership.objects.filter(user=user, unit=tree.community, role=Role.HANDLER).exists()
    assert audit.types() == ["orgs.membership_grant"]


def test_a_duplicate_membership_is_a_form_error(tree, street_handler, security_client, audit):
    response = security_client.post(
        reverse("admin:orgs_membership_add"),
        {"user": street_handler.pk, "unit": tree.street.pk, "role": Role.HANDLER},
    )
    assert response.status_code == 200
    assert street_handler.memberships.count() == 1
    assert audit.new() == []


def test_revoking_a_membership_in_the_admin_writes_one_audit_row(
    tree, street_handler, security_client, audit
):
    membership = street_handler.memberships.get()
    response = security_client.post(
        reverse("admin:orgs_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert audit.types() == ["orgs.membership_revoke"]


def test_deleting_a_unit_with_children_is_refused_with_a_chinese_message(tree, admin_client_for, audit):
    response = admin_client_for.post(
        reverse("admin:orgs_unit_delete", args=[tree.community.pk]), {"post": "yes"}, follow=True
    )
    assert "还有下级单位，不能删除" in response.content.decode()
    assert Unit.objects.filter(pk=tree.community.pk).exists()
    assert audit.new() == []


def test_deleting_a_unit_with_members_is_refused(tree, admin_client_for, street_handler, audit):
    leaf_street = UnitFactory.create(parent=tree.district)
    UserFactory.create()
    from orgs.services import membership_grant

    membership_grant(actor=None, user=street_handler, unit=leaf_street, role=Role.HANDLER)
    start = len(audit.new())
    response = admin_client_for.post(
        reverse("admin:orgs_unit_delete", args=[leaf_street.pk]), {"post": "yes"}, follow=True
    )
    assert "还有人员岗位，不能删除" in response.content.decode()
    assert len(audit.new()) == start


def test_deleting_a_free_leaf_in_the_admin_writes_one_audit_row(tree, admin_client_for, audit):
    leaf = UnitFactory.create(parent=tree.grid)
    start = len(audit.new())
    response = admin_client_for.post(reverse("admin:orgs_unit_delete", args=[leaf.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Unit.objects.filter(pk=leaf.pk).exists()
    assert [e.event_type for e in audit.new()[start:]] == ["orgs.unit_delete"]


def test_the_change_page_shows_the_path_read_only(tree, admin_client_for):
    response = admin_client_for.get(reverse("admin:orgs_unit_change", args=[tree.grid.pk]))
    assert response.status_code == 200
    assert "测试市 / 东城区 / 东华街道 / 东华社区 / 东华一网格" in response.content.decode()


def test_the_unit_list_searches_and_filters(tree, admin_client_for):
    response = admin_client_for.get(
        reverse("admin:orgs_unit_changelist"), {"q": "东华", "kind__exact": "street"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "东华街道" in body and "东华社区" not in body


def test_the_located_in_autocomplete_offers_streets_only(tree, admin_client_for):
    response = admin_client_for.get(
        reverse("admin:autocomplete"),
        {"app_label": "orgs", "model_name": "unit", "field_name": "located_in", "term": "东华"},
    )
    names = {r["text"] for r in response.json()["results"]}
    assert names == {"东华街道"}


def test_the_security_administrator_cannot_add_units(tree, security_client, audit):
    response = security_client.post(
        reverse("admin:orgs_unit_add"),
        {"code": "T13", "name": "越权街道", "kind": UnitKind.STREET, "parent": tree.district.pk},
    )
    assert response.status_code == 403
    assert audit.new() == []


def test_the_system_administrator_cannot_grant_memberships(tree, admin_client_for, audit):
    user = UserFactory.create(username="hopeful")
    response = admin_client_for.post(
        reverse("admin:orgs_membership_add"), {"user": user.pk, "unit": tree.street.pk, "role": Role.HANDLER}
    )
    assert response.status_code == 403
    assert not user.memberships.exists()
    assert audit.new() == []
