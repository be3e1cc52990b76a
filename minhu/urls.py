from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.urls import include, path
from ninja.openapi.views import openapi_json, openapi_view

from minhu.api import api
from orders.attachments import attachment_download

urlpatterns = [
    path("", include("core.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # The OpenAPI description and its docs page (offline assets) also at the unversioned paths.
    path("api/openapi.json", partial(openapi_json, api=api), name="api_openapi_json"),
    path("api/docs", partial(openapi_view, api=api), name="api_docs"),
    path("open311/v2/", include("intake.open311")),
    path("attachments/<int:pk>", attachment_download, name="attachment_download"),
    path("whistles/", include("whistles.urls")),
    path("assessment/", include("assessment.urls")),
    # workbench before intake: its /calls/<id> console replaces intake's placeholder page
    path("", include("workbench.urls")),
    path("notifications/", include("workbench.notification_urls")),
    path("", include("intake.urls")),
    path("", include("web.urls")),
]

handler403 = "web.views.permission_denied"
handler404 = "web.views.page_not_found"
handler500 = "web.views.server_error"
