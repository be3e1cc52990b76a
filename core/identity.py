"""Every write to accounts, sessions, second factors, lockouts and API tokens.

Each public service checks the actor's permission (core.permissions), runs in one transaction and
writes exactly one audit row in it, so a failed audit write undoes the action (AU-5).
Services that end sessions bump ``User.session_epoch`` (which also kills API tokens) and delete the
session rows (AUTH-6).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from core import permissions
from core.audit import audit_record
from core.auth import session_store
from core.models import ApiToken, PasswordHistory, User, UserSession
from core.models.user import AdminRole

API_TOKEN_PREFIX = "mh_"  # noqa: S105  (a public marker, not a secret)


def require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied(_("您没有权限执行此操作。"))


def user_snapshot(user: User) -> dict[str, Any]:
    """What an audit row shows of an account (never the password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "admin_role": user.admin_role,
        "must_change_password": user.must_change_password,
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        "expires_at": user.expires_at.isoformat() if user.expires_at else None,
    }


def generate_password(length: int = 16) -> str:
    """A random password that satisfies both profiles (all four character classes)."""
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*-_=+"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(not c.isalnum() for c in candidate)
        ):
            return candidate


# --- sessions ---------------------------------------------------------------------------------


def _end_sessions(user: User, *, keep_session_key: str | None = None) -> int:
    """Delete the stored sessions of ``user`` (no audit: callers audit their own action)."""
    rows = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    ended = 0
    for key in rows:
        if key == keep_session_key:
            continue
        session_store(key).delete()
        ended += 1
    UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or "").delete()
    return ended


def _bump_epoch(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


@transaction.atomic
def sessions_kill_user(*, actor: User, user: User, now: datetime) -> int:
    """End every session and API token of ``user`` (AUTH-6). Returns the sessions ended."""
    require(permissions.can_manage_users(actor) or permissions.can_manage_security(actor))
    _bump_epoch(user)
    ended = _end_sessions(user)
    audit_record(
        event_type="session.kill_user",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        extra={"sessions_ended": ended, "epoch": user.session_epoch},
        now=now,
    )
    return ended


@transaction.atomic
def sessions_kill_all(*, actor: User, now: datetime, keep_session_key: str | None = None) -> int:
    """End every session of every account, except the actor's current one (``keep_session_key``)."""
    require(permissions.can_manage_security(actor))
    keys = set(UserSession.objects.values_list("session_key", flat=True))
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        keys |= set(Session.objects.values_list("session_key", flat=True))
    keys.discard(keep_session_key or "")
    for key in keys:
        session_store(key).delete()
    UserSession.objects.exclude(session_key=keep_session_key or "").delete()
    audit_record(
        event_type="session.kill_all",
        actor=actor,
        object_type="session",
        extra={"sessions_ended": len(keys)},
        now=now,
    )
    return len(keys)


# --- accounts ---------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    now: datetime,
    display_name: str = "",
    email: str = "",
    must_change_password: bool = True,
) -> User:
    """Create an account with a unique login ID (AUTH-1); the first login forces a password change.

    ``actor`` None is only for trusted bootstrap code (commands, the demo city).
    """
    if actor is not None:
        require(permissions.can_manage_users(actor))
    username = username.strip()
    if not username:
        raise ValidationError(_("登录名不能为空。"))
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("登录名“%(u)s”已被使用。") % {"u": username}, code="duplicate_username")
    user = User(
        username=username,
        display_name=display_name,
        email=email,
        must_change_password=must_change_password,
        password_changed_at=now,
        date_joined=now,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    audit_record(
        event_type="user.create",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        after=user_snapshot(user),
        now=now,
    )
    return user


def _may_disable(actor: User, user: User) -> bool:
    """System admins handle ordinary accounts; accounts holding an admin role need the security admin."""
    if actor.pk == user.pk:
        return False
    if user.admin_role:
        return permissions.can_manage_security(actor)
    return permissions.can_manage_users(actor)


def _disable(user: User, *, now: datetime) -> None:
    user.disabled_at = now
    user.is_active = False
    user.save(update_fields=["disabled_at", "is_active"])
    _bump_epoch(user)
    _end_sessions(user)


@transaction.atomic
def user_disable(*, actor: User, user: User, now: datetime, reason: str = "") -> User:
    """Disable an account: it can no longer log in, its sessions and API tokens die (AUTH-6)."""
    require(_may_disable(actor, user))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.disabled_at is not None:
        raise ValidationError(_("该账号已停用。"))
    before = user_snapshot(user)
    _disable(user, now=now)
    audit_record(
        event_type="user.disable",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        before=before,
        after=user_snapshot(user),
        extra={"reason": reason[:200]},
        now=now,
    )
    return user


@transaction.atomic
def user_enable(*, actor: User, user: User, now: datetime) -> User:
    """Re-enable an account; the inactivity clock restarts now."""
    require(_may_disable(actor, user))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.disabled_at is None and user.is_active:
        raise ValidationError(_("该账号未停用。"))
    before = user_snapshot(user)
    user.disabled_at = None
    user.is_active = True
    user.enabled_at = now
    user.save(update_fields=["disabled_at", "is_active", "enabled_at"])
    audit_record(
        event_type="user.enable",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        before=before,
        after=user_snapshot(user),
        now=now,
    )
    return user


def stale_accounts(*, now: datetime, days: int | None = None) -> Any:
    """Enabled accounts with no login (nor creation, nor re-enabling) in the last ``days`` (AC-4)."""
    days = int(settings.ACCOUNT_INACTIVE_DAYS) if days is None else days
    cutoff = now - timedelta(days=days)
    return (
        User.objects.filter(disabled_at__isnull=True, is_active=True)
        .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
        .filter(Q(enabled_at__isnull=True) | Q(enabled_at__lt=cutoff))
        .order_by("pk")
    )


def accounts_disable_stale(*, now: datetime, days: int | None = None, dry_run: bool = False) -> list[str]:
    """Disable every stale account (system job, AC-4); one transaction and audit row per account."""
    disabled: list[str] = []
    for user in list(stale_accounts(now=now, days=days)):
        if not dry_run:
            _disable_stale_one(user=user, now=now)
        disabled.append(user.username)
    return disabled


@transaction.atomic
def _disable_stale_one(*, user: User, now: datetime) -> None:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.disabled_at is not None:
        return
    before = user_snapshot(user)
    _disable(user, now=now)
    audit_record(
        event_type="user.disable",
        actor=None,
        actor_login="system",
        object_type="core.User",
        object_id=user.pk,
        before=before,
        after=user_snapshot(user),
        extra={"reason": "inactive", "inactive_days": int(settings.ACCOUNT_INACTIVE_DAYS)},
        now=now,
    )


# --- passwords --------------------------------------------------------------------------------


def _store_password(user: User, new_password: str, *, now: datetime) -> None:
    if user.password:
        PasswordHistory.objects.create(user=user, password=user.password, created_at=now)
        keep = max(int(settings.PASSWORD_HISTORY), 1)
        stale = PasswordHistory.objects.filter(user=user).order_by("-created_at", "-pk")[keep:]
        PasswordHistory.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    user.set_password(new_password)
    user.password_changed_at = now


@transaction.atomic
def password_change(*, actor: User, user: User, old_password: str, new_password: str, now: datetime) -> User:
    """The user changes their own password: policy and history checked, every session ended.

    The caller keeps the current browser session with ``core.auth.session_rebind``.
    """
    require(actor.pk == user.pk)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password):
        raise ValidationError(_("当前密码不正确。"), code="password_incorrect")
    validate_password(new_password, user)
    _store_password(user, new_password, now=now)
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    _bump_epoch(user)
    _end_sessions(user)
    audit_record(
        event_type="user.password_change",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        now=now,
    )
    return user


