"""Separation of duties for administrators (SECURITY.md AC-3) and who needs a second factor.

Three administrator roles, none of which can do another's job:

- system admin 系统管理员: units, users (not their roles), catalog, rules, calendar, addresses,
  knowledge base;
- security admin 安全管理员: memberships (roles), administrator-role grants, lockouts, MFA resets,
  sessions;
- audit admin 审计管理员: reads the audit log, nothing else.

Nobody may alter or delete audit rows (there is no such permission at all), so no role can both
grant permissions and alter audit. ``ADMIN_ACCESS`` maps a model label (``app_label.modelname``)
to the roles allowed each admin action; a model missing from the map is closed to everyone.
``core.admin_base`` consults it through ``has_*_permission``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings

from core.models.user import AdminRole

Action = Literal["view", "add", "change", "delete"]

SYSTEM = frozenset({AdminRole.SYSTEM.value})
SECURITY = frozenset({AdminRole.SECURITY.value})
AUDIT = frozenset({AdminRole.AUDIT.value})
NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ModelAccess:
    view: frozenset[str]
    add: frozenset[str] = NOBODY
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY

    def roles_for(self, action: Action) -> frozenset[str]:
        roles: frozenset[str] = getattr(self, action)
        return roles


def _config(roles: frozenset[str]) -> ModelAccess:
    """Full configuration rights for ``roles``."""
    return ModelAccess(view=roles, add=roles, change=roles, delete=roles)


ADMIN_ACCESS: dict[str, ModelAccess] = {
    # system administrator: the organisation, users, catalog, rules, calendar, addresses, knowledge
    "orgs.unit": _config(SYSTEM),
    "orgs.address": _config(SYSTEM),
    "catalog.category": _config(SYSTEM),
    "catalog.catalogitem": _config(SYSTEM),
    "catalog.responsibilityrule": _config(SYSTEM),
    "catalog.knowledgeanswer": _config(SYSTEM),
    "core.calendarday": _config(SYSTEM),
    "core.calendaryear": _config(SYSTEM),
    "core.calendarstate": ModelAccess(view=SYSTEM),
    # Users: the system admin creates, edits and disables accounts, but the admin_role field is
    # only the security admin's (see core.admin.UserAdmin); nobody deletes an account.
    "core.user": ModelAccess(view=SYSTEM | SECURITY, add=SYSTEM, change=SYSTEM | SECURITY),
    "core.apitoken": ModelAccess(view=SYSTEM | SECURITY, change=SECURITY),
    # security administrator: roles, lockouts, second factors
    "orgs.membership": _config(SECURITY),
    "axes.accessattempt": ModelAccess(view=SECURITY, delete=SECURITY),
    "axes.accessfailurelog": ModelAccess(view=SECURITY),
    "otp_totp.totpdevice": ModelAccess(view=SECURITY),
    "whistles.whistletypelimit": _config(SYSTEM),
    # domain records are read-only in the admin (they change only through their services)
    "orders.order": ModelAccess(view=SYSTEM),
    "orders.assignment": ModelAccess(view=SYSTEM),
    "orders.orderevent": ModelAccess(view=SYSTEM),
    "whistles.whistle": ModelAccess(view=SYSTEM),
    "whistles.summons": ModelAccess(view=SYSTEM),
    "whistles.whistletask": ModelAccess(view=SYSTEM),
    "whistles.departmentrating": ModelAccess(view=SYSTEM),
    "whistles.whistleevent": ModelAccess(view=SYSTEM),
    "whistles.whistlenotification": ModelAccess(view=SYSTEM),
    "whistles.whistlewarning": ModelAccess(view=SYSTEM),
    # assessment: the city's rate factors are configuration (saved through their service); the
    # rest are records and computed figures
    "assessment.assessmentconfig": ModelAccess(view=SYSTEM, add=SYSTEM, change=SYSTEM),
    "assessment.appeal": ModelAccess(view=SYSTEM),
    "assessment.departmentevaluation": ModelAccess(view=SYSTEM),
    "assessment.orderfact": ModelAccess(view=SYSTEM),
    "assessment.unitdailycount": ModelAccess(view=SYSTEM),
    "assessment.fillstate": ModelAccess(view=SYSTEM),
    "assessment.earlywarning": ModelAccess(view=SYSTEM),
    "assessment.briefing": ModelAccess(view=SYSTEM),
    # integration credentials (telephony systems, Open311 clients) are the security admin's
    "intake.telephonysystem": _config(SECURITY),
    "intake.open311client": _config(SECURITY),
    # audit administrator: read only; nobody can change or delete audit rows
    "core.auditevent": ModelAccess(view=AUDIT),
    "core.auditcheckpoint": ModelAccess(view=AUDIT),
}

# Models no role may ever change, whatever the map says (a guard against a careless edit).
IMMUTABLE_MODELS = frozenset({"core.auditevent", "core.auditcheckpoint", "core.auditchainhead"})


def _debug_superuser(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) and settings.DEBUG)


def user_admin_role(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return ""
    if getattr(user, "disabled_at", None) is not None:
        return ""
    return str(getattr(user, "admin_role", "") or "")


def can_admin(user: Any, label: str, action: Action) -> bool:
    """May ``user`` do ``action`` on model ``label`` in the admin?"""
    label = label.lower()
    if label in IMMUTABLE_MODELS and action != "view":
        return False
    access = ADMIN_ACCESS.get(label)
    role = user_admin_role(user)
    if access is not None and role and role in access.roles_for(action):
        return True
    # A superuser only exists in development (core.checks warns otherwise); it gets everything
    # but audit changes, and only while DEBUG is on.
    return _debug_superuser(user) and getattr(user, "is_active", False)


def can_view_module(user: Any, app_label: str) -> bool:
    prefix = f"{app_label.lower()}."
    return any(can_admin(user, label, "view") for label in ADMIN_ACCESS if label.startswith(prefix))


def can_grant_admin_role(actor: Any, target: Any) -> bool:
    """Only a security admin grants administrator roles, and never to themself."""
    if user_admin_role(actor) != AdminRole.SECURITY:
        return False
    return getattr(actor, "pk", None) != getattr(target, "pk", None)


def can_manage_users(actor: Any) -> bool:
    return user_admin_role(actor) == AdminRole.SYSTEM or _debug_superuser(actor)


def can_manage_security(actor: Any) -> bool:
    """Unlock accounts, end sessions, reset second factors."""
    return user_admin_role(actor) == AdminRole.SECURITY or _debug_superuser(actor)


def can_read_audit(actor: Any) -> bool:
    return user_admin_role(actor) == AdminRole.AUDIT or _debug_superuser(actor)


def mfa_all_roles() -> bool:
    """``MFA_ALL_ROLES`` setting; defaults to True under the MLPS profile, False under ASVS."""
    value = getattr(settings, "MFA_ALL_ROLES", None)
    if value is None:
        from core.passwords import PROFILE_MLPS, password_profile

        return password_profile() == PROFILE_MLPS
    return bool(value)


def mfa_required(user: Any) -> bool:
    """Must ``user`` pass a TOTP second factor (AUTH-5)?

    Always for administrators; for every account when ``MFA_ALL_ROLES`` (MLPS default).
    Demo accounts (``is_demo``) are exempt: they only authenticate while ``settings.DEMO`` is on,
    and the deploy check refuses DEMO, so the exemption never exists in production.
    """
    if getattr(user, "is_demo", False) and settings.DEMO:
        return False
    if getattr(user, "admin_role", ""):
        return True
    return mfa_all_roles()


def user_is_verified(user: Any) -> bool:
    """Has this request's user passed the second factor? (django-otp's OTPMiddleware, or a device
    set by ``django_otp.login`` earlier in the same request.)"""
    check = getattr(user, "is_verified", None)
    if callable(check):
        return bool(check())
    return getattr(user, "otp_device", None) is not None
