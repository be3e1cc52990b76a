"""Password policy profiles (SECURITY.md AUTH-2).

MLPS 2.0 (等保) and OWASP ASVS disagree: MLPS asks for composition rules and periodic change,
ASVS forbids both. The setting ``PASSWORD_PROFILE`` picks one:

- ``"MLPS"`` (default, for government deployments): at least 12 characters, at least 3 of the
  4 character classes (lower case, upper case, digits, symbols), not a common password, not
  similar to the login ID or name, expires after ``PASSWORD_EXPIRY_DAYS`` with a warning
  ``PASSWORD_EXPIRY_WARNING_DAYS`` before, and none of the last ``PASSWORD_HISTORY`` passwords.
- ``"ASVS"``: at least 12 characters, no composition rules, no expiry, no history; the common
  password and similarity checks still apply.

Both profiles cap the length at 128 characters (long pass phrases are welcome).
``ProfileValidator`` is the one entry in ``AUTH_PASSWORD_VALIDATORS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    UserAttributeSimilarityValidator,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PROFILE_MLPS = "MLPS"
PROFILE_ASVS = "ASVS"
MAX_LENGTH = 128


@dataclass(frozen=True)
class PasswordPolicy:
    profile: str
    min_length: int
    min_classes: int  # of the 4 classes; 0 = no composition rule
    expiry_days: int | None
    warning_days: int
    history: int  # how many earlier passwords (the current one included) may not be reused


def password_profile() -> str:
    profile = str(getattr(settings, "PASSWORD_PROFILE", PROFILE_MLPS)).upper()
    if profile not in {PROFILE_MLPS, PROFILE_ASVS}:
        raise ValueError(f"unknown PASSWORD_PROFILE {profile!r} (use MLPS or ASVS)")
    return profile


def current_policy() -> PasswordPolicy:
    if password_profile() == PROFILE_ASVS:
        return PasswordPolicy(
            profile=PROFILE_ASVS, min_length=12, min_classes=0, expiry_days=None, warning_days=0, history=0
        )
    return PasswordPolicy(
        profile=PROFILE_MLPS,
        min_length=12,
        min_classes=3,
        expiry_days=int(settings.PASSWORD_EXPIRY_DAYS) or None,
        warning_days=int(settings.PASSWORD_EXPIRY_WARNING_DAYS),
        history=int(settings.PASSWORD_HISTORY),
    )


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and other characters the password uses."""
    lower = any(c.islower() for c in password)
    upper = any(c.isupper() for c in password)
    digit = any(c.isdigit() for c in password)
    other = any(not c.isalnum() for c in password)
    return sum((lower, upper, digit, other))


_common = CommonPasswordValidator()


def _similar_to_user(password: str, user: Any) -> bool:
    if user is None:
        return False
    lowered = password.lower()
    for attr in ("username", "display_name", "email", "first_name", "last_name"):
        value = str(getattr(user, attr, "") or "")
        if attr == "email":
            value = value.split("@")[0]
        if len(value) >= 3 and value.lower() in lowered:
            return True
    try:
        UserAttributeSimilarityValidator(
            user_attributes=("username", "display_name", "email", "first_name", "last_name")
        ).validate(password, user)
    except ValidationError:
        return True
    return False


def password_reused(password: str, user: Any, history: int) -> bool:
    """True if ``password`` is the current one or one of the last ``history - 1`` earlier ones."""
    if history <= 0 or user is None or getattr(user, "pk", None) is None:
        return False
    from core.models import PasswordHistory

    if user.password and check_password(password, user.password):
        return True
    earlier = PasswordHistory.objects.filter(user=user).order_by("-created_at", "-pk")[: history - 1]
    return any(check_password(password, row.password) for row in earlier)


class ProfileValidator:
    """Django password validator applying the configured profile."""

    def validate(self, password: str, user: Any = None) -> None:
        policy = current_policy()
        errors: list[ValidationError] = []
        if len(password) < policy.min_length:
            errors.append(
                ValidationError(
                    _("密码至少需要 %(n)d 个字符。") % {"n": policy.min_length}, code="password_too_short"
                )
            )
        if len(password) > MAX_LENGTH:
            errors.append(
                ValidationError(
                    _("密码不能超过 %(n)d 个字符。") % {"n": MAX_LENGTH}, code="password_too_long"
                )
            )
        if policy.min_classes and character_classes(password) < policy.min_classes:
            errors.append(
                ValidationError(
                    _("密码须包含大写字母、小写字母、数字和符号中的至少 %(n)d 类。")
                    % {"n": policy.min_classes},
                    code="password_too_simple",
                )
            )
        if password.lower().strip() in _common.passwords:
            errors.append(ValidationError(_("这个密码太常见了。"), code="password_too_common"))
        if _similar_to_user(password, user):
            errors.append(ValidationError(_("密码与账号信息过于相似。"), code="password_too_similar"))
        if password_reused(password, user, policy.history):
            errors.append(
                ValidationError(
                    _("不能使用最近 %(n)d 次用过的密码。") % {"n": policy.history}, code="password_reused"
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        policy = current_policy()
        if policy.min_classes:
            return _(
                "密码至少 %(n)d 个字符，包含大写字母、小写字母、数字和符号中的至少 %(c)d 类，"
                "不能是常见密码，不能与账号信息相似，不能与最近 %(h)d 次的密码相同。"
            ) % {"n": policy.min_length, "c": policy.min_classes, "h": policy.history}
        return _("密码至少 %(n)d 个字符，不能是常见密码，不能与账号信息相似。可以使用较长的短语。") % {
            "n": policy.min_length
        }


def password_expires_at(user: Any) -> datetime | None:
    """When the user's password expires under the current profile (None: never)."""
    policy = current_policy()
    if policy.expiry_days is None:
        return None
    changed = getattr(user, "password_changed_at", None) or getattr(user, "date_joined", None)
    if changed is None:
        return None
    expires: datetime = changed + timedelta(days=policy.expiry_days)
    return expires


def password_is_expired(user: Any, *, now: datetime) -> bool:
    expires = password_expires_at(user)
    return expires is not None and now >= expires


def password_expiry_warning_days(user: Any, *, now: datetime) -> int | None:
    """Days left when the password expires within the warning window, else None."""
    expires = password_expires_at(user)
    if expires is None or now >= expires:
        return None
    left = expires - now
    if left <= timedelta(days=current_policy().warning_days):
        return max(left.days, 0) + (1 if left.seconds or left.microseconds else 0)
    return None
