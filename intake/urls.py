"""Pages of the intake app: the call page the agent's screen opens (``/calls/<id>``)."""

from __future__ import annotations

from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("calls/<int:pk>", views.call_page, name="call_page"),
]
