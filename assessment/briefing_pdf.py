"""The monthly briefing 月度通报 as a PDF: the same figures as the workbook (``assessment.briefing``
reads them once through ``briefing_data``; the tables are the workbook's own sheets), with charts
drawn on the server as SVG by matplotlib (no pyplot, no global state: one ``Figure`` per chart)
and laid out by WeasyPrint from ``assessment/templates/assessment/briefing_pdf.html`` with the
page style ``briefing_pdf.css`` beside it.

Chinese needs a CJK font: matplotlib's labels use the first of ``CJK_FONT_FAMILIES`` that is
installed (Debian's ``fonts-noto-cjk`` gives "Noto Sans CJK SC"), the page text asks fontconfig
for the same families. Without one the PDF is still produced (a warning is logged; the glyphs
become empty boxes). Chart text is drawn as paths, so the charts need no font in the PDF.
WeasyPrint fetches nothing: only ``data:`` URLs (the embedded charts) are allowed.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import warnings
from collections.abc import Sequence
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from assessment.briefing import BriefingData, briefing_data, briefing_sheets
from assessment.metrics import Period
from core.excel import SheetOut
from core.workcalendar import SHANGHAI
from orgs.models import Unit

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"
CJK_FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans CJK",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
CHART_BARS = 15  # at most this many bars per ranking chart (the tables list every row)
BAR_COLOUR = "#1f5fa8"
PREVIOUS_COLOUR = "#9bb7d9"


@functools.cache
def cjk_font() -> str | None:
    """The name of an installed CJK font family matplotlib can use, or None (logged once)."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FONT_FAMILIES:
        if family in installed:
            return family
    for name in sorted(installed):
        if "CJK" in name and "Mono" not in name:
            return name
    logger.warning("no CJK font found (install fonts-noto-cjk): briefing charts will show empty boxes")
    return None


def _font_families() -> list[str]:
    found = cjk_font()
    return [found, "DejaVu Sans"] if found else ["DejaVu Sans"]


def _svg_uri(figure: Any) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(height: float) -> tuple[Any, Any, Any]:
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    figure = Figure(figsize=(7.0, height), dpi=100)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes, FontProperties(family=_font_families(), size=9)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, unit: str, counts: bool = False
) -> str | None:
    """A horizontal bar chart (first label on top) as a ``data:`` URI of its SVG; None when empty.
    ``counts``: whole numbers, so the axis ticks are whole too."""
    if not labels:
        return None
    from matplotlib.ticker import MaxNLocator

    figure, axes, font = _figure(0.9 + 0.3 * len(labels))
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color=BAR_COLOUR, height=0.6)
    axes.set_yticks(positions, labels=list(labels), fontproperties=font)
    axes.invert_yaxis()
    axes.bar_label(bars, labels=[f"{v:g}" for v in values], padding=3, fontproperties=font)
    axes.set_xlabel(unit, fontproperties=font)
    axes.set_title(title, fontproperties=font, loc="left")
    axes.margins(x=0.12)
    if counts:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg_uri(figure)


