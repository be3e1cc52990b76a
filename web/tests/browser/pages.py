"""Test-only pages for the browser tests (mounted with ``@pytest.mark.urls``): a map page built
from the real map partial, and a page that breaks the CSP on purpose to prove the console
watcher sees violations."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

MAP_PAGE = """{% extends "web/base.html" %}
{% block extra_head %}{% include "web/partials/map_assets.html" %}{% endblock %}
{% block content %}
<header class="page-header"><div><h1 class="page-title">网格地图</h1>
<p class="page-lead">东华社区 · 2 个网格（离线底图）</p></div></header>
{% include "web/partials/map.html" with dom_id="grid-map" geojson=geojson label="网格地图" point=point labels=True %}
{% endblock %}
"""

BAD_PAGE = """<!doctype html><html><head><title>bad</title>
<style>body { color: red; }</style></head>
<body><p style="color: blue">inline style</p><script>document.title = "ran";</script></body></html>"""


def square(lon: float, lat: float, size: float) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "东华一网格"},
            "geometry": {"type": "Polygon", "coordinates": square(116.40, 39.90, 0.004)},
        },
        {
            "type": "Feature",
            "properties": {"name": "东华二网格", "highlight": True},
            "geometry": {"type": "Polygon", "coordinates": square(116.404, 39.90, 0.004)},
        },
    ],
}


def map_page(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(MAP_PAGE)
    context = {"geojson": GEOJSON, "point": (116.4066, 39.9031)}
    return HttpResponse(template.render(context, request))


def bad_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BAD_PAGE)


urlpatterns = [
    path("test/map/", map_page),
    path("test/bad-csp/", bad_page),
    path("", include("minhu.urls")),
]
