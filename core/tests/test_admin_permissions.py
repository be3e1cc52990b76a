"""Separation of duties in the admin (AC-3): the role × permission matrix, self-grants, actions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from core import identity
from core.models import AuditEvent, User
from core.permissions import can_admin
from core.tests.identity_helpers import login_verified, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)

SYSTEM_MODELS = [
    "orgs.unit",
    "orgs.address",
    "catalog.category",
    "catalog.catalogitem",
    "catalog.responsibilityrule",
    "catalog.knowledgeanswer",
    "core.calendarday",
    "core.calendaryear",
]
SECURITY_MODELS = ["orgs.membership"]
AUDIT_MODELS = ["core.auditevent", "core.auditcheckpoint"]
ALL_ACTIONS = ("view", "add", "change", "delete")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admins():
    return {
        "system": make_user("sysadmin", admin_role="system", is_staff=True),
        "security": make_user("secadmin", admin_role="security", is_staff=True),
        "audit": make_user("auditadmin", admin_role="audit", is_staff=True),
        "nobody": make_user("handler"),
    }


def expected(role: str, label: str, action: str) -> bool:
    if label in SYSTEM_MODELS:
        return role == "system"
    if label in SECURITY_MODELS:
        return role == "security"
    if label in AUDIT_MODELS:
        return role == "audit" and action == "view"
    if label == "core.user":
        return {
            "view": role in ("system", "security"),
            "add": role == "system",
            "change": role in ("system", "security"),
            "delete": False,
        }[action]
    raise AssertionError(label)


@pytest.mark.parametrize("label", SYSTEM_MODELS + SECURITY_MODELS + AUDIT_MODELS + ["core.user"])
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_role_permission_matrix(admins, label, action):
    for role, user in admins.items():
        assert can_admin(user, label, action) == expected(role, label, action), (role, label, action)


def test_no_role_can_alter_or_delete_audit_and_no_role_both_grants_and_alters_audit(admins):
    for user in admins.values():
        for label in AUDIT_MODELS + ["core.auditchainhead"]:
            for action in ("add", "change", "delete"):
                assert not can_admin(user, label, action)
    granters = {r for r, u in admins.items() if can_admin(u, "orgs.membership", "change")}
    audit_readers = {r for r, u in admins.items() if can_admin(u, "core.auditevent", "view")}
    assert granters == {"security"} and audit_readers == {"audit"}
    assert not granters & audit_readers


def test_models_missing_from_the_map_are_closed(admins):
    for user in admins.values():
        assert not can_admin(user, "orgs.unitclosure", "view")


def test_a_disabled_admin_has_no_rights(admins):
    admins["system"].disabled_at = NOW
    assert not can_admin(admins["system"], "orgs.unit", "view")


@override_settings(DEBUG=False)
def test_a_superuser_gets_nothing_outside_debug():
    root = User(username="root", is_superuser=True, is_staff=True, is_active=True)
    assert not can_admin(root, "orgs.unit", "view")
    with override_settings(DEBUG=True):
        assert can_admin(root, "orgs.unit", "change")
        assert not can_admin(root, "core.auditevent", "change")


def test_granting_yourself_a_role_fails(admins):
    sec = admins["security"]
    with pytest.raises(PermissionDenied):
        identity.admin_role_grant(actor=sec, user=sec, role="audit", now=NOW)
    sec.refresh_from_db()
    assert sec.admin_role == "security"
    assert not AuditEvent.objects.filter(event_type__startswith="user.admin_role").exists()


@pytest.mark.parametrize("role", ["system", "audit", "nobody"])
def test_only_the_security_admin_grants_roles(admins, role):
    with pytest.raises(PermissionDenied):
        identity.admin_role_grant(actor=admins[role], user=admins["nobody"], role="audit", now=NOW)


def test_the_security_admin_grants_a_role_with_staff_and_one_audit_row(admins):
    user = identity.admin_role_grant(actor=admins["security"], user=admins["nobody"], role="audit", now=NOW)
    assert user.admin_role == "audit" and user.is_staff
    row = AuditEvent.objects.get(event_type="user.admin_role_grant")
    assert row.before == {"admin_role": "", "is_staff": False}
    assert row.after == {"admin_role": "audit", "is_staff": True}
    user = identity.admin_role_grant(actor=admins["security"], user=user, role="", now=NOW)
    assert not user.is_staff
    with pytest.raises(ValidationError):
        identity.admin_role_grant(actor=admins["security"], user=user, role="root", now=NOW)


def test_the_admin_index_shows_each_role_only_its_own_models(client, admins):
    login_verified(client, admins["audit"])
    page = client.get("/admin/").content.decode()
    assert "审计日志" in page and "/admin/core/user/" not in page
    assert client.get("/admin/core/auditevent/").status_code == 200
    assert client.get("/admin/core/user/").status_code == 403
    client.logout()
    login_verified(client, admins["system"])
    assert client.get("/admin/core/auditevent/").status_code == 403
    assert client.get("/admin/core/user/").status_code == 200
    page = client.get("/admin/").content.decode()
    assert "管理后台" in page or "民呼" in page


def test_ordinary_users_cannot_enter_the_admin(client, admins):
    login_verified(client, admins["nobody"])
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_audit_events_cannot_be_changed_in_the_admin(client, admins):
    login_verified(client, admins["audit"])
    row = AuditEvent.objects.order_by("seq")[0]
    response = client.post(f"/admin/core/auditevent/{row.pk}/change/", {"event_type": "forged"})
    assert response.status_code == 403
    assert client.get(f"/admin/core/auditevent/{row.pk}/delete/").status_code == 403
    assert client.get("/admin/core/auditevent/?q=auth.login").status_code == 200


def test_the_core_admin_registrations_replace_the_third_party_ones():
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert {
        "core.user",
        "core.apitoken",
        "core.auditevent",
        "core.auditcheckpoint",
        "axes.accessattempt",
        "axes.accessfailurelog",
        "otp_totp.totpdevice",
    } <= registered
    assert not {"auth.group", "axes.accesslog"} & registered


def test_every_model_in_the_admin_is_in_the_separation_of_duties_map():
    """A model registered in the admin but missing from ADMIN_ACCESS is closed to every role, so
    its page would be dead; each app must state who sees it."""
    from django.contrib import admin

    from core.permissions import ADMIN_ACCESS

    missing = sorted(
        m._meta.label_lower for m in admin.site._registry if m._meta.label_lower not in ADMIN_ACCESS
    )
    assert missing == []
