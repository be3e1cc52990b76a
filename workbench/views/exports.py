"""Bulk export of the order search (SECURITY.md PI-4): 申请导出 from the search page with a reason,
the 导出申请 page (my requests; the pending ones I may approve or refuse), and the download of a
ready file. Thin: the forms parse, ``orders.services.exports`` decides and audits (a task builds
the file after the approval); a refusal is shown beside its field. While one of my files is being
built the page shows 生成中 and its list refreshes itself (htmx polling, plus a plain 刷新 link).
Downloads are ``Cache-Control: no-store``; a download that is not (or no longer, or not yet)
allowed is the 403 page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from orders import permissions, services
from orders.errors import OrderError
from orders.models import ExportStatus, OrderExport
from orders.selectors import order_exports_of, order_exports_pending_for
from workbench.forms import NUMBER_MAX
from workbench.views.common import clock, show_error

L = gettext_lazy
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The search's filters a request carries (hidden fields of the 申请导出 form).
SEARCH_FIELDS = ("status", "urgency", "deadline", "area", "item", "channel", "q")


class ExportRequestForm(forms.Form):
    """申请导出: why (the service requires it and says so in Chinese)."""

    reason = forms.CharField(
        label=L("导出理由"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=L("导出需经上级领导或督办员审批；文件带导出人水印，群众信息已脱敏，24 小时内可下载。"),
    )


class ExportDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=L("审批结果"),
        choices=[("approve", L("批准")), ("refuse", L("驳回"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=L("审批意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=L("驳回时必须填写。"),
    )


def export_hidden_fields(values: dict[str, Any], q: str) -> list[tuple[str, str]]:
    """The search as it is shown (its valid filters and number prefix), as hidden fields."""
    fields = [
        (key, str(getattr(value, "pk", value))) for key, value in values.items() if key in SEARCH_FIELDS
    ]
    if q:
        fields.append(("q", q))
    return fields


def _search_filters(request: HttpRequest, actor: Any) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The posted search in the services' JSON-safe form (the relative deadline resolved now), and
    the hidden fields to send again; None when the search does not parse."""
    from workbench.views.queues import QueueFilter, _visible_areas, deadline_window

    search = QueueFilter({k: request.POST.get(k, "") for k in SEARCH_FIELDS}, areas=_visible_areas(actor))
    q = request.POST.get("q", "")
    if not search.is_valid() or (q and (not q.isdigit() or len(q) > NUMBER_MAX)):
        return None, []
    values = search.values()
    due_after, due_before = deadline_window(values.get("deadline"), clock())
    filters: dict[str, Any] = {
        "status": values.get("status"),
        "urgency": values.get("urgency"),
        "channel": values.get("channel"),
        "item": values["item"].pk if values.get("item") else None,
        "area": values["area"].pk if values.get("area") else None,
        "due_after": due_after.isoformat() if due_after else None,
        "due_before": due_before.isoformat() if due_before else None,
        "q": q or None,
    }
    return {k: v for k, v in filters.items() if v is not None}, export_hidden_fields(values, q)


@require_POST
@login_required
def export_request(request: HttpRequest) -> HttpResponse:
    """申请导出 of the posted search; on a refusal, this form again with the reason beside it."""
    actor = request.user
    form = ExportRequestForm(request.POST)
    filters, hidden = _search_filters(request, actor)
    if form.is_valid():
        if filters is None:
            form.add_error(None, _("筛选条件无效，请回到工单查询重新筛选。"))
        else:
            try:
                export = services.order_export_request(
                    actor=actor, filters=filters, reason=form.cleaned_data["reason"], now=clock()
                )
            except OrderError as exc:
                show_error(form, exc, "reason")
            else:
                messages.success(
                    request, _("已提交导出申请（编号 %(id)d），请等待审批。") % {"id": export.pk}
                )
                return redirect("workbench:export_list")
    context = {"form": form, "export_filters": hidden}
    return render(request, "workbench/export_request.html", context, status=422)


@require_GET
@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    return _list(request)


def _list(request: HttpRequest, bound: tuple[int, ExportDecisionForm] | None = None) -> HttpResponse:
    """My requests, and the pending ones I may decide (each with its form; the one just sent
    keeps its errors beside its fields)."""
    actor = request.user
    pending = [
        (
            export,
            bound[1]
            if bound is not None and bound[0] == export.pk
            else ExportDecisionForm(prefix=f"x{export.pk}"),
        )
        for export in order_exports_pending_for(actor)
    ]
    mine = list(order_exports_of(actor)[:100])
    context = {
        "mine": mine,
        "building": any(x.status == ExportStatus.APPROVED for x in mine),
        "pending": pending,
        "may_request": permissions.can_request_export(actor),
        "now": clock(),
    }
    return render(request, "workbench/exports.html", context, status=200 if bound is None else 422)


@require_POST
@login_required
def export_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """批准 or 驳回 one pending export; the service checks who may and that it is still pending."""
    export = OrderExport.objects.defer("content").filter(pk=pk).first()
    if export is None:
        raise Http404
    form = ExportDecisionForm(request.POST, prefix=f"x{pk}")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.order_export_decide(
                actor=request.user,
                export=export,
                approve=approve,
                reason=form.cleaned_data["reason"],
                now=clock(),
            )
        except OrderError as exc:
            show_error(form, exc, "reason")
        else:
            if approve:
                messages.success(request, _("已批准导出申请 %(id)d，文件生成后申请人即可下载。") % {"id": pk})
            else:
                messages.success(request, _("已驳回导出申请 %(id)d。") % {"id": pk})
            return redirect("workbench:export_list")
    if not order_exports_pending_for(request.user).filter(pk=pk).exists():
        # Decided meanwhile (or never this person's): say so above the list.
        for error in list(form.non_field_errors()) or [_("该导出申请已不在待审批列表中。")]:
            messages.error(request, str(error))
        return redirect("workbench:export_list")
    return _list(request, bound=(pk, form))


@require_GET
@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The ready file, to its requester (403 otherwise: not approved, not built yet, failed,
    expired, someone else's)."""
    export = OrderExport.objects.defer("content").filter(pk=pk).first()
    if export is None:
        raise Http404
    content = services.order_export_download(actor=request.user, export=export, now=clock())
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="minhu-export-{export.pk}.xlsx"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
