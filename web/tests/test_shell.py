"""The page shell: home links by role, the top bar, the unread-count slot, the error pages."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from core.tests.identity_helpers import login_verified
from orgs.choices import Role
from orgs.services import membership_grant
from web import navigation
from web.navigation import Workbench

pytestmark = pytest.mark.django_db


def test_links_follow_roles_admin_roles_and_existing_pages():
    saved = dict(navigation._REGISTRY)
    navigation._REGISTRY.clear()
    try:
        navigation.register(Workbench(key="home", label="工作台", url_name="core:home", order=0))
        navigation.register(
            Workbench(key="queue", label="派单", url_name="core:home", roles=frozenset({"dispatcher"}))
        )
        navigation.register(
            Workbench(key="admin", label="管理后台", url_name="admin:index", admin_roles=frozenset({"audit"}))
        )
        navigation.register(Workbench(key="ghost", label="未上线", url_name="nowhere:page"))
        handler = [link.key for link in navigation.links_for(roles={"handler"}, admin_role="")]
        dispatcher = [link.key for link in navigation.links_for(roles={"dispatcher"}, admin_role="")]
        auditor = [link.key for link in navigation.links_for(roles=set(), admin_role="audit")]
    finally:
        navigation._REGISTRY.clear()
        navigation._REGISTRY.update(saved)
    assert handler == ["home"]
    assert dispatcher == ["home", "queue"]
    assert auditor == ["home", "admin"]  # "ghost" has no page yet: never linked


def test_the_registered_entries_link_only_to_existing_pages():
    links = navigation.links_for(roles={"handler", "dispatcher", "agent"}, admin_role="system")
    keys = [link.key for link in links]
    assert {"home", "admin", "password"} <= set(keys)
    assert all(link.url.startswith("/") for link in links)


def test_home_shows_the_users_units_and_only_their_links(client, street_handler, tree):
    membership_grant(actor=None, user=street_handler, unit=tree.community, role=Role.SECRETARY)
    login_verified(client, street_handler)
    html = client.get("/").content.decode()
    assert "东华街道 · 承办人" in html and "等 1 个岗位" in html  # the top bar: first unit + count
    assert html.count('class="unit-list__item"') == 2
    assert reverse("admin:index") not in html
    assert reverse("core:password_change") in html
    assert 'aria-current="page"' in html  # the home tab is marked


def test_home_for_an_account_without_any_role_explains_what_to_do(client, tree):
    from orgs.tests.factories import UserFactory

    user = UserFactory.create(username="newbie", display_name="新同事")
    login_verified(client, user)
    html = client.get("/").content.decode()
    assert "您的账号还没有分配单位和岗位" in html


def test_the_shell_costs_a_fixed_number_of_queries(client, street_handler, tree, django_assert_num_queries):
    login_verified(client, street_handler)
    client.get("/")  # warm the session
    membership_grant(actor=None, user=street_handler, unit=tree.community, role=Role.SECRETARY)
    membership_grant(actor=None, user=street_handler, unit=tree.grid, role=Role.GRID_WORKER)
    # session, user, OTP device, memberships (one query however many units), unread count
    with django_assert_num_queries(5):
        assert client.get("/").status_code == 200


@override_settings(WEB_POLL_SECONDS=7)
def test_the_unread_slot_polls_in_the_background(client, street_handler):
    login_verified(client, street_handler)
    home = client.get("/").content.decode()
    assert 'hx-trigger="every 7s"' in home
    assert """hx-headers='{"X-Minhu-Background": "1"}'""" in home
    response = client.get(
        reverse("web:notification_count"), HTTP_X_MINHU_BACKGROUND="1", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<span id="notification-slot"') and 'hx-trigger="every 7s"' in body


def test_the_unread_slot_needs_a_signed_in_user(client):
    response = client.get(reverse("web:notification_count"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_404_page_is_chinese_and_styled(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html and "web/minhu.css" in html


def test_the_403_page_is_chinese(client, tree):
    from core.models.user import AdminRole
    from orgs.tests.factories import UserFactory

    auditor = UserFactory.create(username="auditor", admin_role=AdminRole.AUDIT, is_staff=True)
    login_verified(client, auditor)
    response = client.get("/admin/orgs/unit/add/")
    assert response.status_code == 403
    assert "无权访问此页面" in response.content.decode()


def test_the_csrf_failure_page_is_chinese():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert "页面已过期，请重新提交" in response.content.decode()


def test_the_500_page_renders_without_a_request_context():
    from web.views import server_error

    response = server_error(None)  # type: ignore[arg-type]
    assert response.status_code == 500
    assert "系统暂时出现问题" in response.content.decode()


def test_sign_in_pages_load_no_script_at_all(client):
    assert "<script" not in client.get("/login/").content.decode()


def test_signed_in_pages_load_htmx_configured_for_the_csp(client, street_handler):
    login_verified(client, street_handler)
    html = client.get("/").content.decode()
    assert "django_htmx/htmx-2.min.js" in html and "web/minhu.js" in html
    assert '"allowEval": false' in html and '"includeIndicatorStyles": false' in html
    assert '"historyCacheSize": 0' in html
