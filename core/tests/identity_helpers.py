"""Helpers for identity tests (and for any view test that needs a fully logged-in user).

``login_verified(client, user)`` logs the test client in as ``user`` with a confirmed TOTP
device, as if the second factor had been passed, so the session policy middleware lets it through.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import User

GOOD_PASSWORD = "Kx9!mQ2#vL7pZr"  # meets both profiles


def make_user(username: str = "alice", password: str = GOOD_PASSWORD, **fields: Any) -> User:
    fields.setdefault("password_changed_at", timezone.now())
    return User.objects.create_user(username=username, password=password, **fields)


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="test", confirmed=confirmed)
    return device


def totp_token(device: TOTPDevice, *, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def login_verified(client: Any, user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
