"""Open311 GeoReport v2 under ``/open311/v2/`` — the interoperability door, kept small.

=================================  =====  ===========================================================
path (``.json`` or ``.xml``)       verb   what
=================================  =====  ===========================================================
``services``                       GET    active catalog items (事项) as services, grouped by category
``services/{service_code}``        GET    a service definition: its attributes
``requests``                       POST   a service request → an order awaiting dispatch (API key)
``requests``                       GET    the calling client's requests (API key; filters of the spec)
``requests/{service_request_id}``  GET    one of the calling client's requests (API key)
=================================  =====  ===========================================================

- Services come from the catalog: ``service_code`` is the item code, ``group`` the category and
  ``keywords`` the item's keywords. Every service has ``metadata=true`` with one attribute,
  ``kind`` (诉求类型, a single-value list of ``OrderKind``).
- POST needs an administrator-issued key (``intake.Open311Client``; the security admin issues
  and revokes it, audited). Reading requests needs the key too, and a client reads only what it
  posted: descriptions may carry personal data, so this deployment does not publish them.
- ``lat``/``long`` are WGS-84 as the spec says; the extension ``coord_system`` (gcj02 | bd09)
  declares other systems. ``media_url`` is not fetched (no outbound requests).
- Errors use the spec's error array: ``[{"code": 400, "description": "…"}]`` or
  ``<errors><error><code>…</code><description>…</description></error></errors>``.
- ``service_request_id`` is the order number.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: S405 -- we only write XML

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from catalog.models import CatalogItem
from core.net import client_ip
from intake import ratelimit, services
from intake.models import Open311Client, Open311Request
from orders.api.present import mask_text
from orders.choices import TERMINAL, OrderKind, OrderStatus
from orders.errors import OrderError, RateLimited
from orders.models import Order
from orgs.geo import CoordinatesError, parse_coord_system

app_name = "open311"

DEFAULT_DAYS = 90
MAX_RESULTS = 1000
DESCRIPTION_MAX = 4000
Payload = list[dict[str, Any]]


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description
        super().__init__(description)


# --- rendering ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _xml_into(parent: Element, key: str, value: Any) -> None:
    node = SubElement(parent, key)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_into(node, k, v)
    elif isinstance(value, list):
        child_tag = {"attributes": "attribute", "values": "value"}.get(key, "item")
        for v in value:
            _xml_into(node, child_tag, v)
    else:
        node.text = _text(value)


def render(fmt: str, root: str, row: str, rows: Payload, *, status: int = 200) -> HttpResponse:
    """Open311's two encodings of a list of objects (``root``/``row`` name the XML elements)."""
    if fmt == "xml":
        top = Element(root)
        for item in rows:
            node = SubElement(top, row)
            for key, value in item.items():
                _xml_into(node, key, value)
        body = tostring(top, encoding="utf-8", xml_declaration=True)
        response = HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    else:
        text = json.dumps(rows, ensure_ascii=False, default=_text)
        response = HttpResponse(text, status=status, content_type="application/json; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def render_object(fmt: str, root: str, obj: dict[str, Any]) -> HttpResponse:
    """A single object (the service definition) — JSON object, or XML under ``root``."""
    if fmt == "xml":
        top = Element(root)
        for key, value in obj.items():
            _xml_into(top, key, value)
        body = tostring(top, encoding="utf-8", xml_declaration=True)
        response = HttpResponse(body, content_type="text/xml; charset=utf-8")
    else:
        response = HttpResponse(
            json.dumps(obj, ensure_ascii=False, default=_text), content_type="application/json; charset=utf-8"
        )
    response["Cache-Control"] = "no-store"
    return response


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    return render(fmt, "errors", "error", [{"code": status, "description": description}], status=status)


View = Callable[..., HttpResponse]


def open311_view(view: View) -> View:
    """Domain and protocol errors → the spec's error array, in the requested format."""

    def wrapped(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, fmt=fmt, **kwargs)
        except Open311Error as exc:
            return error_response(fmt, exc.status, exc.description)
        except RateLimited as exc:
            return error_response(fmt, 429, exc.message)
        except PermissionDenied as exc:
            return error_response(fmt, 403, str(exc) or _("没有权限。"))
        except OrderError as exc:
            return error_response(fmt, 400, exc.message)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- services --------------------------------------------------------------------------------------


def _items() -> QuerySet[CatalogItem]:
    return (
        CatalogItem.objects.filter(is_active=True, subcategory__is_active=True)
        .select_related("subcategory", "subcategory__parent")
        .order_by("code")
    )


def _group(item: CatalogItem) -> str:
    sub = item.subcategory
    top = sub.parent if sub.parent_id is not None else None
    return top.name if top is not None else sub.name


def service_out(item: CatalogItem) -> dict[str, Any]:
    sub = item.subcategory
    return {
        "service_code": item.code,
        "service_name": item.name,
        "description": f"{_group(item)} / {sub.name} / {item.name}",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(k for k in item.keywords.replace("，", ",").replace(" ", ",").split(",") if k),
        "group": _group(item),
    }


def service_definition_out(item: CatalogItem) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "attributes": [
            {
                "variable": True,
                "code": "kind",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": _("诉求类型，默认为投诉"),
                "order": 1,
                "description": _("诉求类型"),
                "values": [{"key": value, "name": str(label)} for value, label in OrderKind.choices],
            }
        ],
    }


