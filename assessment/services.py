"""Every write of the assessment except the rollups (``assessment.rollups``): the city factors,
appeals 申诉/免责 and their ruling, the streets' evaluation of departments, early warnings.

Each is keyword-only, takes ``actor`` and ``now``, runs in one transaction, checks permission
(``PermissionDenied``), state (``orders.errors.TransitionNotAllowed``) and concurrency
(``orders.errors.StaleTransition``, a conditional UPDATE on ``version``), and writes its audit row
(``core.audit.audit_record``) in the same transaction. The errors are the orders' ones so the API's
one exception handler maps them (STYLE.md rule 18); messages are Chinese.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from assessment import metrics, permissions
from assessment.choices import AppealDecision, AppealReason, AppealStatus, WarningLevel
from assessment.models import Appeal, AssessmentConfig, DepartmentEvaluation, EarlyWarning
from assessment.selectors import assessed_unit_ids, factors_for
from catalog.models import CatalogItem
from core.audit import audit_record
from core.workcalendar import SHANGHAI
from orders.choices import OrderStatus
from orders.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from orders.models import Attachment, Callback, Order
from orgs.choices import UnitKind
from orgs.models import Unit

TEXT_MAX = 2000
ATTACHMENTS_MAX = 20
WEIGHT_SUM_TOLERANCE = Decimal("0.000001")


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _text(value: str, *, required: str, limit: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(required)
    if len(text) > limit:
        raise InvalidInput(_("内容不能超过%(n)s个字。") % {"n": limit})
    return text


def _after_commit_rollup(order_id: int) -> None:
    def schedule() -> None:
        from assessment.tasks import rollup_orders_task

        rollup_orders_task([order_id])

    transaction.on_commit(schedule)


# --- factors ------------------------------------------------------------------------------------------

DECIMAL_FACTORS = tuple(name for name in metrics.FACTOR_NAMES if name != "appeal_window_days")


def _config_snapshot(row: AssessmentConfig) -> dict[str, Any]:
    return {name: str(getattr(row, name)) for name in metrics.FACTOR_NAMES} | {"version": row.version}


def _decimal(name: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(_("参数「%(n)s」须为数字。") % {"n": name}) from exc
    if not number.is_finite() or number < 0 or number > 1:
        raise InvalidInput(_("参数「%(n)s」须在0到1之间。") % {"n": name})
    return number.quantize(Decimal("0.000001"))


@transaction.atomic
def assessment_config_set(
    *, actor: Any, city: Unit, now: dt.datetime, changes: Mapping[str, Any], version: int | None = None
) -> AssessmentConfig:
    """Change the factors of ``city`` (audited). The three composite weights must add up to 1;
    the streets' rating weight may not go below its floor; only the system administrator moves
    the floor. ``version`` is the version the caller saw (409 when someone changed it since)."""
    if city.kind != UnitKind.CITY or city.parent_id is not None:
        raise InvalidInput(_("考评参数按城市设置，请选择市级单位。"))
    unknown = set(changes) - set(metrics.FACTOR_NAMES)
    if unknown:
        raise InvalidInput(_("未知的考评参数：%(n)s。") % {"n": "、".join(sorted(unknown))})
    _require(
        permissions.can_configure(actor, city, floor="rating_weight_floor" in changes),
        _("只有系统管理员可以调整街道评价权重下限。")
        if "rating_weight_floor" in changes
        else _("您没有设置考评参数的权限。"),
    )
    defaults = factors_for(city) if not AssessmentConfig.objects.filter(city=city).exists() else None
    if defaults is not None:
        initial = {
            name: Decimal(str(getattr(defaults, name))).quantize(Decimal("0.000001"))
            for name in DECIMAL_FACTORS
        }
        AssessmentConfig.objects.get_or_create(
            city=city,
            defaults={**initial, "appeal_window_days": defaults.appeal_window_days, "updated_at": now},
        )
    row = AssessmentConfig.objects.select_for_update().get(city=city)
    if version is not None and version != row.version:
        raise StaleTransition(_("考评参数已被他人修改，请刷新后重试。"))
    before = _config_snapshot(row)
    values: dict[str, Any] = {name: getattr(row, name) for name in metrics.FACTOR_NAMES}
    for name, value in changes.items():
        if name == "appeal_window_days":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 365:
                raise InvalidInput(_("申诉期限须为1至365天。"))
            values[name] = value
        else:
            values[name] = _decimal(name, value)
    total = sum((values[name] for name in metrics.WEIGHT_NAMES), Decimal(0))
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE * len(metrics.WEIGHT_NAMES):
        raise InvalidInput(
            _("响应率、解决率、满意率的权重之和须为1（当前为%(t)s）。") % {"t": total.normalize()}
        )
    if values["rating_weight"] < values["rating_weight_floor"]:
        raise InvalidInput(
            _("街道评价权重不能低于下限%(f)s。") % {"f": values["rating_weight_floor"].normalize()}
        )
    updated = AssessmentConfig.objects.filter(pk=row.pk, version=row.version).update(
        **values, version=F("version") + 1, updated_by=actor, updated_at=now
    )
    if updated != 1:
        raise StaleTransition(_("考评参数已被他人修改，请刷新后重试。"))
    row.refresh_from_db()
    audit_record(
        event_type="assessment.config_change",
        actor=actor,
        object_type="assessment.assessmentconfig",
        object_id=row.pk,
        before=before,
        after=_config_snapshot(row),
        extra={"city": city.pk},
        now=now,
    )
    return row


# --- appeals --------------------------------------------------------------------------------------------


def _appeal_snapshot(appeal: Appeal) -> dict[str, Any]:
    return {
        "order": appeal.order_id,
        "callback": appeal.callback_id,
        "unit": appeal.unit_id,
        "reason": appeal.reason,
        "text": appeal.text,
        "attachments": list(appeal.attachment_ids),
        "status": appeal.status,
        "ruling": appeal.ruling,
        "version": appeal.version,
    }


@transaction.atomic
def appeal_submit(
    *,
    actor: Any,
    callback: Callback,
    unit: Unit,
    reason: str,
    text: str,
    now: dt.datetime,
    attachment_ids: Sequence[int] = (),
) -> Appeal:
    """A unit contests a callback (申诉): the reason category, the text, and evidence (the order's
    own attachments). Within the city's appeal window after the callback; one pending or upheld
    appeal per callback and unit. Audited."""
    cb = Callback.objects.select_related("order").filter(pk=callback.pk).first()
    if cb is None:
        raise InvalidInput(_("回访记录不存在。"))
    order: Order = cb.order
    _require(permissions.can_submit_appeal(actor, unit), _("您没有以该单位名义申诉的权限。"))
    if order.status == OrderStatus.MERGED or order.parent_id is not None:
        raise InvalidInput(_("合并件的回访不计入考评，无需申诉。"))
    if not cb.reached:
        raise InvalidInput(_("未接通的回访不计入考评，无需申诉。"))
    if unit.pk not in assessed_unit_ids(order):
        raise InvalidInput(_("「%(u)s」不是该工单的考评对象，不能申诉。") % {"u": unit.name})
    if reason not in AppealReason.values:
        raise InvalidInput(_("请选择申诉类别。"))
    body = _text(text, required=_("请填写申诉理由。"))
    window = factors_for(unit).appeal_window_days
    if now - cb.created_at > dt.timedelta(days=window):
        raise InvalidInput(_("已超过申诉期限（回访后%(n)s天内）。") % {"n": window})
    if now < cb.created_at:
        raise InvalidInput(_("申诉时间不能早于回访时间。"))
    evidence = sorted({int(pk) for pk in attachment_ids})
    if len(evidence) > ATTACHMENTS_MAX:
        raise InvalidInput(_("佐证材料最多%(n)s件。") % {"n": ATTACHMENTS_MAX})
    if evidence and Attachment.objects.filter(order_id=order.pk, pk__in=evidence).count() != len(evidence):
        raise InvalidInput(_("佐证材料须是该工单的附件。"))
    if Appeal.objects.filter(
        callback_id=cb.pk, unit=unit, status__in=[AppealStatus.PENDING, AppealStatus.UPHELD]
    ).exists():
        raise InvalidInput(_("该单位对这次回访已有待裁定或已成立的申诉。"))
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                order_id=order.pk,
                callback_id=cb.pk,
                unit=unit,
                reason=reason,
                text=body,
                attachment_ids=evidence,
                submitted_by=actor,
                submitted_at=now,
            )
    except IntegrityError as exc:  # a concurrent twin won the unique constraint
        raise InvalidInput(_("该单位对这次回访已有待裁定或已成立的申诉。")) from exc
    audit_record(
        event_type="assessment.appeal_submit",
        actor=actor,
        object_type="assessment.appeal",
        object_id=appeal.pk,
        after=_appeal_snapshot(appeal),
        extra={"order_number": order.number},
        now=now,
    )
    return appeal


@transaction.atomic
def appeal_rule(*, actor: Any, appeal: Appeal, decision: str, ruling: str, now: dt.datetime) -> Appeal:
    """The centre rules on a pending appeal: uphold (the order leaves the rates; its rollup is
    recomputed after commit) or reject. Compare-and-set on (status, version); audited."""
    current = Appeal.objects.select_related("order__dispatch_unit", "unit").filter(pk=appeal.pk).first()
    if current is None:
        raise InvalidInput(_("申诉不存在。"))
    if current.status != AppealStatus.PENDING:
        raise TransitionNotAllowed(
            _("申诉当前为「%(s)s」，不能再次裁定。") % {"s": AppealStatus(current.status).label},
            action="appeal_rule",
            status=current.status,
        )
    if current.version != appeal.version:
        raise StaleTransition(_("申诉已被他人处理，请刷新后重试。"))
    _require(
        permissions.can_rule_appeal(
            actor, dispatch_unit=current.order.dispatch_unit, appealing_unit_id=current.unit_id
        ),
        _("您没有裁定该申诉的权限。"),
    )
    if decision not in AppealDecision.values:
        raise InvalidInput(_("请选择裁定结果（成立或驳回）。"))
    text = _text(ruling, required=_("请填写裁定意见。"))
    before = _appeal_snapshot(current)
    target = AppealStatus.UPHELD if decision == AppealDecision.UPHOLD else AppealStatus.REJECTED
    updated = Appeal.objects.filter(
        pk=current.pk, status=AppealStatus.PENDING, version=current.version
    ).update(status=target, version=F("version") + 1, ruled_by=actor, ruled_at=now, ruling=text)
    if updated != 1:
        raise StaleTransition(_("申诉已被他人处理，请刷新后重试。"))
    current.refresh_from_db()
    audit_record(
        event_type="assessment.appeal_rule",
        actor=actor,
        object_type="assessment.appeal",
        object_id=current.pk,
        before=before,
        after=_appeal_snapshot(current),
        extra={"decision": decision},
        now=now,
    )
    if target == AppealStatus.UPHELD:
        _after_commit_rollup(current.order_id)
    for name in ("status", "version", "ruled_by_id", "ruled_at", "ruling"):
        setattr(appeal, name, getattr(current, name))
    return current


# --- the streets' evaluation of departments --------------------------------------------------------------


@transaction.atomic
def department_evaluation_submit(
    *,
    actor: Any,
    rater_unit: Unit,
    unit: Unit,
    period: metrics.Period,
    score: int,
    now: dt.datetime,
    comment: str = "",
) -> DepartmentEvaluation:
    """A street's monthly evaluation of a department (0–100), once per month; audited."""
    _require(permissions.can_evaluate_department(actor, rater_unit), _("只有街道书记或领导可以评价部门。"))
    if unit.kind not in permissions.EVALUATED_KINDS:
        raise InvalidInput(_("只能评价部门或其派出机构。"))
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 100:
        raise InvalidInput(_("评分须为0至100的整数。"))
    if period.start.day != 1 or metrics.Period.containing(period.start) != period:
        raise InvalidInput(_("请按月评价。"))
    if period.start > now.astimezone(SHANGHAI).date():
        raise InvalidInput(_("不能评价尚未开始的月份。"))
    note = (comment or "").strip()
    if len(note) > TEXT_MAX:
        raise InvalidInput(_("内容不能超过%(n)s个字。") % {"n": TEXT_MAX})
    try:
        with transaction.atomic():
            row = DepartmentEvaluation.objects.create(
                period=period.start,
                rater_unit=rater_unit,
                unit=unit,
                score=score,
                comment=note,
                rated_by=actor,
                rated_at=now,
            )
    except IntegrityError as exc:
        raise InvalidInput(_("本月已评价过该部门。")) from exc
    audit_record(
        event_type="assessment.department_evaluation",
        actor=actor,
        object_type="assessment.departmentevaluation",
        object_id=row.pk,
        after={
            "period": period.key,
            "rater": rater_unit.pk,
            "unit": unit.pk,
            "score": score,
            "comment": note,
        },
        now=now,
    )
    return row


