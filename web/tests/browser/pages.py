"""Test-only pages for the browser tests (mounted with ``@pytest.mark.urls``): a map page built
from the real map partial, a gallery of the shared building blocks (what later workbenches are
made of), and a page that breaks the CSP on purpose to prove the console watcher sees
violations."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.utils import timezone

from web.tables import Column, Table

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


GALLERY_PAGE = """{% extends "web/base.html" %}{% load minhu_ui %}
{% block content %}
<header class="page-header">
  <div><h1 class="page-title">待签收工单</h1><p class="page-lead">东华街道 · 共 {{ table.page.paginator.count }} 件</p></div>
  <div class="page-actions"><a class="btn" href="#">导出</a><a class="btn btn--primary" href="#">批量签收</a></div>
</header>
<section class="section">{% include "web/partials/data_table.html" with table=table %}</section>
<section class="section"><h2 class="section__title">状态与期限</h2>
<p>{% status_badge "待派单" "neutral" %} {% status_badge "待签收" "info" %} {% status_badge "办理中" "progress" %}
{% status_badge "办结" "success" %} {% status_badge "退单待审" "warning" %} {% status_badge "超期" "danger" %}
{% status_badge "已撤销" "muted" %}</p>
<p>{% deadline_chip later label="答复" %} {% deadline_chip soon label="签收" %} {% deadline_chip past label="联系" %} {% deadline_chip none label="回访" %}</p>
</section>
<section class="section card"><h2 class="section__title">登记工单</h2>
<form class="form" method="post" novalidate>{% form_errors form %}
{% form_field form.title %}{% form_field form.phone %}{% form_field form.kind %}{% form_field form.urgent %}{% form_field form.detail %}
<div class="form__actions"><button class="btn btn--primary" type="button">提交</button><button class="btn" type="button">暂存</button></div>
</form></section>
<section class="section"><h2 class="section__title">无数据</h2>{% empty_state "暂无待回访工单" "办结审核通过的工单会出现在这里。" %}</section>
{% endblock %}
"""


class GalleryForm(forms.Form):
    title = forms.CharField(label="诉求标题", max_length=10, help_text="一句话说明问题，10 字以内")
    phone = forms.CharField(label="来电号码", max_length=11)
    kind = forms.ChoiceField(
        label="诉求类型", choices=[("complaint", "投诉"), ("help", "求助"), ("advice", "建议")]
    )
    urgent = forms.BooleanField(label="紧急件", required=False)
    detail = forms.CharField(label="诉求内容", widget=forms.Textarea)


class GalleryRow:
    def __init__(self, n: int, title: str, unit: str, due_hours: float, count: int) -> None:
        now = timezone.now()
        self.number = f"2605{n:06d}"
        self.title = title
        self.unit = unit
        self.due = now + timedelta(hours=due_hours)
        self.count = count
        self.url = f"#order-{n}"


def gallery_page(request: HttpRequest) -> HttpResponse:
    rows = [
        GalleryRow(1, "小区路灯不亮已一周", "东华社区", 70, 1),
        GalleryRow(2, "井盖缺失存在安全隐患", "城管东华执法队", 5, 3),
        GalleryRow(3, "夜间施工噪音扰民", "东华街道", -3, 12),
        GalleryRow(4, "楼道堆放杂物", "东华社区", 30, 1),
    ]
    page = Paginator(rows * 6, 4).get_page(request.GET.get("page", 2))
    table = Table(
        columns=[
            Column("number", "工单号", link="url"),
            Column("title", "诉求"),
            Column("unit", "承办单位", secondary=True),
            Column("due", "答复期限", template="web/cells/deadline.html"),
            Column("count", "来电次数", numeric=True),
        ],
        rows=list(page.object_list),
        page=page,
        caption="待签收",
        dom_id="queue",
    )
    form = GalleryForm(data={"title": "这是一个超过十个字的很长的标题", "phone": "", "kind": "help"})
    form.is_valid()
    now = timezone.now()
    context = {
        "table": table,
        "form": form,
        "later": now + timedelta(days=3, hours=2),
        "soon": now + timedelta(hours=5),
        "past": now - timedelta(hours=26),
        "none": None,
    }
    template = engines["django"].from_string(GALLERY_PAGE)
    return HttpResponse(template.render(context, request))


urlpatterns = [
    path("test/blocks/", gallery_page),
    path("test/map/", map_page),
    path("test/bad-csp/", bad_page),
    path("", include("minhu.urls")),
]
