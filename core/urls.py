from __future__ import annotations

from django.urls import path

from core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("login/mfa/", views.mfa_verify_view, name="mfa_verify"),
    path("login/mfa/enroll/", views.mfa_enroll_view, name="mfa_enroll"),
    path("password/change/", views.password_change_view, name="password_change"),
]
