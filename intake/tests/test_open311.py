"""Open311 GeoReport v2: services from the catalog, keyed POSTs landing in the dispatcher's queue,
reading back one's own requests, the spec's error arrays — in JSON and XML."""

from __future__ import annotations

import json
from xml.etree.ElementTree import fromstring  # noqa: S405 -- parses our own responses only

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from core.models import AuditEvent
from core.models.user import AdminRole
from intake import services
from orders.models import Order
from orders.selectors import order_list_for_queue
from orgs.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def xml(response):
    return fromstring(response.content)  # noqa: S314 -- our own output


@pytest.fixture
def security_admin():
    return UserFactory.create(username="secadmin", admin_role=AdminRole.SECURITY, is_staff=True)


@pytest.fixture
def key(security_admin, now):
    _client, raw = services.open311_client_create(actor=security_admin, name="城市服务 App", now=now)
    return raw


def post(key, **fields):
    body = {"api_key": key, "lat": "39.91", "long": "116.40", "description": "路灯不亮", **fields}
    return Client().post("/open311/v2/requests.json", {k: v for k, v in body.items() if v is not None})


def test_services_come_from_the_catalog_in_json(cast):
    rows = Client().get("/open311/v2/services.json").json()
    service = next(r for r in rows if r["service_code"] == cast.item.code)
    assert service == {
        "service_code": cast.item.code,
        "service_name": "施工噪音",
        "description": f"{service['group']} / {cast.item.subcategory.name} / 施工噪音",
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": cast.item.subcategory.parent.name,
    }


def test_services_in_xml(cast):
    response = Client().get("/open311/v2/services.xml")
    assert response["Content-Type"].startswith("text/xml")
    root = xml(response)
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert cast.item.code in codes
    service = next(s for s in root.findall("service") if s.findtext("service_code") == cast.item.code)
    assert service.findtext("metadata") == "true" and service.findtext("type") == "realtime"


def test_a_service_definition_lists_its_attributes_in_both_formats(cast):
    definition = Client().get(f"/open311/v2/services/{cast.item.code}.json").json()
    assert definition["service_code"] == cast.item.code
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "kind" and attribute["datatype"] == "singlevaluelist"
    assert {"key": "complaint", "name": "投诉"} in attribute["values"]
    root = xml(Client().get(f"/open311/v2/services/{cast.item.code}.xml"))
    assert root.tag == "service_definition"
    values = root.findall("attributes/attribute/values/value")
    assert [v.findtext("key") for v in values][:2] == ["complaint", "report"]


def test_an_unknown_service_is_an_error_array(cast):
    response = Client().get("/open311/v2/services/NOPE.json")
    assert response.status_code == 404
    assert response.json() == [{"code": 404, "description": "服务编码不存在：NOPE"}]
    root = xml(Client().get("/open311/v2/services/NOPE.xml"))
    assert root.tag == "errors" and root.findtext("error/code") == "404"


def test_a_post_without_a_valid_key_is_refused(cast):
    response = post("o311_wrong", service_code=cast.item.code)
    assert response.status_code == 403
    assert response.json()[0]["code"] == 403
    root = xml(Client().post("/open311/v2/requests.xml", {"service_code": cast.item.code}))
    assert root.tag == "errors" and root.findtext("error/code") == "403"


def test_a_posted_request_lands_in_the_dispatchers_queue(cast, key):
    response = post(key, service_code=cast.item.code, phone="13800138000", first_name="三", last_name="张")
    assert response.status_code == 201, response.content
    (row,) = response.json()
    order = Order.objects.get(number=row["service_request_id"])
    assert order.channel == "open311" and order.status == "awaiting_dispatch" and order.item == cast.item
    assert order.requester_phone == "13800138000" and order.requester_name == "张三"
    queue = order_list_for_queue(cast.city_dispatcher, queue="dispatch")
    assert order in queue


def test_a_posted_request_answers_in_xml_too(cast, key):
    response = Client().post(
        "/open311/v2/requests.xml",
        {
            "api_key": key,
            "service_code": cast.item.code,
            "address_string": "东华路12号",
            "attribute[kind]": "help",
        },
    )
    assert response.status_code == 201
    root = xml(response)
    number = root.findtext("request/service_request_id")
    assert Order.objects.get(number=number).kind == "help"


def test_post_errors_use_the_error_array(cast, key):
    no_place = post(key, service_code=cast.item.code, lat=None, long=None)
    assert no_place.status_code == 400 and "位置" in no_place.json()[0]["description"]
    no_service = post(key, service_code="NOPE")
    assert no_service.status_code == 404
    bad_kind = post(key, service_code=cast.item.code, **{"attribute[kind]": "nonsense"})
    assert bad_kind.status_code == 400
    bad_lat = post(key, service_code=cast.item.code, lat="north")
    assert bad_lat.status_code == 400 and bad_lat.json()[0]["description"] == "参数 lat 须为数字。"
    assert not Order.objects.exists()


def test_a_client_reads_back_only_its_own_requests(cast, key, security_admin, now):
    mine = post(key, service_code=cast.item.code).json()[0]["service_request_id"]
    _other, other_key = services.open311_client_create(actor=security_admin, name="别人的 App", now=now)
    theirs = post(other_key, service_code=cast.item.code).json()[0]["service_request_id"]
    listed = Client().get("/open311/v2/requests.json", {"api_key": key}).json()
    assert [r["service_request_id"] for r in listed] == [mine]
    assert listed[0]["status"] == "open" and listed[0]["description"] == "路灯不亮"
    one = Client().get(f"/open311/v2/requests/{mine}.xml", {"api_key": key})
    assert xml(one).findtext("request/service_request_id") == mine
    assert Client().get(f"/open311/v2/requests/{theirs}.json", {"api_key": key}).status_code == 404
    assert Client().get("/open311/v2/requests.json").status_code == 403


def test_request_filters_of_the_spec(cast, key):
    number = post(key, service_code=cast.item.code).json()[0]["service_request_id"]
    get = lambda **q: Client().get("/open311/v2/requests.json", {"api_key": key, **q})  # noqa: E731
    assert [r["service_request_id"] for r in get(status="open").json()] == [number]
    assert get(status="closed").json() == []
    assert get(service_code="NOPE").json() == []
    assert get(start_date="2030-01-01T00:00:00Z").json() == []
    assert get(status="maybe").status_code == 400
    assert get(start_date="yesterday").status_code == 400


def test_a_revoked_key_is_refused(cast, security_admin, now):
    client, raw = services.open311_client_create(actor=security_admin, name="旧 App", now=now)
    services.open311_client_revoke(actor=security_admin, client=client, now=now)
    assert post(raw, service_code=cast.item.code).status_code == 403


def test_keys_are_issued_by_the_security_admin_hashed_and_audited(cast, security_admin, now):
    with pytest.raises(PermissionDenied):
        services.open311_client_create(actor=cast.agent, name="x", now=now)
    client, raw = services.open311_client_create(actor=security_admin, name="新 App", now=now)
    assert raw.startswith("o311_") and raw not in client.key_hash
    row = AuditEvent.objects.get(event_type="intake.open311_client.create")
    assert raw not in json.dumps([row.before, row.after, row.extra], ensure_ascii=False)


def test_posts_are_rate_limited_per_client_address(cast, key, settings):
    settings.OPEN311_POST_PER_HOUR = 2
    codes = [post(key, service_code=cast.item.code).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