@transaction.atomic
def password_reset(*, actor: User, user: User, now: datetime) -> tuple[User, str]:
    """An administrator sets a random temporary password; the user must change it at next login.

    The second factor stays: a reset never bypasses MFA (AUTH-5). Returns the temporary password
    for the administrator to hand over; it is never stored or audited in clear.
    """
    require(_may_disable(actor, user))
    user = User.objects.select_for_update().get(pk=user.pk)
    temporary = generate_password()
    _store_password(user, temporary, now=now)
    user.must_change_password = True
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    _bump_epoch(user)
    _end_sessions(user)
    audit_record(
        event_type="user.password_reset", actor=actor, object_type="core.User", object_id=user.pk, now=now
    )
    return user, temporary


# --- administrator roles (AC-3) -----------------------------------------------------------------


@transaction.atomic
def admin_role_grant(*, actor: User, user: User, role: str, now: datetime) -> User:
    """Set (or clear, with ``role=""``) a user's administrator role. Only the security admin, never
    for themself. The staff flag follows the role; the user's sessions end so MFA applies anew."""
    require(permissions.can_grant_admin_role(actor, user))
    if role not in AdminRole.values:
        raise ValidationError(_("未知的管理角色。"))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_superuser:
        raise ValidationError(_("不能为超级用户分配管理角色。"))
    before = {"admin_role": user.admin_role, "is_staff": user.is_staff}
    if before["admin_role"] == role:
        raise ValidationError(_("角色没有变化。"))
    user.admin_role = role
    user.is_staff = bool(role)
    user.save(update_fields=["admin_role", "is_staff"])
    _bump_epoch(user)
    _end_sessions(user)
    audit_record(
        event_type="user.admin_role_grant" if role else "user.admin_role_revoke",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        before=before,
        after={"admin_role": user.admin_role, "is_staff": user.is_staff},
        now=now,
    )
    return user


