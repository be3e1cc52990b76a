"""The assessment API: ``/api/v1/assessment/…`` (API tokens, ``core.api_auth``).

Thin handlers: parse, check ``assessment.permissions`` (403 with a Chinese message) or load
through a scoped selector (404 when out of scope), call one selector or service, present. Domain
errors map to HTTP in the API's one exception handler (``orders.api.errors``).

- ``GET  rankings?scope=&kind=street|department&month=YYYY-MM`` — ranking with change;
- ``GET  units/{id}/rates?month=`` — a unit's rates and time measures, both axes;
- ``GET  appeals?status=&month=`` · ``POST appeals`` · ``POST appeals/{id}/rule`` — appeals;
- ``GET  early-warnings?scope=&days=`` — the dashboard's warning slot;
- ``GET  config/{city_id}`` · ``POST config/{city_id}`` — the city's factors (audited);
- ``POST evaluations`` — a street's monthly evaluation of a department;
- ``GET  briefing?scope=&month=`` — the monthly briefing workbook (audited export).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from assessment import metrics, permissions, selectors, services
from assessment.briefing import CONTENT_TYPE, briefing_export, briefing_filename
from assessment.choices import AppealDecision, AppealReason, AppealStatus
from assessment.metrics import Period, Rates
from assessment.models import Appeal
from core.api_auth import ApiTokenAuth
from core.workcalendar import SHANGHAI
from orders.api.errors import STAFF_ERRORS
from orders.api.schemas import ApiIn
from orders.errors import InvalidInput
from orders.models import Callback
from orgs.models import Unit

router = Router(auth=ApiTokenAuth(), tags=["考评"])

MAX_ID = 2**53 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
MonthText = Annotated[
    str | None, Field(None, pattern=r"^\d{4}-\d{2}$", description="月份，YYYY-MM；缺省为本月")
]


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _now() -> dt.datetime:
    return timezone.now()


def _period(month: str | None) -> Period:
    if not month:
        return Period.containing(_now().astimezone(SHANGHAI).date())
    try:
        return Period.parse_month(month)
    except ValueError as exc:
        raise InvalidInput(_("月份格式应为YYYY-MM。")) from exc


def _unit(pk: int) -> Unit:
    unit = Unit.objects.filter(pk=pk, is_active=True).first()
    if unit is None:
        raise InvalidInput(_("单位不存在或已停用。"))
    return unit


# --- schemas --------------------------------------------------------------------------------------------


class RatesOut(Schema):
    response: float | None = Field(description="响应率（0–1）")
    resolution: float | None = Field(description="解决率（0–1）")
    satisfaction: float | None = Field(description="满意率（0–1）")
    composite: float | None = Field(description="综合成绩（0–1）")
    score: float | None = Field(description="综合成绩（0–100）")
    on_time_acceptance: float | None
    on_time_reply: float | None
    overdue: int
    overdue_multiple: float | None
    rework: int
    reopen: int
    suspensions: int
    extensions: int
    received: int
    direct_answer: int
    closed: int
    valid: int
    excluded: int
    unreached: int


def _rates(r: Rates) -> RatesOut:
    return RatesOut(**r.as_dict())


class FactorsOut(Schema):
    response_weight: float
    resolution_weight: float
    satisfaction_weight: float
    satisfied_factor: float
    basically_factor: float
    rating_weight: float
    rating_weight_floor: float
    whistle_share: float
    appeal_window_days: int
    effective_rating_weight: float
    version: int | None = None


def _factors(f: metrics.Factors, version: int | None = None) -> FactorsOut:
    return FactorsOut(
        **{name: getattr(f, name) for name in metrics.FACTOR_NAMES},
        effective_rating_weight=f.effective_rating_weight,
        version=version,
    )


class UnitRef(Schema):
    id: int
    code: str
    name: str


class PeriodOut(Schema):
    month: str
    label: str
    start: dt.date
    end: dt.date


def _period_out(p: Period) -> PeriodOut:
    return PeriodOut(month=p.key, label=p.label, start=p.start, end=p.end)


class UnitRatesOut(Schema):
    unit: UnitRef
    period: PeriodOut
    territorial: RatesOut = Field(description="属地口径：问题发生在本单位辖区内的工单")
    handling: RatesOut = Field(description="承办口径：本单位（含下级）为最终主办的工单")
    factors: FactorsOut


class DepartmentScoreOut(Schema):
    order_score: float | None
    whistle_score: float | None
    evaluation_score: float | None
    rating_score: float | None
    rating_weight: float
    score: float | None


class RankingRowOut(Schema):
    unit: UnitRef
    rank: int | None
    previous_rank: int | None
    rank_change: int | None = Field(description="较上期上升的名次（负数为下降）")
    score: float | None
    previous_score: float | None
    score_change: float | None
    rates: RatesOut
    department: DepartmentScoreOut | None = None


class RankingOut(Schema):
    scope: UnitRef
    kind: str
    period: PeriodOut
    previous_period: PeriodOut
    rows: list[RankingRowOut]


class AppealIn(ApiIn):
    callback_id: int = Field(ge=1, le=MAX_ID)
    unit_id: int = Field(ge=1, le=MAX_ID, description="以哪个单位的名义申诉")
    reason: AppealReason
    text: str = Field(min_length=1, max_length=2000)
    attachment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=20)


class AppealRuleIn(ApiIn):
    decision: AppealDecision
    ruling: str = Field(min_length=1, max_length=2000)
    version: int = Field(ge=0, le=MAX_ID, description="客户端看到的申诉版本；不一致时返回 409")


class AppealOut(Schema):
    id: int
    order_id: int
    order_number: str
    callback_id: int
    unit: UnitRef
    reason: str
    reason_label: str
    text: str
    attachment_ids: list[int]
    status: str
    status_label: str
    version: int
    submitted_at: dt.datetime
    ruled_at: dt.datetime | None
    ruling: str


def _appeal(a: Appeal) -> AppealOut:
    return AppealOut(
        id=a.pk,
        order_id=a.order_id,
        order_number=a.order.number,
        callback_id=a.callback_id,
        unit=UnitRef(id=a.unit.pk, code=a.unit.code, name=a.unit.name),
        reason=a.reason,
        reason_label=str(AppealReason(a.reason).label),
        text=a.text,
        attachment_ids=[int(pk) for pk in a.attachment_ids],
        status=a.status,
        status_label=str(AppealStatus(a.status).label),
        version=a.version,
        submitted_at=a.submitted_at,
        ruled_at=a.ruled_at,
        ruling=a.ruling,
    )


class AppealFilterIn(Schema):
    status: AppealStatus | None = None
    month: MonthText = None
    limit: int = Field(100, ge=1, le=500)


class RankingFilterIn(Schema):
    scope: int = Field(ge=1, le=MAX_ID, description="范围单位（市或区）")
    kind: Literal["street", "department"] = "street"
    month: MonthText = None


class MonthIn(Schema):
    month: MonthText = None


class ScopeMonthIn(Schema):
    scope: int = Field(ge=1, le=MAX_ID, description="范围单位（市或区）")
    month: MonthText = None


class WarningFilterIn(Schema):
    scope: int = Field(ge=1, le=MAX_ID)
    days: int = Field(7, ge=1, le=90)


class WarningOut(Schema):
    id: int
    area: UnitRef
    item_id: int | None
    item_name: str | None
    day: dt.date
    level: str
    observed: float
    expected: float
    rule: str
    notified: bool


class ConfigIn(ApiIn):
    response_weight: float | None = Field(None, ge=0, le=1)
    resolution_weight: float | None = Field(None, ge=0, le=1)
    satisfaction_weight: float | None = Field(None, ge=0, le=1)
    satisfied_factor: float | None = Field(None, ge=0, le=1)
    basically_factor: float | None = Field(None, ge=0, le=1)
    rating_weight: float | None = Field(None, ge=0, le=1)
    rating_weight_floor: float | None = Field(None, ge=0, le=1)
    whistle_share: float | None = Field(None, ge=0, le=1)
    appeal_window_days: int | None = Field(None, ge=1, le=365)
    version: int | None = Field(None, ge=0, le=MAX_ID)


class EvaluationIn(ApiIn):
    rater_unit_id: int = Field(ge=1, le=MAX_ID)
    unit_id: int = Field(ge=1, le=MAX_ID)
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    score: int = Field(ge=0, le=100)
    comment: str = Field("", max_length=2000)


class EvaluationOut(Schema):
    id: int
    rater_unit_id: int
    unit_id: int
    month: str
    score: int


# --- endpoints -------------------------------------------------------------------------------------------


def _ref(unit: Unit) -> UnitRef:
    return UnitRef(id=unit.pk, code=unit.code, name=unit.name)


@router.get("/rankings", response={200: RankingOut, **STAFF_ERRORS}, summary="街道、部门排名（含较上期变化）")
def rankings(request: HttpRequest, filters: Query[RankingFilterIn]) -> RankingOut:
    scope = _unit(filters.scope)
    if not permissions.can_view_rankings(_actor(request), scope):
        raise PermissionDenied(_("您无权查看该范围的考评排名。"))
    period = _period(filters.month)
    rows = selectors.ranking_for_period(scope=scope, kind=filters.kind, period=period)
    return RankingOut(
        scope=_ref(scope),
        kind=filters.kind,
        period=_period_out(period),
        previous_period=_period_out(period.previous()),
        rows=[
            RankingRowOut(
                unit=UnitRef(id=r.unit_id, code=r.code, name=r.name),
                rank=r.rank,
                previous_rank=r.previous_rank,
                rank_change=r.rank_change,
                score=r.score,
                previous_score=r.previous_score,
                score_change=r.score_change,
                rates=_rates(r.rates),
                department=DepartmentScoreOut(**vars(r.department)) if r.department is not None else None,
            )
            for r in rows
        ],
    )


@router.get(
    "/units/{unit_id}/rates", response={200: UnitRatesOut, **STAFF_ERRORS}, summary="单位三率与时效指标"
)
def unit_rates(request: HttpRequest, unit_id: PathId, filters: Query[MonthIn]) -> UnitRatesOut:
    unit = _unit(unit_id)
    if not permissions.can_view_unit(_actor(request), unit):
        raise PermissionDenied(_("您无权查看该单位的考评数据。"))
    period = _period(filters.month)
    r = selectors.unit_rates_for_period(unit=unit, period=period)
    return UnitRatesOut(
        unit=_ref(unit),
        period=_period_out(period),
        territorial=_rates(r.territorial),
        handling=_rates(r.handling),
        factors=_factors(r.factors),
    )


@router.get("/appeals", response={200: list[AppealOut], **STAFF_ERRORS}, summary="申诉列表")
def appeal_list(request: HttpRequest, filters: Query[AppealFilterIn]) -> list[AppealOut]:
    qs = selectors.appeals_visible_to(_actor(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.month:
        period = _period(filters.month)
        qs = qs.filter(
            submitted_at__gte=dt.datetime.combine(period.start, dt.time(), tzinfo=SHANGHAI),
            submitted_at__lt=dt.datetime.combine(period.end, dt.time(), tzinfo=SHANGHAI),
        )
    return [_appeal(a) for a in qs[: filters.limit]]


@router.post("/appeals", response={201: AppealOut, **STAFF_ERRORS}, summary="提出申诉")
def appeal_create(request: HttpRequest, payload: AppealIn) -> Status[AppealOut]:
    callback = Callback.objects.filter(pk=payload.callback_id).first()
    if callback is None:
        raise InvalidInput(_("回访记录不存在。"))
    appeal = services.appeal_submit(
        actor=_actor(request),
        callback=callback,
        unit=_unit(payload.unit_id),
        reason=payload.reason,
        text=payload.text,
        attachment_ids=payload.attachment_ids,
        now=_now(),
    )
    return Status(201, _appeal(Appeal.objects.select_related("order", "unit").get(pk=appeal.pk)))


@router.post("/appeals/{appeal_id}/rule", response={200: AppealOut, **STAFF_ERRORS}, summary="裁定申诉")
def appeal_rule(request: HttpRequest, appeal_id: PathId, payload: AppealRuleIn) -> AppealOut:
    appeal = selectors.appeal_get_for_user(_actor(request), appeal_id)
    appeal.version = payload.version
    ruled = services.appeal_rule(
        actor=_actor(request), appeal=appeal, decision=payload.decision, ruling=payload.ruling, now=_now()
    )
    return _appeal(Appeal.objects.select_related("order", "unit").get(pk=ruled.pk))


@router.get("/early-warnings", response={200: list[WarningOut], **STAFF_ERRORS}, summary="预警")
def early_warnings(request: HttpRequest, filters: Query[WarningFilterIn]) -> list[WarningOut]:
    scope = _unit(filters.scope)
    if not permissions.can_view_unit(_actor(request), scope):
        raise PermissionDenied(_("您无权查看该单位的预警。"))
    since = _now().astimezone(SHANGHAI).date() - dt.timedelta(days=filters.days - 1)
    return [
        WarningOut(
            id=w.pk,
            area=_ref(w.area),
            item_id=w.item_id,
            item_name=w.item.name if w.item is not None else None,
            day=w.day,
            level=w.level,
            observed=w.observed,
            expected=w.expected,
            rule=w.rule,
            notified=w.notified,
        )
        for w in selectors.early_warnings_for_dashboard(scope=scope, since=since)
    ]


@router.get("/config/{city_id}", response={200: FactorsOut, **STAFF_ERRORS}, summary="城市考评参数")
def config_get(request: HttpRequest, city_id: PathId) -> FactorsOut:
    city = _unit(city_id)
    if not permissions.can_view_unit(_actor(request), city) and not permissions.can_configure(
        _actor(request), city
    ):
        raise PermissionDenied(_("您无权查看该城市的考评参数。"))
    row = selectors.config_for_city(city)
    return _factors(selectors.factors_for(city), row.version if row is not None else None)


@router.post("/config/{city_id}", response={200: FactorsOut, **STAFF_ERRORS}, summary="设置城市考评参数")
def config_set(request: HttpRequest, city_id: PathId, payload: ConfigIn) -> FactorsOut:
    city = _unit(city_id)
    changes = {k: v for k, v in payload.dict(exclude={"version"}).items() if v is not None}
    if not changes:
        raise InvalidInput(_("请至少修改一项参数。"))
    row = services.assessment_config_set(
        actor=_actor(request), city=city, now=_now(), changes=changes, version=payload.version
    )
    return _factors(selectors.factors_for(city), row.version)


@router.post("/evaluations", response={201: EvaluationOut, **STAFF_ERRORS}, summary="街道月度评价部门")
def evaluation_create(request: HttpRequest, payload: EvaluationIn) -> Status[EvaluationOut]:
    row = services.department_evaluation_submit(
        actor=_actor(request),
        rater_unit=_unit(payload.rater_unit_id),
        unit=_unit(payload.unit_id),
        period=_period(payload.month),
        score=payload.score,
        comment=payload.comment,
        now=_now(),
    )
    return Status(
        201,
        EvaluationOut(
            id=row.pk,
            rater_unit_id=row.rater_unit_id,
            unit_id=row.unit_id,
            month=f"{row.period:%Y-%m}",
            score=row.score,
        ),
    )


BRIEFING_RESPONSE = {
    "responses": {
        "200": {
            "description": "月度通报（Excel）",
            "content": {CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get(
    "/briefing", response={**STAFF_ERRORS}, summary="下载月度通报（Excel）", openapi_extra=BRIEFING_RESPONSE
)
def briefing(request: HttpRequest, filters: Query[ScopeMonthIn]) -> HttpResponse:
    scope = _unit(filters.scope)
    period = _period(filters.month)
    content, issued = briefing_export(actor=_actor(request), scope=scope, period=period, now=_now())
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(briefing_filename(scope, period))}"
    )
    response["X-Minhu-Briefing"] = "issued" if issued else "live"
    return response