# --- early warnings (filled by the insight app) ------------------------------------------------------------

LEVEL_ORDER = {WarningLevel.YELLOW: 1, WarningLevel.ORANGE: 2, WarningLevel.RED: 3}


@transaction.atomic
def early_warning_record(
    *,
    area: Unit,
    day: dt.date,
    level: str,
    observed: float,
    expected: float,
    rule: str,
    episode_key: str,
    now: dt.datetime,
    item: CatalogItem | None = None,
) -> tuple[EarlyWarning, bool]:
    """Record a warning once per episode (``episode_key`` unique; safe to run twice). A repeat of
    the same episode at a higher level raises the level and clears ``notified`` so the new level
    is announced; the same or a lower level changes nothing. Returns (warning, changed)."""
    if level not in WarningLevel.values:
        raise InvalidInput(_("预警级别无效。"))
    key = (episode_key or "").strip()
    if not key or len(key) > 128 or not rule.strip() or len(rule) > 64:
        raise InvalidInput(_("预警的规则与事件键不能为空，且不超过长度限制。"))
    if not (math.isfinite(observed) and math.isfinite(expected)):
        raise InvalidInput(_("预警数值无效。"))
    warning, created = EarlyWarning.objects.get_or_create(
        episode_key=key,
        defaults={
            "area": area,
            "item": item,
            "day": day,
            "level": level,
            "observed": observed,
            "expected": expected,
            "rule": rule.strip(),
            "created_at": now,
        },
    )
    if created:
        return warning, True
    if LEVEL_ORDER[WarningLevel(level)] <= LEVEL_ORDER[WarningLevel(warning.level)]:
        return warning, False
    EarlyWarning.objects.filter(pk=warning.pk, level=warning.level).update(
        level=level, observed=observed, expected=expected, notified=False
    )
    warning.refresh_from_db()
    return warning, True


def early_warning_claim_notification(*, warning_id: int) -> bool:
    """Claim the right to announce a warning (exactly once however many workers try)."""
    return EarlyWarning.objects.filter(pk=warning_id, notified=False).update(notified=True) == 1