@require_http_methods(["GET"])
@open311_view
def services_list(request: HttpRequest, fmt: str) -> HttpResponse:
    return render(fmt, "services", "service", [service_out(i) for i in _items()])


@require_http_methods(["GET"])
@open311_view
def service_definition(request: HttpRequest, service_code: str, fmt: str) -> HttpResponse:
    item = _items().filter(code=service_code).first()
    if item is None:
        raise Open311Error(404, _("服务编码不存在：%(code)s") % {"code": service_code[:32]})
    return render_object(fmt, "service_definition", service_definition_out(item))


# --- requests --------------------------------------------------------------------------------------


def _client(request: HttpRequest) -> Open311Client:
    raw = request.POST.get("api_key") if request.method == "POST" else request.GET.get("api_key")
    client = services.open311_client_for_key(raw)
    if client is None:
        raise Open311Error(403, _("API 密钥无效或已吊销。"))
    return client


def _float(name: str, value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise Open311Error(400, _("参数 %(name)s 须为数字。") % {"name": name}) from None


def _status(order: Order) -> str:
    return "closed" if order.status in TERMINAL else "open"


def request_out(order: Order) -> dict[str, Any]:
    item = order.item
    reply_shown = order.status in (OrderStatus.AWAITING_CALLBACK, *TERMINAL)
    return {
        "service_request_id": order.number,
        "status": _status(order),
        "status_notes": mask_text(order.public_reply) if reply_shown else "",
        "service_name": item.name if item is not None else "",
        "service_code": item.code if item is not None else "",
        "description": mask_text(order.content),
        "agency_responsible": order.lead_unit.name if order.lead_unit is not None else "",
        "service_notice": "",
        "requested_datetime": order.created_at,
        "updated_datetime": order.updated_at,
        "expected_datetime": order.due_at,
        "address": order.address_text,
        "address_id": "",
        "zipcode": "",
        "lat": order.lat,
        "long": order.lon,
        "media_url": "",
    }


def _client_orders(client: Open311Client) -> QuerySet[Order]:
    return Order.objects.filter(
        pk__in=Open311Request.objects.filter(client=client).values("order_id")
    ).select_related("item", "lead_unit")


def _date(name: str, value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, _("参数 %(name)s 须为 ISO 8601 日期时间。") % {"name": name}) from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _client(request)
    qs = _client_orders(client)
    ids = [v.strip() for v in request.GET.get("service_request_id", "").split(",") if v.strip()]
    if ids:
        qs = qs.filter(number__in=ids[:MAX_RESULTS])
    else:
        end = _date("end_date", request.GET.get("end_date")) or timezone.now()
        start = _date("start_date", request.GET.get("start_date")) or end - dt.timedelta(days=DEFAULT_DAYS)
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        codes = [c.strip() for c in request.GET.get("service_code", "").split(",") if c.strip()]
        if codes:
            qs = qs.filter(item__code__in=codes)
        wanted = request.GET.get("status", "").strip()
        if wanted == "open":
            qs = qs.exclude(status__in=sorted(TERMINAL))
        elif wanted == "closed":
            qs = qs.filter(status__in=sorted(TERMINAL))
        elif wanted:
            raise Open311Error(400, _("参数 status 只能是 open 或 closed。"))
    rows = qs.order_by("-created_at", "-pk")[:MAX_RESULTS]
    return render(fmt, "service_requests", "request", [request_out(o) for o in rows])


def _attributes(post: Any) -> dict[str, str]:
    return {
        key[len("attribute[") : -1]: post.get(key, "")
        for key in post
        if key.startswith("attribute[") and key.endswith("]")
    }


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _client(request)
    ratelimit.rate_limit("open311", client_ip(request), int(settings.OPEN311_POST_PER_HOUR))
    post = request.POST
    code = post.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, _("缺少参数 service_code。"))
    item = _items().filter(code=code).first()
    if item is None:
        raise Open311Error(404, _("服务编码不存在：%(code)s") % {"code": code[:32]})
    lat = _float("lat", post.get("lat"))
    lon = _float("long", post.get("long"))
    if (lat is None) != (lon is None):
        raise Open311Error(400, _("lat 与 long 须同时提供。"))
    address = post.get("address_string", "").strip()
    if lat is None and not address:
        raise Open311Error(400, _("须提供位置：lat/long 或 address_string。"))
    try:
        system = parse_coord_system(post.get("coord_system", ""))
    except CoordinatesError as exc:
        raise Open311Error(400, str(exc)) from None
    kind = _attributes(post).get("kind", "").strip() or OrderKind.COMPLAINT
    if kind not in OrderKind.values:
        raise Open311Error(400, _("attribute[kind] 取值无效。"))
    description = post.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise Open311Error(400, _("description 不能超过%(n)d个字符。") % {"n": DESCRIPTION_MAX})
    order = services.open311_request_create(
        client=client,
        now=timezone.now(),
        item=item,
        description=description or item.name,
        lon=lon,
        lat=lat,
        coord_system=system,
        address_string=address[:255],
        first_name=post.get("first_name", ""),
        last_name=post.get("last_name", ""),
        phone=post.get("phone", "")[:32],
        kind=kind,
        device_id=post.get("device_id", ""),
        account_id=post.get("account_id", ""),
    )
    notice = (
        _("已受理，等待派单。")
        if not post.get("media_url")
        else _("已受理；media_url 不会被下载，请通过其他渠道提供照片。")
    )
    row = {
        "service_request_id": order.number,
        "service_notice": notice,
        "account_id": post.get("account_id", "")[:64],
    }
    return render(fmt, "service_requests", "request", [row], status=201)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@open311_view
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    return _list_requests(request, fmt)


@require_http_methods(["GET"])
@open311_view
def request_detail(request: HttpRequest, request_id: str, fmt: str) -> HttpResponse:
    client = _client(request)
    order = _client_orders(client).filter(number=request_id).first()
    if order is None:
        raise Open311Error(404, _("诉求不存在：%(id)s") % {"id": request_id[:32]})
    return render(fmt, "service_requests", "request", [request_out(order)])


def _paths() -> Iterable[Any]:
    fmt = r"\.(?P<fmt>json|xml)$"
    return [
        re_path(r"^services" + fmt, services_list, name="services"),
        re_path(r"^services/(?P<service_code>[^/]{1,32})" + fmt, service_definition, name="service"),
        re_path(r"^requests" + fmt, requests_view, name="requests"),
        re_path(r"^requests/(?P<request_id>[^/]{1,32})" + fmt, request_detail, name="request"),
    ]


urlpatterns = list(_paths())
