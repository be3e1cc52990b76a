"""Forms of the workbench pages. They parse and check what a person typed; the services decide.

Limits that the services or the public API also enforce are repeated here only so that an error
shows beside its field before anything is sent; the service's own refusal (a Chinese message)
is shown too when it comes. The residents' forms carry exactly the public API's limits
(``intake.api.ResidentSubmitIn`` and friends; a test holds them equal).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from catalog.models import CatalogItem
from intake.services import PHOTOS_MAX, RATING_COMMENT_MAX
from orders.choices import ContactMethod, OrderKind, ReplyOutcome, Satisfaction, Urgency
from orders.services._core import REASON_MAX
from orders.services.handling import EXPLANATION_MAX
from orders.services.intake import CONTENT_MAX, TITLE_MAX
from orgs.geo import CoordSystem
from orgs.models import Unit

# The public API's limits (intake.api): description, address, name, phone, order number.
PUBLIC_CONTENT_MAX = 4000
PUBLIC_ADDRESS_MAX = 255
PUBLIC_NAME_MAX = 64
PUBLIC_PHONE_MAX = 32
NUMBER_MIN, NUMBER_MAX = 8, 24
STAFF_PHOTOS_MAX = 9


def request_id() -> str:
    """A fresh idempotency key for a form: submitting the same form twice creates one order."""
    return uuid.uuid4().hex


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is read and checked by ``orders.attachments``."""

    def __init__(self, *args: Any, max_files: int = STAFF_PHOTOS_MAX, **kwargs: Any) -> None:
        self.max_files = max_files
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [f for f in files if f]
        if len(files) > self.max_files:
            raise forms.ValidationError(_("最多上传%(n)d个文件。") % {"n": self.max_files})
        limit = int(getattr(settings, "ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024))
        for f in files:
            if f.size is not None and f.size > limit:
                raise forms.ValidationError(
                    _("文件「%(name)s」过大，单个文件不能超过%(n)d MB。")
                    % {"name": f.name, "n": limit // (1024 * 1024)}
                )
        return list(files)


def _textarea(rows: int = 4, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


# --- the agent's console ------------------------------------------------------------------------


class CallForm(forms.Form):
    """One form for the whole call: every button of the console posts it (``formaction``), so
    whatever the agent typed comes back on any error."""

    phone = forms.CharField(
        label=_("来电号码"),
        max_length=PUBLIC_PHONE_MAX,
        required=False,
        help_text=_("话务系统未推送号码时手工填写；隐藏号码可不填"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    requester_name = forms.CharField(label=_("诉求人"), max_length=PUBLIC_NAME_MAX, required=False)
    kind = forms.ChoiceField(label=_("诉求类型"), choices=OrderKind.choices, initial=OrderKind.COMPLAINT)
    title = forms.CharField(
        label=_("诉求标题"),
        max_length=TITLE_MAX,
        required=False,
        help_text=_("一句话概括问题"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    content = forms.CharField(
        label=_("诉求内容"), max_length=CONTENT_MAX, required=False, widget=_textarea(5)
    )
    item_query = forms.CharField(
        label=_("事项"),
        max_length=64,
        required=False,
        help_text=_("输入中文关键词或拼音首字母，如「噪音」或「zy」"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "type": "search"}),
    )
    item = forms.ModelChoiceField(
        label=_("事项"), queryset=CatalogItem.objects.filter(is_active=True), required=False
    )
    address_text = forms.CharField(
        label=_("问题地址"),
        max_length=PUBLIC_ADDRESS_MAX,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "address-suggestions"}),
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect
    )
    confidential = forms.BooleanField(label=_("保密件（对承办单位隐藏诉求人）"), required=False)
    attachments = MultipleFileField(label=_("附件"), help_text=_("照片或 PDF，最多 9 个"))
    kb_query = forms.CharField(
        label=_("知识库"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "type": "search"}),
    )
    client_request_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, manual: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.manual = manual
        if not manual:
            del self.fields["phone"]

    def require_order_fields(self) -> bool:
        """Registering needs a title and the content (an attach or an answer needs neither)."""
        ok = True
        for name, message in (
            ("title", _("请填写诉求标题。")),
            ("content", _("请填写诉求内容。")),
        ):
            if not (self.cleaned_data.get(name) or "").strip():
                self.add_error(name, message)
                ok = False
        return ok


# --- dispatcher ---------------------------------------------------------------------------------


class VersionForm(forms.Form):
    """Every action carries the order version the person saw (someone faster → stale)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ReasonForm(VersionForm):
    reason = forms.CharField(label=_("理由"), max_length=REASON_MAX, widget=_textarea(3))


class OptionalReasonForm(VersionForm):
    reason = forms.CharField(label=_("说明"), max_length=REASON_MAX, required=False, widget=_textarea(2))


class DispatchForm(VersionForm):
    lead_unit = forms.ModelChoiceField(
        label=_("主办单位"), queryset=Unit.objects.filter(is_active=True), required=False
    )
    assist_units = forms.ModelMultipleChoiceField(
        label=_("协办单位"), queryset=Unit.objects.filter(is_active=True), required=False
    )
    unit_query = forms.CharField(label=_("查找单位"), max_length=64, required=False)
    note = forms.CharField(label=_("派单意见"), max_length=REASON_MAX, required=False, widget=_textarea(2))


class BatchDispatchForm(forms.Form):
    orders = forms.CharField(required=False)  # parsed from the checkboxes by the view
    lead_unit = forms.ModelChoiceField(
        label=_("统一派给"), queryset=Unit.objects.filter(is_active=True), required=False
    )


class MergeForm(VersionForm):
    parent = forms.IntegerField(label=_("主件"), widget=forms.HiddenInput)
    reason = forms.CharField(label=_("说明"), max_length=REASON_MAX, required=False)


class ReopenForm(VersionForm):
    reason = forms.CharField(label=_("重办理由"), max_length=REASON_MAX, widget=_textarea(3))


# --- handler --------------------------------------------------------------------------------------


class AssignmentForm(VersionForm):
    assignment = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReturnForm(AssignmentForm):
    reason = forms.CharField(label=_("退单理由"), max_length=REASON_MAX, widget=_textarea(3))


class DelegateForm(AssignmentForm):
    unit = forms.ModelChoiceField(label=_("下派给"), queryset=Unit.objects.filter(is_active=True))
    note = forms.CharField(label=_("下派意见"), max_length=REASON_MAX, required=False, widget=_textarea(2))

    def __init__(self, *args: Any, targets: list[Unit] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if targets is not None:
            field = self.fields["unit"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Unit.objects.filter(pk__in=[u.pk for u in targets]).order_by("level", "code")
            field.choices = [("", _("请选择单位"))] + [(u.pk, u.name) for u in targets]


class RevealForm(VersionForm):
    reason = forms.CharField(
        label=_("查看理由"),
        max_length=REASON_MAX,
        help_text=_("查看号码将记入审计日志"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class ContactForm(AssignmentForm):
    method = forms.ChoiceField(
        label=_("联系方式"), choices=ContactMethod.choices, initial=ContactMethod.PHONE
    )
    note = forms.CharField(label=_("联系情况"), max_length=REASON_MAX, required=False, widget=_textarea(2))


class ReplyForm(AssignmentForm):
    outcome = forms.ChoiceField(label=_("办理结果"), choices=ReplyOutcome.choices, widget=forms.RadioSelect)
    explanation = forms.CharField(label=_("办理情况"), max_length=EXPLANATION_MAX, widget=_textarea(5))
    photos = MultipleFileField(label=_("现场照片"), help_text=_("照片或 PDF，最多 9 个"))


class ExtensionForm(AssignmentForm):
    amount = forms.IntegerField(
        label=_("延期时长"), min_value=1, max_value=30, help_text=_("工作日（按小时计时的事项为小时）")
    )
    reason = forms.CharField(label=_("延期理由"), max_length=REASON_MAX, widget=_textarea(3))


class SuspendForm(AssignmentForm):
    reason = forms.CharField(label=_("挂账理由"), max_length=REASON_MAX, widget=_textarea(3))


class ReviewForm(VersionForm):
    reply = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=_("审核意见"),
        choices=[("approve", _("通过")), ("send_back", _("退回重办"))],
        widget=forms.RadioSelect,
        initial="approve",
    )
    comment = forms.CharField(
        label=_("说明"),
        max_length=REASON_MAX,
        required=False,
        widget=_textarea(2),
        help_text=_("退回时必填"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "send_back" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("请填写退回理由。"))
        return data


class DecisionForm(VersionForm):
    request = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=_("审批意见"),
        choices=[("approve", _("同意")), ("refuse", _("驳回"))],
        widget=forms.RadioSelect,
        initial="approve",
    )
    reason = forms.CharField(
        label=_("说明"), max_length=REASON_MAX, required=False, widget=_textarea(2), help_text=_("驳回时必填")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "refuse" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("请填写驳回理由。"))
        return data


class ReturnRulingForm(VersionForm):
    decision = forms.ChoiceField(
        label=_("退单审核"),
        choices=[("uphold", _("同意退单（重新派单）")), ("reject", _("驳回（原单位继续办理）"))],
        widget=forms.RadioSelect,
        initial="uphold",
    )
    reason = forms.CharField(
        label=_("说明"), max_length=REASON_MAX, required=False, widget=_textarea(2), help_text=_("驳回时必填")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("请填写驳回理由。"))
        return data


# --- callback and supervision -------------------------------------------------------------------

YES_NO = [("", _("未询问")), ("yes", _("是")), ("no", _("否"))]


class CallbackForm(VersionForm):
    reached = forms.ChoiceField(
        label=_("是否接通"),
        choices=[("yes", _("已接通")), ("no", _("未接通"))],
        widget=forms.RadioSelect,
        initial="yes",
    )
    unit_contacted = forms.ChoiceField(label=_("承办单位是否联系过您"), choices=YES_NO, required=False)
    resolved = forms.ChoiceField(label=_("问题是否解决"), choices=YES_NO, required=False)
    satisfaction = forms.ChoiceField(
        label=_("满意度"), choices=Satisfaction.choices, widget=forms.RadioSelect, required=False
    )
    comment = forms.CharField(label=_("回访记录"), max_length=REASON_MAX, required=False, widget=_textarea(3))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reached") == "yes" and not data.get("satisfaction"):
            self.add_error("satisfaction", _("请选择满意度。"))
        if data.get("reached") == "no" and data.get("satisfaction"):
            self.add_error("satisfaction", _("未接通的回访不能评价满意度。"))
        return data

    @staticmethod
    def yes_no(value: str | None) -> bool | None:
        return {"yes": True, "no": False}.get(value or "")


class UrgeForm(VersionForm):
    message = forms.CharField(
        label=_("催办内容"),
        max_length=REASON_MAX,
        widget=_textarea(2),
        initial=_("请抓紧办理，按时答复群众。"),
    )


class SuperviseForm(VersionForm):
    reason = forms.CharField(label=_("督办事由"), max_length=REASON_MAX, widget=_textarea(2))
    within_days = forms.IntegerField(label=_("督办时限（工作日）"), min_value=1, max_value=30, initial=2)


class EscalateForm(VersionForm):
    reason = forms.CharField(label=_("上报理由"), max_length=REASON_MAX, widget=_textarea(2))


class AnswerForm(VersionForm):
    answer = forms.CharField(label=_("答复内容"), max_length=REASON_MAX, widget=_textarea(4))


class UploadForm(VersionForm):
    documents = MultipleFileField(label=_("上传附件"), help_text=_("照片或 PDF，最多 9 个"))

    def clean_documents(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("documents") or []
        if not files:
            raise forms.ValidationError(_("请选择要上传的文件。"))
        return files


# --- residents ------------------------------------------------------------------------------------


class ResidentReportForm(forms.Form):
    """随手拍: the same fields and limits as ``POST /api/v1/public/orders``."""

    photos = MultipleFileField(
        label=_("现场照片"),
        max_files=PHOTOS_MAX,
        help_text=_("可拍照或从相册选择，最多 9 张"),
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    content = forms.CharField(
        label=_("问题描述"),
        max_length=PUBLIC_CONTENT_MAX,
        error_messages={"required": _("请填写问题描述。")},
        widget=_textarea(5, placeholder=_("请描述发生了什么问题，例如：小区门口路灯不亮已一周")),
    )
    item = forms.ModelChoiceField(
        label=_("问题类别"),
        queryset=CatalogItem.objects.filter(is_active=True),
        required=False,
        empty_label=_("不确定（由工作人员分类）"),
    )
    address = forms.CharField(
        label=_("问题地址"),
        max_length=PUBLIC_ADDRESS_MAX,
        required=False,
        help_text=_("在地图上点选位置，或填写地址"),
    )
    lon = forms.FloatField(min_value=-180, max_value=180, required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(min_value=-90, max_value=90, required=False, widget=forms.HiddenInput)
    coord_system = forms.ChoiceField(
        choices=CoordSystem.choices, initial=CoordSystem.WGS84, required=False, widget=forms.HiddenInput
    )
    name = forms.CharField(label=_("称呼"), max_length=PUBLIC_NAME_MAX, required=False)
    phone = forms.CharField(
        label=_("手机号"),
        max_length=PUBLIC_PHONE_MAX,
        required=False,
        help_text=_("查询办理进度时需要手机号后四位"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    client_request_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def clean_content(self) -> str:
        value = str(self.cleaned_data.get("content") or "")
        if not value.strip():
            raise forms.ValidationError(_("请填写问题描述。"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lon") is None) != (data.get("lat") is None):
            self.add_error("address", _("位置不完整，请重新在地图上点选。"))
        return data


class FollowForm(forms.Form):
    number = forms.RegexField(
        label=_("工单号"),
        regex=r"^\s*\d+\s*$",
        min_length=NUMBER_MIN,
        max_length=NUMBER_MAX,
        error_messages={"invalid": _("工单号由数字组成。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    phone_last4 = forms.RegexField(
        label=_("手机号后四位"),
        regex=r"^\d{4}$",
        error_messages={"invalid": _("请填写登记手机号的后四位数字。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4}),
    )


class RateForm(FollowForm):
    satisfaction = forms.ChoiceField(
        label=_("您对办理结果是否满意"), choices=Satisfaction.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("评价"), max_length=RATING_COMMENT_MAX, required=False, widget=_textarea(3)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].widget = forms.HiddenInput()
        self.fields["phone_last4"].widget = forms.HiddenInput()
