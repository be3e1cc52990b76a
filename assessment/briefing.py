"""The monthly briefing 月度通报 as an Excel workbook (``core.excel.write_workbook``) and a PDF
(``assessment.briefing_pdf``), both built from one ``BriefingData`` read through the selectors.

Sheets: 概况 (the scope's volume, rates and time measures, this month and last), 街道排名 and
部门排名 (with the change against last month), 超期工单, 申诉 (every appeal of the month, whatever
its outcome), 高频问题, and 计数规则 (the counting rules the figures follow). Reads only selectors;
``briefing_export`` checks permission and writes the audit row (an export, SECURITY.md AU-1);
``briefing_issue`` stores the month's issued copies, workbook and PDF (the task on the first of
each month).
No personal data: order numbers, titles and units only; appeal authors by masked name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from assessment import metrics, permissions
from assessment.choices import AppealReason, AppealStatus, RankingKind
from assessment.metrics import Factors, Period, Rates
from assessment.models import Appeal, Briefing
from assessment.selectors import (
    RankingRow,
    UnitRates,
    appeals_for_period,
    factors_for,
    overdue_orders_for_period,
    ranking_for_period,
    top_problems,
    unit_rates_for_period,
)
from core.audit import audit_record
from core.excel import SheetOut, write_workbook
from core.masking import mask_name
from core.workcalendar import SHANGHAI
from orgs.models import Unit

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BriefingKind = Literal["xlsx", "pdf"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _change(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:+d}" if value else "0"
    return f"{value:+.{digits}f}"


def _summary_rows(now_rates: Rates, before: Rates, axis_label: str) -> list[list[Any]]:
    def row(label: str, current: Any, previous: Any) -> list[Any]:
        return [axis_label, label, current, previous]

    c, p = now_rates.counts, before.counts
    return [
        row(_("受理量"), c["received"], p["received"]),
        row(_("其中直接答复"), c["direct_answer"], p["direct_answer"]),
        row(_("办结量"), c["closed"], p["closed"]),
        row(_("有效回访"), c["valid"], p["valid"]),
        row(_("申诉免责"), c["excluded"], p["excluded"]),
        row(_("响应率"), _pct(now_rates.response), _pct(before.response)),
        row(_("解决率"), _pct(now_rates.resolution), _pct(before.resolution)),
        row(_("满意率"), _pct(now_rates.satisfaction), _pct(before.satisfaction)),
        row(_("综合成绩"), _num(now_rates.score), _num(before.score)),
        row(_("按时签收率"), _pct(now_rates.on_time_acceptance), _pct(before.on_time_acceptance)),
        row(_("按时答复率"), _pct(now_rates.on_time_reply), _pct(before.on_time_reply)),
        row(_("超期件数"), now_rates.overdue, before.overdue),
        row(_("超期倍数"), _num(now_rates.overdue_multiple), _num(before.overdue_multiple)),
        row(_("退回重办"), now_rates.rework, before.rework),
        row(_("重办"), now_rates.reopen, before.reopen),
        row(_("挂账"), now_rates.suspensions, before.suspensions),
        row(_("延期"), now_rates.extensions, before.extensions),
    ]


@dataclass(frozen=True)
class BriefingData:
    """Everything the briefing shows, read once from the selectors; the workbook's sheets and the
    PDF (``assessment.briefing_pdf``) are both built from it."""

    scope: Unit
    period: Period
    factors: Factors
    current: UnitRates
    before: UnitRates
    streets: list[RankingRow]
    departments: list[RankingRow]
    overdue: list[dict[str, Any]]
    appeals: list[Appeal]
    problems: list[dict[str, Any]]


def briefing_data(*, scope: Unit, period: Period) -> BriefingData:
    """The briefing's figures for ``scope`` (a city or district) and ``period``."""
    f = factors_for(scope)
    return BriefingData(
        scope=scope,
        period=period,
        factors=f,
        current=unit_rates_for_period(unit=scope, period=period, factors=f),
        before=unit_rates_for_period(unit=scope, period=period.previous(), factors=f),
        streets=ranking_for_period(scope=scope, kind=RankingKind.STREET, period=period),
        departments=ranking_for_period(scope=scope, kind=RankingKind.DEPARTMENT, period=period),
        overdue=overdue_orders_for_period(scope=scope, period=period),
        appeals=appeals_for_period(scope=scope, period=period),
        problems=top_problems(scope=scope, period=period),
    )


