"""The notifications inbox, under its own namespace (``notifications:inbox``: the top bar's bell
links there, see ``web.context_processors``)."""

from __future__ import annotations

from django.urls import path

from workbench.views import notifications

app_name = "notifications"

urlpatterns = [
    path("", notifications.inbox, name="inbox"),
    path("<int:pk>/open/", notifications.open_one, name="open"),
    path("read-all/", notifications.mark_all_read, name="read_all"),
]
