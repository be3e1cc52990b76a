from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from minhu.api import api

urlpatterns = [
    path("", include("core.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
