"""The catalog admin pages render in Chinese, search and filter, and a real POST audits once."""

from __future__ import annotations

import pytest

from catalog.models import CatalogItem
from core.models import AuditEvent
from core.tests.identity_helpers import login_verified, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = make_user("catalog_root", is_staff=True, is_superuser=True, admin_role="system")
    login_verified(client, user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/category/",
        "/admin/catalog/category/?level=2&q=环境",
        "/admin/catalog/catalogitem/?q=ljfl",
        "/admin/catalog/catalogitem/add/",
        "/admin/catalog/responsibilityrule/?handling_level=street&limit_unit=hours",
        "/admin/catalog/responsibilityrule/add/",
        "/admin/catalog/knowledgeanswer/?validity=open&q=垃圾",
        "/admin/catalog/knowledgeanswer/add/",
    ],
)
def test_admin_pages_render(admin_client, catalog, url):
    response = admin_client.get(url)
    assert response.status_code == 200


def test_item_search_in_the_admin_finds_pinyin_initials(admin_client, catalog):
    response = admin_client.get("/admin/catalog/catalogitem/?q=ljfl")
    assert "垃圾分类" in response.content.decode()
    assert "施工噪音" not in response.content.decode()


def test_a_real_admin_post_writes_exactly_one_audit_row(admin_client, catalog):
    before = AuditEvent.objects.count()
    response = admin_client.post(
        f"/admin/catalog/catalogitem/{catalog.noise.pk}/change/",
        {"code": "010102", "name": "夜间施工噪音", "subcategory": catalog.sub.pk, "keywords": "夜间施工"},
    )
    assert response.status_code == 302
    assert CatalogItem.objects.get(pk=catalog.noise.pk).name == "夜间施工噪音"
    assert AuditEvent.objects.count() == before + 1
    assert (
        AuditEvent.objects.order_by("-seq").values_list("event_type", flat=True)[0] == "catalog.item_update"
    )
