"""membership_grant / membership_revoke: audited, duplicates refused, only the right administrators."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from core.models.user import AdminRole
from orgs.choices import Role
from orgs.models import Membership
from orgs.services import OrgError, membership_grant, membership_revoke, unit_deactivate
from orgs.tests.factories import MembershipFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_grant_writes_the_membership_and_one_audit_row(tree, audit):
    security_admin = UserFactory.create(admin_role=AdminRole.SECURITY)
    user = UserFactory.create()
    membership = membership_grant(actor=security_admin, user=user, unit=tree.street, role=Role.SECRETARY)
    assert Membership.objects.get() == membership
    events = audit.new()
    assert [e.event_type for e in events] == ["orgs.membership_grant"]
    assert events[0].after == {"user": user.pk, "unit": tree.street.pk, "role": "secretary"}
    assert events[0].actor_id == security_admin.pk


def test_a_duplicate_grant_is_refused_in_chinese(tree, street_handler, audit):
    with pytest.raises(OrgError, match="已在“东华街道”担任承办人"):
        membership_grant(actor=None, user=street_handler, unit=tree.street, role=Role.HANDLER)
    assert audit.new() == []


def test_the_same_user_may_hold_another_role_or_another_unit(tree, street_handler):
    membership_grant(actor=None, user=street_handler, unit=tree.street, role=Role.SECRETARY)
    membership_grant(actor=None, user=street_handler, unit=tree.community, role=Role.HANDLER)
    assert street_handler.memberships.count() == 3


def test_an_unknown_role_is_refused(tree):
    with pytest.raises(OrgError, match="未知的角色"):
        membership_grant(actor=None, user=UserFactory.create(), unit=tree.street, role="king")


def test_no_grant_in_an_inactive_unit(tree, city_admin):
    leaf = UnitFactory.create(parent=tree.grid)
    unit_deactivate(actor=city_admin, unit=leaf)
    with pytest.raises(OrgError, match="已停用"):
        membership_grant(actor=None, user=UserFactory.create(), unit=leaf, role=Role.GRID_WORKER)


def test_revoke_deletes_and_audits_once(tree, street_handler, audit):
    membership = street_handler.memberships.get()
    membership_revoke(actor=UserFactory.create(admin_role=AdminRole.SECURITY), membership=membership)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    events = audit.new()
    assert [e.event_type for e in events] == ["orgs.membership_revoke"]
    assert events[0].before == {"user": street_handler.pk, "unit": tree.street.pk, "role": "handler"}


def test_revoking_twice_is_refused(tree, street_handler):
    membership = street_handler.memberships.get()
    membership_revoke(actor=None, membership=membership)
    with pytest.raises(OrgError, match="不存在或已被撤销"):
        membership_revoke(actor=None, membership=membership)


@pytest.mark.parametrize(
    ("admin_role", "allowed"),
    [
        (AdminRole.SECURITY, True),
        (AdminRole.SYSTEM, False),
        (AdminRole.AUDIT, False),
        (AdminRole.NONE, False),
    ],
)
def test_only_the_security_administrator_grants_and_revokes(tree, admin_role, allowed):
    actor = UserFactory.create(admin_role=admin_role)
    user = UserFactory.create()
    if allowed:
        membership = membership_grant(actor=actor, user=user, unit=tree.street, role=Role.HANDLER)
        membership_revoke(actor=actor, membership=membership)
    else:
        with pytest.raises(PermissionDenied):
            membership_grant(actor=actor, user=user, unit=tree.street, role=Role.HANDLER)
        membership = MembershipFactory.create(user=user, unit=tree.street)
        with pytest.raises(PermissionDenied):
            membership_revoke(actor=actor, membership=membership)


def test_an_audit_administrator_cannot_grant_themself_a_role(tree):
    auditor = UserFactory.create(admin_role=AdminRole.AUDIT)
    with pytest.raises(PermissionDenied):
        membership_grant(actor=auditor, user=auditor, unit=tree.city, role=Role.LEADER)
    assert not auditor.memberships.exists()


def test_membership_factory_grants_through_the_service(tree, audit):
    membership = MembershipFactory.create(unit=tree.grid, role=Role.GRID_WORKER)
    assert membership.pk is not None
    assert audit.types() == ["orgs.membership_grant"]