def rates_chart(
    names: Sequence[str],
    current: Sequence[float | None],
    previous: Sequence[float | None],
    *,
    labels: tuple[str, str],
) -> str | None:
    """This month's rates beside last month's, in per cent; None when neither month has any."""
    if all(v is None for v in (*current, *previous)):
        return None
    figure, axes, font = _figure(2.6)
    width = 0.38
    positions = list(range(len(names)))
    now_values = [0.0 if v is None else v * 100 for v in current]
    before_values = [0.0 if v is None else v * 100 for v in previous]
    before_bars = axes.bar([p - width / 2 for p in positions], before_values, width, color=PREVIOUS_COLOUR)
    now_bars = axes.bar([p + width / 2 for p in positions], now_values, width, color=BAR_COLOUR)
    before_bars.set_label(labels[1])
    now_bars.set_label(labels[0])
    for bars, raw in ((before_bars, previous), (now_bars, current)):
        axes.bar_label(
            bars, labels=["—" if v is None else f"{v * 100:.1f}" for v in raw], padding=2, fontproperties=font
        )
    axes.set_xticks(positions, labels=list(names), fontproperties=font)
    axes.set_ylim(0, 110)
    axes.set_ylabel("%", fontproperties=font)
    axes.legend(prop=font, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg_uri(figure)


def _section(sheet: SheetOut, chart: str | None = None, note: str = "") -> dict[str, Any]:
    return {
        "title": sheet.title,
        "headers": list(sheet.headers),
        "rows": [["" if cell is None else cell for cell in row] for row in sheet.rows],
        "chart": chart,
        "note": note,
    }


def briefing_context(data: BriefingData, *, now: Any = None) -> dict[str, Any]:
    """The template's context: the workbook's sheets as tables, plus the charts."""
    period: Period = data.period
    summary, streets, departments, overdue, appeals, problems, rules = briefing_sheets(
        scope=data.scope, period=period, data=data
    )
    territorial, before = data.current.territorial, data.before.territorial
    rates = rates_chart(
        [_("响应率"), _("解决率"), _("满意率")],
        [territorial.response, territorial.resolution, territorial.satisfaction],
        [before.response, before.resolution, before.satisfaction],
        labels=(period.label, period.previous().label),
    )
    ranked_streets = [r for r in data.streets if r.score is not None][:CHART_BARS]
    street_chart = bar_chart(
        [r.name for r in ranked_streets],
        [round(r.score or 0.0, 2) for r in ranked_streets],
        title=_("街道综合成绩"),
        unit=_("分"),
    )
    ranked_departments = [r for r in data.departments if r.score is not None][:CHART_BARS]
    department_chart = bar_chart(
        [r.name for r in ranked_departments],
        [round(r.score or 0.0, 2) for r in ranked_departments],
        title=_("部门考评得分"),
        unit=_("分"),
    )
    problem_chart = bar_chart(
        [str(row["item__name"] or _("未分类")) for row in data.problems],
        [int(row["n"]) for row in data.problems],
        title=_("高频问题受理量"),
        unit=_("件"),
        counts=True,
    )
    generated = (now or timezone.now()).astimezone(SHANGHAI)
    return {
        "scope": data.scope,
        "period": period,
        "title": _("%(scope)s%(month)s接诉即办考评通报") % {"scope": data.scope.name, "month": period.label},
        "generated": generated.strftime("%Y-%m-%d %H:%M"),
        "summary": _section(summary, rates),
        "sections": [
            _section(streets, street_chart),
            _section(departments, department_chart),
            _section(overdue),
            _section(appeals),
            _section(problems, problem_chart),
        ],
        "rules": _section(rules),
        "font_families": ", ".join(f'"{name}"' for name in CJK_FONT_FAMILIES),
    }


def render_briefing_pdf(data: BriefingData, *, now: Any = None) -> bytes:
    """Lay out the briefing with WeasyPrint (nothing is fetched but the embedded charts)."""
    from weasyprint import CSS, HTML, URLFetcher

    # WeasyPrint logs every layout step at INFO; keep its warnings (a missing font, a bad URL)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    context = briefing_context(data, now=now)
    html = render_to_string("assessment/briefing_pdf.html", context)
    css = render_to_string("assessment/briefing_pdf.css", context)
    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=css, url_fetcher=fetcher)]
    )
    return pdf


def briefing_pdf(*, scope: Unit, period: Period, now: Any = None) -> bytes:
    """The briefing of ``scope`` for ``period`` as PDF bytes."""
    return render_briefing_pdf(briefing_data(scope=scope, period=period), now=now)


def briefing_pdf_filename(scope: Unit, period: Period) -> str:
    return f"{scope.name}{period.label}接诉即办考评通报.pdf"