# --- second factor --------------------------------------------------------------------------------


@transaction.atomic
def mfa_reset(*, actor: User, user: User, now: datetime) -> int:
    """Remove a user's TOTP devices (lost phone). The next login must enrol a new one first."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    require(permissions.can_manage_security(actor) and actor.pk != user.pk)
    count, _details = TOTPDevice.objects.filter(user=user).delete()
    _bump_epoch(user)
    _end_sessions(user)
    audit_record(
        event_type="mfa.reset",
        actor=actor,
        object_type="core.User",
        object_id=user.pk,
        extra={"devices": count},
        now=now,
    )
    return int(count)


@transaction.atomic
def mfa_enroll_confirm(*, actor: User, device: Any, token: str, now: datetime) -> bool:
    """Confirm a pending TOTP device with a first token. Audited whatever the outcome."""
    require(device.user_id == actor.pk and not device.confirmed)
    ok = bool(device.verify_token(token))
    if ok:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    audit_record(
        event_type="mfa.enroll",
        actor=actor,
        object_type="core.User",
        object_id=actor.pk,
        outcome="success" if ok else "failure",
        now=now,
    )
    return ok


# --- lockouts (AUTH-3) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    username: str | None
    ip_address: str | None
    failures: int
    last_attempt: datetime


@transaction.atomic
def lockout_unlock(
    *, actor: User, now: datetime, username: str | None = None, ip_address: str | None = None
) -> int:
    """Lift a lockout by login ID and/or address (axes attempts removed). Returns attempts removed."""
    from axes.utils import reset

    require(permissions.can_manage_security(actor))
    if not username and not ip_address:
        raise ValidationError(_("请指定登录名或地址。"))
    removed = int(reset(ip=ip_address or None, username=username or None))
    audit_record(
        event_type="auth.unlock",
        actor=actor,
        object_type="core.User" if username else "ip",
        object_id=username or ip_address or "",
        extra={"username": username, "ip_address": ip_address, "attempts_removed": removed},
        now=now,
    )
    return removed


# --- API tokens -------------------------------------------------------------------------------


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Issue a token for ``user`` (a user for themself, or the security admin). The raw key is
    returned once and never stored."""
    require(actor.pk == user.pk or permissions.can_manage_security(actor))
    if user.disabled_at is not None or not user.is_active:
        raise ValidationError(_("停用的账号不能创建令牌。"))
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:64] or "token",
        key_prefix=raw[: len(API_TOKEN_PREFIX) + 6],
        key_hash=api_token_hash(raw),
        created_at=now,
        epoch=user.session_epoch,
    )
    audit_record(
        event_type="api_token.create",
        actor=actor,
        object_type="core.ApiToken",
        object_id=token.pk,
        after={"user": user.username, "name": token.name, "prefix": token.key_prefix},
        now=now,
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken, now: datetime) -> ApiToken:
    require(actor.pk == token.user_id or permissions.can_manage_security(actor))
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ValidationError(_("令牌已吊销。"))
    token.revoked_at = now
    token.save(update_fields=["revoked_at"])
    audit_record(
        event_type="api_token.revoke",
        actor=actor,
        object_type="core.ApiToken",
        object_id=token.pk,
        extra={"prefix": token.key_prefix},
        now=now,
    )
    return token


def mfa_verify(*, user: User, device: Any, token: str, now: datetime) -> bool:
    """Check a TOTP token of ``user``'s device. django-otp refuses a reused token (``last_t``) and
    throttles repeated failures. Audited whatever the outcome."""
    with transaction.atomic():
        ok = device.user_id == user.pk and bool(device.verify_token(token))
        audit_record(
            event_type="mfa.verify",
            actor=user,
            object_type="core.User",
            object_id=user.pk,
            outcome="success" if ok else "failure",
            now=now,
        )
    return ok


@transaction.atomic
def bootstrap_admin(*, username: str, role: str, now: datetime) -> tuple[User, str | None]:
    """Create one administrator with a random one-time password (AUTH-1, AC-3); never a superuser.

    Returns ``(user, password)``, or ``(existing, None)`` when the login exists already.
    """
    if role not in {AdminRole.SYSTEM, AdminRole.SECURITY, AdminRole.AUDIT}:
        raise ValidationError(_("未知的管理角色。"))
    existing = User.objects.filter(username__iexact=username).first()
    if existing is not None:
        return existing, None
    password = generate_password(20)
    user = User(
        username=username,
        admin_role=role,
        is_staff=True,
        is_superuser=False,
        must_change_password=True,
        password_changed_at=now,
        date_joined=now,
    )
    user.set_password(password)
    user.save()
    audit_record(
        event_type="user.bootstrap_admin",
        actor=None,
        actor_login="system",
        object_type="core.User",
        object_id=user.pk,
        after=user_snapshot(user),
        now=now,
    )
    return user, password