def briefing_sheets(*, scope: Unit, period: Period, data: BriefingData | None = None) -> list[SheetOut]:
    """The briefing's sheets for ``scope`` (a city or district) and ``period`` (from ``data``
    when the caller has already read it)."""
    if data is None:
        data = briefing_data(scope=scope, period=period)
    previous = period.previous()
    f = data.factors
    current, before = data.current, data.before
    summary = SheetOut(
        title=_("概况"),
        headers=[_("口径"), _("指标"), period.label, previous.label],
        rows=[
            *_summary_rows(current.territorial, before.territorial, _("属地")),
            *_summary_rows(current.handling, before.handling, _("承办")),
        ],
    )
    streets = data.streets
    street_sheet = SheetOut(
        title=_("街道排名"),
        headers=[
            _("排名"),
            _("街道"),
            _("综合成绩"),
            _("上月排名"),
            _("名次变化"),
            _("成绩变化"),
            _("响应率"),
            _("解决率"),
            _("满意率"),
            _("有效回访"),
            _("办结量"),
            _("超期件数"),
        ],
        rows=[
            [
                r.rank if r.rank is not None else "—",
                r.name,
                _num(r.score),
                r.previous_rank if r.previous_rank is not None else "—",
                _change(r.rank_change),
                _change(r.score_change),
                _pct(r.rates.response),
                _pct(r.rates.resolution),
                _pct(r.rates.satisfaction),
                r.rates.counts["valid"],
                r.rates.counts["closed"],
                r.rates.overdue,
            ]
            for r in streets
        ],
    )
    departments = data.departments
    dept_sheet = SheetOut(
        title=_("部门排名"),
        headers=[
            _("排名"),
            _("部门"),
            _("考评得分"),
            _("上月排名"),
            _("名次变化"),
            _("成绩变化"),
            _("工单成绩"),
            _("街道评价"),
            _("吹哨评价"),
            _("街道月评"),
            _("评价权重"),
            _("有效回访"),
            _("超期件数"),
        ],
        rows=[
            [
                r.rank if r.rank is not None else "—",
                r.name,
                _num(r.score),
                r.previous_rank if r.previous_rank is not None else "—",
                _change(r.rank_change),
                _change(r.score_change),
                _num(r.department.order_score if r.department else None),
                _num(r.department.rating_score if r.department else None),
                _num(r.department.whistle_score if r.department else None),
                _num(r.department.evaluation_score if r.department else None),
                _pct(r.department.rating_weight if r.department else None),
                r.rates.counts["valid"],
                r.rates.overdue,
            ]
            for r in departments
        ],
    )
    overdue_sheet = SheetOut(
        title=_("超期工单"),
        headers=[_("工单编号"), _("标题"), _("承办单位"), _("所在网格"), _("计入日期"), _("超期倍数")],
        rows=[
            [
                row["order__number"],
                row["order__title"],
                row["hdl_unit__name"] or "",
                row["loc_unit__name"],
                row["count_day"],
                _num(row["overdue_multiple_milli"] / 1000),
            ]
            for row in data.overdue
        ],
    )
    appeal_sheet = SheetOut(
        title=_("申诉"),
        headers=[
            _("工单编号"),
            _("申诉单位"),
            _("申诉类别"),
            _("申诉理由"),
            _("申诉人"),
            _("申诉时间"),
            _("裁定结果"),
            _("裁定意见"),
            _("裁定时间"),
        ],
        rows=[
            [
                a.order.number,
                a.unit.name,
                AppealReason(a.reason).label,
                a.text,
                mask_name(getattr(a.submitted_by, "display_name", "") or a.submitted_by.username),
                a.submitted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                AppealStatus(a.status).label,
                a.ruling,
                a.ruled_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if a.ruled_at else "",
            ]
            for a in data.appeals
        ],
    )
    problems_sheet = SheetOut(
        title=_("高频问题"),
        headers=[_("序号"), _("事项编码"), _("事项"), _("受理量")],
        rows=[
            [i, row["item__code"] or "", row["item__name"] or _("未分类"), row["n"]]
            for i, row in enumerate(data.problems, start=1)
        ],
    )
    rules_sheet = SheetOut(
        title=_("计数规则"),
        headers=[_("规则"), _("说明")],
        rows=[[rule.key, rule.rule] for rule in metrics.COUNTING_RULES]
        + [
            [
                "factors",
                _(
                    "综合成绩 = %(r)s×响应率 + %(s)s×解决率 + %(t)s×满意率；满意率 = (满意 + %(b)s×基本满意) ÷ 有效回访；街道评价权重 %(w)s"
                )
                % {
                    "r": f.response_weight,
                    "s": f.resolution_weight,
                    "t": f.satisfaction_weight,
                    "b": f.basically_factor,
                    "w": _pct(f.effective_rating_weight),
                },
            ]
        ],
    )
    return [summary, street_sheet, dept_sheet, overdue_sheet, appeal_sheet, problems_sheet, rules_sheet]


