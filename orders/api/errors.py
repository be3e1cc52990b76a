"""The API's one exception handler: domain errors → HTTP, with Chinese messages (STYLE.md rule 18).

=====================================================  ======  ============================
exception                                               status  ``code``
=====================================================  ======  ============================
``orders.errors.TransitionNotAllowed``                  409     ``transition_not_allowed``
``orders.errors.StaleTransition``                       409     ``stale_transition``
``orders.errors.InvalidInput`` (and ``django``'s         422     ``invalid_input`` …
``ValidationError``), ninja's request validation                ``validation_error``
``orders.errors.RateLimited``                           429     ``rate_limited``
a body ninja cannot parse (its ``HttpError(400)``)      422     ``validation_error``
any other ``OrderError`` (``http_status`` if it has     400     its ``code``
one)
``django.core.exceptions.PermissionDenied``             403     ``permission_denied``
``Http404`` / ``ObjectDoesNotExist`` (also: out of      404     ``not_found``
the caller's scope — never 403, existence is secret)
failed authentication                                   401     ``unauthenticated``
=====================================================  ======  ============================

Every body is ``{"detail": <Chinese message>, "code": <stable name>}``; a validation error adds
``errors: [{"loc": [...], "msg": <Chinese>, "type": <pydantic type>}]`` (a refused batch
registration, ``InvalidBatch``, one per refused entry at ``["body", "orders", index]``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from orders.errors import InvalidInput, OrderError, RateLimited, StaleTransition, TransitionNotAllowed


class ApiErrorOut(Schema):
    detail: str
    code: str


class ApiFieldErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ApiValidationErrorOut(Schema):
    detail: str
    code: str
    errors: list[ApiFieldErrorOut]


# What every authenticated endpoint may answer besides its success (declared in the OpenAPI).
STAFF_ERRORS: dict[int, Any] = {
    401: ApiErrorOut,
    403: ApiErrorOut,
    404: ApiErrorOut,
    409: ApiErrorOut,
    422: ApiValidationErrorOut,
    429: ApiErrorOut,
}


def _messages() -> dict[str, str]:
    return {
        "missing": _("此项为必填项。"),
        "string_type": _("须为文本。"),
        "string_too_short": _("长度不能少于%(min_length)s个字符。"),
        "string_too_long": _("长度不能超过%(max_length)s个字符。"),
        "string_pattern_mismatch": _("格式不正确。"),
        "int_type": _("须为整数。"),
        "int_parsing": _("须为整数。"),
        "int_from_float": _("须为整数。"),
        "float_type": _("须为数字。"),
        "float_parsing": _("须为数字。"),
        "finite_number": _("须为有限的数字。"),
        "bool_type": _("须为 true 或 false。"),
        "bool_parsing": _("须为 true 或 false。"),
        "datetime_type": _("须为日期时间（ISO 8601）。"),
        "datetime_parsing": _("须为日期时间（ISO 8601）。"),
        "datetime_from_date_parsing": _("须为日期时间（ISO 8601）。"),
        "date_type": _("须为日期（YYYY-MM-DD）。"),
        "date_parsing": _("须为日期（YYYY-MM-DD）。"),
        "date_from_datetime_parsing": _("须为日期（YYYY-MM-DD）。"),
        "enum": _("取值无效，可选：%(expected)s。"),
        "literal_error": _("取值无效，可选：%(expected)s。"),
        "greater_than": _("须大于%(gt)s。"),
        "greater_than_equal": _("不能小于%(ge)s。"),
        "less_than": _("须小于%(lt)s。"),
        "less_than_equal": _("不能大于%(le)s。"),
        "list_type": _("须为列表。"),
        "too_long": _("最多%(max_length)s项。"),
        "too_short": _("至少%(min_length)s项。"),
        "dict_type": _("须为对象。"),
        "model_attributes_type": _("须为对象。"),
        "model_type": _("须为对象。"),
        "json_invalid": _("请求体不是有效的 JSON。"),
        "json_type": _("请求体不是有效的 JSON。"),
        "extra_forbidden": _("不允许的字段。"),
        "union_tag_invalid": _("取值无效。"),
        "uuid_parsing": _("须为 UUID。"),
    }


def chinese_message(error: dict[str, Any]) -> str:
    """A Chinese message for one pydantic error (our validators raise Chinese ``ValueError``s)."""
    kind = str(error.get("type", ""))
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    if isinstance(ctx.get("expected"), str):  # pydantic's "'a', 'b' or 'c'" → "a、b、c"
        ctx["expected"] = str(ctx["expected"]).replace(" or ", ", ").replace("'", "").replace(", ", "、")
    if kind == "value_error":
        text = str(error.get("msg", ""))
        return text.removeprefix("Value error, ") or _("取值无效。")
    template = _messages().get(kind)
    if template is None:
        return _("取值无效。")
    try:
        return template % ctx
    except (KeyError, TypeError, ValueError):
        return template.split("%", 1)[0].rstrip("，：") + "。"


def _body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def register_error_handlers(api: NinjaAPI) -> None:
    """Install the mapping above on ``api`` (once, from ``minhu.api``). Handlers take ``Any``:
    ninja types them as "the exception or its class"; they only ever get an instance."""

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        errors = [
            {
                "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                "msg": chinese_message(e),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors
        ]
        return respond(request, 422, _body(_("请求参数有误。"), "validation_error", errors=errors))

    def on_django_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        messages = [str(m) for m in exc.messages] or [_("取值无效。")]
        errors = [{"loc": [], "msg": m, "type": "value_error"} for m in messages]
        return respond(request, 422, _body("；".join(messages), "invalid_input", errors=errors))

    def on_order_error(request: HttpRequest, exc: Any) -> HttpResponse:
        status = int(getattr(exc, "http_status", 0) or 0)
        if not status:
            if isinstance(exc, TransitionNotAllowed | StaleTransition):
                status = 409
            elif isinstance(exc, RateLimited):
                status = 429
            elif isinstance(exc, InvalidInput):
                status = 422
            else:
                status = 400
        if status == 422:
            problems = getattr(exc, "problems", None)  # a batch's refused entries
            if problems:
                errors = [{"loc": ["body", "orders", i], "msg": m, "type": exc.code} for i, m in problems]
                return respond(request, 422, _body(exc.message, exc.code, errors=errors))
            errors = [{"loc": [], "msg": exc.message, "type": exc.code}]
            return respond(request, 422, _body(exc.message, exc.code, errors=errors))
        return respond(request, status, _body(exc.message, exc.code))

    def on_permission(request: HttpRequest, exc: Any) -> HttpResponse:
        message = str(exc) or _("您没有权限执行此操作。")
        return respond(request, 403, _body(message, "permission_denied"))

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, 404, _body(_("未找到，或不在您的权限范围内。"), "not_found"))

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, 401, _body(_("未认证：请提供有效的 API 令牌。"), "unauthenticated"))

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if exc.status_code == 400:  # ninja could not parse the body: a validation error like the others
            message = _("请求体不是有效的 JSON。")
            errors = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
            return respond(request, 422, _body(message, "validation_error", errors=errors))
        if exc.status_code == 429:
            return respond(request, 429, _body(_("请求过于频繁，请稍后再试。"), "rate_limited"))
        return respond(request, exc.status_code, _body(_("请求无法处理。"), "http_error"))

    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(DjangoValidationError, on_django_validation)
    api.add_exception_handler(OrderError, on_order_error)
    api.add_exception_handler(PermissionDenied, on_permission)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(ObjectDoesNotExist, on_not_found)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http_error)
