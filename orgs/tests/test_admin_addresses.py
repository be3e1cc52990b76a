"""The address-list admin: each change goes through ``orgs.addresses`` and writes one audit row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.tests.identity_helpers import login_verified
from orgs.addresses import address_create
from orgs.models import Address
from orgs.tests.conftest import AuditCounter

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for(client, city_admin):
    login_verified(client, city_admin)
    return client


def test_adding_an_address_in_the_admin_writes_one_audit_row(tree, admin_client_for, audit):
    response = admin_client_for.post(
        reverse("admin:orgs_address_add"),
        {"text": "东华路12号院3号楼", "grid": tree.grid.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    address = Address.objects.get(text="东华路12号院3号楼")
    assert address.grid == tree.grid
    assert audit.types() == ["orgs.address_create"]


def test_changing_and_deleting_an_address_each_write_one_audit_row(tree, city_admin, admin_client_for, audit):
    address = address_create(actor=city_admin, text="东华路1号", grid=tree.grid)
    audit = AuditCounter()
    url = reverse("admin:orgs_address_change", args=[address.pk])
    response = admin_client_for.post(url, {"text": "东华路1号", "grid": tree.other_grid.pk})
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.grid == tree.other_grid
    assert audit.types() == ["orgs.address_update"]

    audit = AuditCounter()
    response = admin_client_for.post(reverse("admin:orgs_address_delete", args=[address.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Address.objects.filter(pk=address.pk).exists()
    assert audit.types() == ["orgs.address_delete"]


def test_a_duplicate_address_is_refused_with_a_message_and_no_audit_row(
    tree, city_admin, admin_client_for, audit
):
    address_create(actor=city_admin, text="东华路1号", grid=tree.grid)
    audit = AuditCounter()
    response = admin_client_for.post(
        reverse("admin:orgs_address_add"), {"text": "东华路一号", "grid": tree.grid.pk}, follow=True
    )
    assert Address.objects.count() == 1
    assert audit.types() == []
    assert any("东华路" in str(m) or "已" in str(m) for m in response.context["messages"])


def test_the_address_list_search_finds_by_text(tree, city_admin, admin_client_for):
    address_create(actor=city_admin, text="东华路1号", grid=tree.grid)
    address_create(actor=city_admin, text="西长街8号", grid=tree.other_grid)
    response = admin_client_for.get(reverse("admin:orgs_address_changelist"), {"q": "西长"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "西长街8号" in body and "东华路1号" not in body