def briefing_workbook(*, scope: Unit, period: Period) -> bytes:
    return write_workbook(briefing_sheets(scope=scope, period=period))


def briefing_filename(scope: Unit, period: Period) -> str:
    return f"{scope.name}{period.label}接诉即办考评通报.xlsx"


def briefing_pdf_bytes(*, scope: Unit, period: Period, data: BriefingData | None = None) -> bytes:
    """The PDF of the briefing (``assessment.briefing_pdf``; imported late: WeasyPrint and
    matplotlib are heavy and only needed here)."""
    from assessment.briefing_pdf import render_briefing_pdf

    return render_briefing_pdf(data if data is not None else briefing_data(scope=scope, period=period))


@transaction.atomic
def briefing_export(
    *, actor: Any, scope: Unit, period: Period, now: dt.datetime, kind: BriefingKind = "xlsx"
) -> tuple[bytes, bool]:
    """The briefing for a download, as a workbook (``kind="xlsx"``) or PDF (``"pdf"``): the issued
    copy when the month's has been issued, else one built now. Audited as an export.
    Returns (bytes, issued)."""
    if not permissions.can_view_rankings(actor, scope):
        raise PermissionDenied(_("您无权查看该单位的考评通报。"))
    issued = Briefing.objects.filter(scope=scope, period=period.start).first()
    stored = b""
    if issued is not None:
        stored = bytes(issued.pdf) if kind == "pdf" else bytes(issued.content)
    if stored:
        content = stored
    elif kind == "pdf":
        content = briefing_pdf_bytes(scope=scope, period=period)
    else:
        content = briefing_workbook(scope=scope, period=period)
    audit_record(
        event_type="assessment.briefing_export",
        actor=actor,
        object_type="orgs.unit",
        object_id=scope.pk,
        extra={"period": period.key, "issued": bool(stored), "format": kind, "bytes": len(content)},
        now=now,
    )
    return content, bool(stored)


def _issued_pdf(*, scope: Unit, period: Period, data: BriefingData | None = None) -> bytes:
    """The PDF for the issued copy, or empty when WeasyPrint cannot load (Debian's pango missing):
    the workbook still goes out, and the next run adds the PDF."""
    try:
        return briefing_pdf_bytes(scope=scope, period=period, data=data)
    except (ImportError, OSError):
        logger.exception(
            "briefing PDF of unit %s for %s failed; issuing the workbook alone", scope.pk, period.key
        )
        return b""


@transaction.atomic
def briefing_issue(*, scope: Unit, period: Period, now: dt.datetime) -> Briefing:
    """Store the month's issued briefing for ``scope``, workbook and PDF from the same figures
    (once: a second run keeps the first copy, only adding the PDF to a row issued without one)."""
    existing = Briefing.objects.select_for_update().filter(scope=scope, period=period.start).first()
    if existing is not None:
        if not bytes(existing.pdf):
            pdf = _issued_pdf(scope=scope, period=period)
            if pdf:
                existing.pdf, existing.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
                existing.save(update_fields=["pdf", "pdf_sha256"])
        return existing
    data = briefing_data(scope=scope, period=period)
    content = write_workbook(briefing_sheets(scope=scope, period=period, data=data))
    pdf = _issued_pdf(scope=scope, period=period, data=data)
    briefing, _created = Briefing.objects.get_or_create(
        scope=scope,
        period=period.start,
        defaults={
            "content": content,
            "sha256": hashlib.sha256(content).hexdigest(),
            "pdf": pdf,
            "pdf_sha256": hashlib.sha256(pdf).hexdigest() if pdf else "",
            "created_at": now,
        },
    )
    return briefing


def briefing_issue_all(*, now: dt.datetime, scopes: Sequence[Unit] | None = None) -> list[Briefing]:
    """Issue last month's briefing for every city (the roots of the tree)."""
    today = now.astimezone(SHANGHAI).date()
    period = Period.containing(today).previous()
    roots = (
        list(scopes) if scopes is not None else list(Unit.objects.filter(parent__isnull=True, is_active=True))
    )
    return [briefing_issue(scope=scope, period=period, now=now) for scope in roots]
