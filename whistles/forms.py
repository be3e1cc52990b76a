"""Forms of the whistle pages: they parse and keep what was typed; the services decide.

A service's ``InvalidInput`` names the input it is about; ``add_service_error`` puts its message
beside that field (``SERVICE_FIELDS`` maps service names to form fields), so nothing typed is
lost and the message sits where the problem is.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Order
from orgs.geo import CoordinatesError, CoordSystem, to_wgs84
from orgs.models import Unit
from whistles.choices import WhistleType
from whistles.errors import InvalidInput
from whistles.services import MAX_ATTENDEES, RatingInput

SCORE_CHOICES = [(str(n), str(n)) for n in range(5, 0, -1)]
NAME_SPLIT = re.compile(r"[\n\r,，、;；]+")
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def _datetime_field(label: Any, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=LocalDateTimeInput(),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


def add_service_error(form: forms.Form, exc: InvalidInput, mapping: dict[str, str]) -> None:
    """Put a service's message beside the field it names (or above the form)."""
    name = mapping.get(exc.field or "", exc.field or "")
    form.add_error(name if name in form.fields else None, exc.message)


class PointMixin(forms.Form):
    """Longitude and latitude in a declared coordinate system; cleaned to WGS-84 ``point``."""

    lon = forms.FloatField(label=gettext_lazy("经度"), required=False)
    lat = forms.FloatField(label=gettext_lazy("纬度"), required=False)
    coord_system = forms.ChoiceField(
        label=gettext_lazy("坐标系"), choices=CoordSystem.choices, initial=CoordSystem.WGS84, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lon, lat = data.get("lon"), data.get("lat")
        data["point"] = None
        if lon is None and lat is None:
            return data
        if lon is None or lat is None:
            self.add_error("lon", _("经度和纬度须同时填写。"))
            return data
        try:
            data["point"] = to_wgs84(lon, lat, data.get("coord_system") or CoordSystem.WGS84)
        except CoordinatesError as exc:
            self.add_error("lon", str(exc))
        return data


class BlowForm(PointMixin):
    unit: forms.ModelChoiceField[Unit] = forms.ModelChoiceField(
        label=gettext_lazy("吹哨单位"), queryset=Unit.objects.none(), empty_label=None
    )
    type = forms.ChoiceField(
        label=gettext_lazy("哨型"),
        choices=WhistleType.choices,
        widget=forms.RadioSelect,
        initial=WhistleType.SHORT,
        help_text=gettext_lazy(
            "短哨：一般跨部门问题；长哨：重大事项，召开联席会议；急哨：突发事件，部门负责人立即到场。"
        ),
    )
    title = forms.CharField(label=gettext_lazy("事项"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("情况说明"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    address = forms.CharField(label=gettext_lazy("地点"), max_length=255, required=False)
    meeting_at = _datetime_field(gettext_lazy("会议时间（长哨）"), required=False)
    meeting_place = forms.CharField(label=gettext_lazy("会议地点（长哨）"), max_length=255, required=False)
    summon_units: forms.ModelMultipleChoiceField[Unit] = forms.ModelMultipleChoiceField(
        label=gettext_lazy("召集部门"),
        queryset=Unit.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    orders: forms.ModelMultipleChoiceField[Order] = forms.ModelMultipleChoiceField(
        label=gettext_lazy("关联工单"),
        queryset=Order.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    SERVICE_FIELDS = {"summon_unit_ids": "summon_units", "order_ids": "orders", "point": "lon"}

    def __init__(self, *args: Any, units: Any, summonable: Any, orders: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field: Any = self.fields["unit"]
        unit_field.queryset = units
        summon_field: Any = self.fields["summon_units"]
        summon_field.queryset = summonable
        order_field: Any = self.fields["orders"]
        order_field.queryset = orders
        order_field.label_from_instance = lambda o: f"{o.number} {o.title}"

    def clean_meeting_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("meeting_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("说明"), max_length=1000, required=False)


class CheckInForm(PointMixin):
    attendees = forms.CharField(
        label=gettext_lazy("到场人员"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("填写姓名，多人用顿号、逗号或换行分隔。"),
        error_messages={"required": gettext_lazy("请填写到场人员姓名。")},
    )
    at_meeting = forms.BooleanField(label=gettext_lazy("参会报到（长哨）"), required=False)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=1000, required=False)

    SERVICE_FIELDS = {"point": "lon"}

    def clean_attendees(self) -> list[str]:
        names = [n.strip() for n in NAME_SPLIT.split(self.cleaned_data.get("attendees") or "") if n.strip()]
        if not names:
            raise forms.ValidationError(_("请填写到场人员姓名。"))
        if len(names) > MAX_ATTENDEES:
            raise forms.ValidationError(_("到场人员最多%(n)d人。") % {"n": MAX_ATTENDEES})
        return names


class TaskAssignForm(forms.Form):
    summons = forms.TypedChoiceField(label=gettext_lazy("部门"), coerce=int, choices=())
    description = forms.CharField(
        label=gettext_lazy("任务内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    due_at = _datetime_field(gettext_lazy("完成时限"), required=True)

    def __init__(self, *args: Any, summonses: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["summons"]
        field.choices = summonses

    def clean_due_at(self) -> datetime:
        value: datetime = self.cleaned_data["due_at"]
        return timezone.make_aware(value) if timezone.is_naive(value) else value


class TaskReplyForm(forms.Form):
    reply = forms.CharField(
        label=gettext_lazy("答复"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("请填写答复。")},
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("撤销原因"), max_length=1000)


class CloseForm(forms.Form):
    """The result, and for each summoned department three scores (1–5) and a comment; the
    fields are ``timeliness_<id>``, ``effectiveness_<id>``, ``attitude_<id>``, ``comment_<id>``."""

    result = forms.CharField(
        label=gettext_lazy("办理结果"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )

    SCORES = (
        ("timeliness", gettext_lazy("响应及时")),
        ("effectiveness", gettext_lazy("解决实效")),
        ("attitude", gettext_lazy("工作态度")),
    )

    def __init__(self, *args: Any, summonses: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.summons_ids = [s.pk for s in summonses]
        for s in summonses:
            for key, label in self.SCORES:
                self.fields[f"{key}_{s.pk}"] = forms.TypedChoiceField(
                    label=label, choices=[("", "—"), *SCORE_CHOICES], coerce=int
                )
            self.fields[f"comment_{s.pk}"] = forms.CharField(
                label=gettext_lazy("评价意见"), max_length=1000, required=False
            )

    def groups(self) -> list[tuple[int, list[forms.BoundField]]]:
        """The bound fields of each summons, in order (for the template)."""
        return [
            (pk, [self[f"{key}_{pk}"] for key, _label in self.SCORES] + [self[f"comment_{pk}"]])
            for pk in self.summons_ids
        ]

    def ratings(self) -> dict[int, RatingInput]:
        data = self.cleaned_data
        return {
            pk: RatingInput(
                timeliness=data[f"timeliness_{pk}"],
                effectiveness=data[f"effectiveness_{pk}"],
                attitude=data[f"attitude_{pk}"],
                comment=data.get(f"comment_{pk}") or "",
            )
            for pk in self.summons_ids
        }
