"""The command-centre dashboard 指挥中心 and the briefing download (server-rendered; the charts
are Apache ECharts from our own static files, fed by a JSON block — no inline script under the
CSP). The live part refreshes every minute with ``X-Minhu-Background: 1``, which does not extend
the idle session. Views parse, call one selector or service, render (STYLE.md rule 2)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assessment import permissions, selectors
from assessment.briefing import CONTENT_TYPE, BriefingKind, briefing_export, briefing_filename
from assessment.briefing_pdf import PDF_CONTENT_TYPE, briefing_pdf_filename
from assessment.metrics import Period
from core.workcalendar import SHANGHAI
from orders.choices import Channel
from orgs.models import Unit


def _scope_and_period(request: HttpRequest, now: dt.datetime) -> tuple[Unit, Period, list[Unit]]:
    scopes = selectors.dashboard_scopes(request.user)
    wanted = request.GET.get("scope", "")
    if wanted.isdigit():
        scope = Unit.objects.filter(pk=int(wanted), is_active=True).first()
        if scope is None or not permissions.can_view_unit(request.user, scope):
            raise PermissionDenied(_("您无权查看该单位的考评数据。"))
    elif scopes:
        scope = scopes[0]
    else:
        raise PermissionDenied(_("您没有可查看的辖区或单位。"))
    try:
        period = Period.parse_month(request.GET.get("month", ""))
    except ValueError:
        period = Period.containing(now.astimezone(SHANGHAI).date())
    return scope, period, scopes


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _rate_cards(board: selectors.Dashboard) -> list[tuple[str, str, str]]:
    r = board.rates.territorial
    return [
        ("response", _("响应率"), _pct(r.response)),
        ("resolution", _("解决率"), _pct(r.resolution)),
        ("satisfaction", _("满意率"), _pct(r.satisfaction)),
        ("score", _("综合成绩"), "—" if r.score is None else f"{r.score:.2f}"),
        ("on_time_reply", _("按时答复率"), _pct(r.on_time_reply)),
        ("overdue", _("超期件数"), str(r.overdue)),
        ("valid", _("有效回访"), str(r.counts["valid"])),
        ("excluded", _("申诉免责"), str(r.counts["excluded"])),
    ]


WARNING_TONES = {"yellow": "warning", "orange": "warning", "red": "danger"}


def _chart_data(board: selectors.Dashboard) -> dict[str, Any]:
    channel_labels = dict(Channel.choices)
    return {
        "labels": {"received": _("受理"), "closed": _("办结"), "orders": _("件")},
        "trend": {
            "days": [day.strftime("%m-%d") for day, _r, _c in board.trend],
            "received": [r for _d, r, _c in board.trend],
            "closed": [c for _d, _r, c in board.trend],
        },
        "channels": [{"name": str(channel_labels.get(c, c)), "value": n} for c, n in board.channels],
        "problems": {
            "names": [str(p["item__name"] or _("未分类")) for p in reversed(board.problems)],
            "values": [int(p["n"]) for p in reversed(board.problems)],
        },
    }


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope, period, scopes = _scope_and_period(request, now)
    board = selectors.dashboard_for(actor=request.user, scope=scope, period=period, now=now)
    context = {
        "board": board,
        "scopes": scopes,
        "month": period.key,
        "previous": period.previous(),
        "chart_data": _chart_data(board),
        "rate_cards": _rate_cards(board),
        "warnings": [(w, WARNING_TONES.get(w.level, "neutral")) for w in board.warnings],
        "now": now,
        "can_download": permissions.can_view_rankings(request.user, scope),
        "empty_map": {"type": "FeatureCollection", "features": []},
    }
    return render(request, "assessment/dashboard.html", context)


def _briefing_response(request: HttpRequest, kind: BriefingKind) -> HttpResponse:
    now = timezone.now()
    scope, period, _scopes = _scope_and_period(request, now)
    content, issued = briefing_export(actor=request.user, scope=scope, period=period, now=now, kind=kind)
    if kind == "pdf":
        content_type, filename = PDF_CONTENT_TYPE, briefing_pdf_filename(scope, period)
    else:
        content_type, filename = CONTENT_TYPE, briefing_filename(scope, period)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["X-Minhu-Briefing"] = "issued" if issued else "live"
    return response


# The choropleth's classes of open orders: light to dark blue, so the hot spots' red stands out.
MAP_COLOURS = ("#f1f5f9", "#dbeafe", "#93c5fd", "#3b82f6", "#1d4ed8", "#1e3a8a")
HOT_COLOUR = "#c8161d"


def map_classes(largest: int) -> list[tuple[int, int]]:
    """The (min, max) open-order classes of the legend: 0 on its own, then up to five equal steps
    up to ``largest``."""
    classes = [(0, 0)]
    step = max(1, math.ceil(largest / (len(MAP_COLOURS) - 1)))
    low = 1
    while low <= largest:
        classes.append((low, low + step - 1))
        low += step
    return classes


def _class_index(classes: list[tuple[int, int]], n: int) -> int:
    return next(i for i, (low, high) in enumerate(classes) if low <= n <= high)


def _hot_reasons(cell: selectors.GridCell) -> list[str]:
    reasons = []
    for warned in cell.warnings:
        w = warned.warning
        reasons.append(
            _("%(level)s：%(area)s「%(item)s」，本网格自%(day)s起%(n)d件")
            % {
                "level": w.get_level_display(),
                "area": w.area.name,
                "item": w.item.name if w.item else _("未分类"),
                "day": w.day.strftime("%m-%d"),
                "n": warned.orders,
            }
        )
    if cell.spike:
        reasons.append(
            _("今日新增%(n)d件，远高于常态（日均%(usual).1f件）") % {"n": cell.today, "usual": cell.usual}
        )
    return reasons


def grid_map_geojson(cells: list[selectors.GridCell]) -> dict[str, Any]:
    """The map's FeatureCollection: one feature per grid (geometry null when it has no boundary)
    with its counts, fill colour and hot-spot reasons, and the legend as a foreign member."""
    classes = map_classes(max((c.open for c in cells), default=0))
    features = []
    for cell in cells:
        reasons = _hot_reasons(cell)
        levels = [w.warning.level for w in cell.warnings]
        features.append(
            {
                "type": "Feature",
                "id": cell.unit_id,
                "geometry": cell.boundary or None,
                "properties": {
                    "code": cell.code,
                    "name": cell.name,
                    "open": cell.open,
                    "today": cell.today,
                    "usual": round(cell.usual, 2),
                    "fill": MAP_COLOURS[_class_index(classes, cell.open)],
                    "hot": cell.hot,
                    "level": levels[0] if levels else ("spike" if cell.spike else ""),
                    "reasons": reasons,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "legend": {
            "title": _("在办工单（件）"),
            "classes": [
                {
                    "min": low,
                    "max": high,
                    "colour": MAP_COLOURS[i],
                    "label": str(low) if low == high else f"{low}–{high}",
                }
                for i, (low, high) in enumerate(classes)
            ],
            "hot": {"colour": HOT_COLOUR, "label": _("热点（预警或今日激增）")},
        },
        "labels": {
            "open": _("在办"),
            "today": _("今日新增"),
            "unit": _("件"),
        },
    }


@require_GET
@login_required
def grid_map(request: HttpRequest) -> JsonResponse:
    """The dashboard map's data for ``?scope=``: the grids of that territory only (a scope the
    user may not see is 403, like the dashboard). Polled with ``X-Minhu-Background: 1`` and
    ``geometry=0`` (the counts without the polygons the page already drew)."""
    now = timezone.now()
    scope, _period, _scopes = _scope_and_period(request, now)
    cells = selectors.grid_map_for(scope=scope, now=now, boundaries=request.GET.get("geometry") != "0")
    return JsonResponse(grid_map_geojson(cells), json_dumps_params={"ensure_ascii": False})


@require_GET
@login_required
def briefing_download(request: HttpRequest) -> HttpResponse:
    return _briefing_response(request, "xlsx")


@require_GET
@login_required
def briefing_pdf_download(request: HttpRequest) -> HttpResponse:
    return _briefing_response(request, "pdf")
