"""Orders in the admin are read-only and never show the requester; units carrying orders are
reported to the division import (``orgs.divisions``) as active."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models.user import AdminRole
from core.tests.identity_helpers import login_verified
from orders.activity import units_with_orders
from orgs.divisions import units_with_activity
from orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_units_with_orders_names_the_grid_and_the_intake_unit_only(cast, order):
    tree = cast.tree
    ids = [tree.grid.pk, tree.other_grid.pk, tree.street.pk]
    assert units_with_orders(ids) == {tree.grid.pk}
    assert units_with_orders([]) == set()


def test_the_division_import_sees_orders_as_activity(cast, order):
    # orders registers its check in OrdersConfig.ready(): no user sits in the other grid, and the
    # order's grid counts as active because of the order alone.
    assert cast.tree.grid.pk in units_with_activity([cast.tree.grid.pk])
    assert units_with_activity([cast.tree.other_grid.pk]) == set()


@pytest.fixture
def sysadmin_client(client, tree):
    user = UserFactory.create(username="sys", is_staff=True, admin_role=AdminRole.SYSTEM)
    login_verified(client, user)
    return client


def test_the_system_admin_reads_an_order_without_its_requester(sysadmin_client, order):
    page = sysadmin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert order.number in body
    assert "13800138000" not in body and "张三" not in body
    listing = sysadmin_client.get(reverse("admin:orders_order_changelist"), {"q": order.number})
    assert listing.status_code == 200 and order.number in listing.content.decode()


def test_orders_cannot_be_changed_or_deleted_in_the_admin(sysadmin_client, order):
    before = (order.status, order.version)
    response = sysadmin_client.post(
        reverse("admin:orders_order_change", args=[order.pk]), {"title": "改掉", "status": "closed"}
    )
    assert response.status_code == 403
    assert (
        sysadmin_client.post(
            reverse("admin:orders_order_delete", args=[order.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    order.refresh_from_db()
    assert (order.status, order.version) == before and order.title != "改掉"
