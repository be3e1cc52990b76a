"""The login flow (AUTH-1..AUTH-5): password → TOTP verify or enrolment → forced change → home.

Views parse input, call ``core.identity`` services and render; the session policy middleware
keeps a half-logged-in user on these pages until each step is done.
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import identity
from core.auth import password_change_required, session_rebind
from core.forms import LoginForm, PasswordChangeForm, TokenForm
from core.passwords import password_expiry_warning_days
from core.permissions import mfa_required, user_is_verified

NEXT_SESSION_KEY = "_minhu_next"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return str(settings.LOGIN_REDIRECT_URL)


def _next_step(request: HttpRequest) -> HttpResponse:
    """Where a (partly) logged-in user goes next."""
    user: Any = request.user
    if mfa_required(user) and not user_is_verified(user):
        return redirect("core:mfa_verify")
    if password_change_required(user, now=timezone.now()):
        return redirect("core:password_change")
    return redirect(request.session.pop(NEXT_SESSION_KEY, None) or settings.LOGIN_REDIRECT_URL)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return _next_step(request)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user: Any = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if user is not None:
            login(request, user)  # new session key; the signal stamps epoch and times, and audits
            request.session[NEXT_SESSION_KEY] = next_url
            days = password_expiry_warning_days(user, now=timezone.now())
            if days is not None:
                messages.warning(request, _("您的密码将在 %(d)d 天内过期，请及时修改。") % {"d": days})
            return _next_step(request)
        form.add_error(None, _("登录名或密码不正确，或账号已停用。"))
    return render(request, "core/login.html", {"form": form, "next": next_url})


@never_cache
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)  # flushes the server-side session; the signal audits
    return redirect("core:login")


@csrf_protect
@never_cache
@login_required
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        return redirect("core:mfa_enroll")
    if user_is_verified(user):
        return _next_step(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _details = device.verify_is_allowed()
        if identity.mfa_verify(
            user=user, device=device, token=form.cleaned_data["token"], now=timezone.now()
        ):
            otp_login(request, device)
            return _next_step(request)
        form.add_error("token", _("验证码不正确或已使用。") if allowed else _("尝试次数过多，请稍后再试。"))
    return render(request, "core/mfa_verify.html", {"form": form})


def _qr_svg(url: str) -> str:
    svg: str = segno.make(url, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    return svg


@csrf_protect
@never_cache
@login_required
def mfa_enroll_view(request: HttpRequest) -> HttpResponse:
    """First-time TOTP enrolment; only for users without a confirmed device."""
    user: Any = request.user
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect("core:mfa_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("手机验证器"), confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if identity.mfa_enroll_confirm(
            actor=user, device=device, token=form.cleaned_data["token"], now=timezone.now()
        ):
            otp_login(request, device)
            messages.success(request, _("双因素认证已启用。"))
            return _next_step(request)
        form.add_error("token", _("验证码不正确，请核对手机时间后重试。"))
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    context = {
        "form": form,
        "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308  (segno output, no user input)
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "core/mfa_enroll.html", context)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@csrf_protect
@never_cache
@login_required
def password_change_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        try:
            user = identity.password_change(
                actor=user,
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                now=now,
            )
        except ValidationError as exc:
            field = "old_password" if getattr(exc, "code", "") == "password_incorrect" else "new_password1"
            form.add_error(field, exc)
        else:
            request.user = user
            session_rebind(request, user, now=now)
            messages.success(request, _("密码已修改。"))
            return _next_step(request)
    forced = password_change_required(user, now=timezone.now())
    return render(request, "core/password_change.html", {"form": form, "forced": forced})


def lockout_response(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    minutes = int(round(float(settings.AXES_COOLOFF_TIME) * 60))
    return render(request, "core/locked_out.html", {"minutes": minutes}, status=403)
