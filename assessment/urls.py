from __future__ import annotations

from django.urls import path

from assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("briefing/", views.briefing_download, name="briefing"),
    path("map.json", views.grid_map, name="grid_map"),
    path("briefing/pdf/", views.briefing_pdf_download, name="briefing_pdf"),
]
