"""Password policy profiles (AUTH-2): MLPS by default, ASVS as the alternative."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings

from core import identity
from core.models import User
from core.passwords import (
    current_policy,
    password_expiry_warning_days,
    password_is_expired,
)
from core.tests.identity_helpers import GOOD_PASSWORD, make_user

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def codes(password: str, user: User | None = None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {e.code for e in exc.error_list if e.code}
    return set()


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Kx9!mQ2#vL7p", set()),  # 12 chars, 4 classes
        ("kx9mq2vl7pzr", {"password_too_simple"}),  # 2 classes
        ("kx9mq2vl7pZr", set()),  # 3 classes is enough
        ("Kx9!mQ2#vL7", {"password_too_short"}),  # 11 chars
        ("Passw0rd!", {"password_too_short"}),
        ("qwerty123456", {"password_too_simple", "password_too_common"}),
        ("Q1w2e3r4t5y6", {"password_too_common"}),  # 3 classes, but on the common list
        ("x" * 129, {"password_too_long", "password_too_simple"}),
    ],
)
def test_mlps_profile_validators(password, expected):
    with override_settings(PASSWORD_PROFILE="MLPS"):
        assert codes(password) == expected


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("correct horse battery", set()),  # a pass phrase, one class: fine under ASVS
        ("kx9mq2vl7pzr", set()),
        ("short phrase", set()),
        ("tiny", {"password_too_short"}),
        ("qwerty123456", {"password_too_common"}),
        ("123qweasdzxc", {"password_too_common"}),
    ],
)
def test_asvs_profile_validators(password, expected):
    with override_settings(PASSWORD_PROFILE="ASVS"):
        assert codes(password) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("profile", ["MLPS", "ASVS"])
def test_a_password_similar_to_the_login_id_is_refused_in_both_profiles(profile):
    user = User(username="zhangwei2024", display_name="张伟")
    with override_settings(PASSWORD_PROFILE=profile):
        assert "password_too_similar" in codes("Zhangwei2024!x", user)


def test_messages_are_chinese():
    with override_settings(PASSWORD_PROFILE="MLPS"), pytest.raises(ValidationError) as exc:
        validate_password("abc")
    assert any("密码至少需要 12 个字符" in m for m in exc.value.messages)


def test_an_unknown_profile_is_an_error():
    with override_settings(PASSWORD_PROFILE="NIST"), pytest.raises(ValueError, match="unknown"):
        current_policy()


@pytest.mark.django_db
@override_settings(PASSWORD_PROFILE="MLPS", PASSWORD_HISTORY=3)
def test_the_last_passwords_cannot_be_reused_under_mlps():
    user = make_user("hx")
    passwords = ["Aa1!history-one", "Aa1!history-two", "Aa1!history-three"]
    current = GOOD_PASSWORD
    for new in passwords:
        user = identity.password_change(
            actor=user, user=user, old_password=current, new_password=new, now=NOW
        )
        current = new
    # current + 2 earlier are remembered (history 3): the two before are refused...
    for reused in ("Aa1!history-three", "Aa1!history-two", "Aa1!history-one"):
        with pytest.raises(ValidationError) as exc:
            identity.password_change(
                actor=user, user=user, old_password=current, new_password=reused, now=NOW
            )
        assert exc.value.error_list[0].code == "password_reused"
    # ...and the oldest, fourth back, is allowed again.
    identity.password_change(actor=user, user=user, old_password=current, new_password=GOOD_PASSWORD, now=NOW)


@pytest.mark.django_db
@override_settings(PASSWORD_PROFILE="ASVS")
def test_asvs_keeps_no_history():
    user = make_user("asvs")
    user = identity.password_change(
        actor=user, user=user, old_password=GOOD_PASSWORD, new_password="a long pass phrase", now=NOW
    )
    identity.password_change(
        actor=user, user=user, old_password="a long pass phrase", new_password=GOOD_PASSWORD, now=NOW
    )


@pytest.mark.django_db
@override_settings(PASSWORD_PROFILE="MLPS", PASSWORD_EXPIRY_DAYS=90, PASSWORD_EXPIRY_WARNING_DAYS=14)
def test_mlps_passwords_expire_with_a_warning_first():
    with time_machine.travel(NOW, tick=False):
        user = make_user("expiring")
    at = NOW + timedelta(days=75)
    assert password_expiry_warning_days(user, now=at) is None
    assert not password_is_expired(user, now=at)
    at = NOW + timedelta(days=80)
    assert password_expiry_warning_days(user, now=at) == 10
    assert not password_is_expired(user, now=at)
    at = NOW + timedelta(days=90)
    assert password_is_expired(user, now=at)
    assert password_expiry_warning_days(user, now=at) is None


@pytest.mark.django_db
@override_settings(PASSWORD_PROFILE="ASVS")
def test_asvs_passwords_never_expire():
    with time_machine.travel(NOW, tick=False):
        user = make_user("forever")
    assert not password_is_expired(user, now=NOW + timedelta(days=3650))
    assert password_expiry_warning_days(user, now=NOW + timedelta(days=3650)) is None
