"""The OpenAPI description and its docs page: both at /api/ (and under /api/v1/), offline assets,
errors declared for every operation."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from orders.api.errors import chinese_message

pytestmark = pytest.mark.django_db


def test_the_description_is_served_at_api_openapi_json(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Minhu API"
    assert "/api/v1/orders/{order_id}/accept" in spec["paths"]
    assert client.get("/api/v1/openapi.json").json()["paths"] == spec["paths"]


def test_every_order_operation_declares_its_refusals(client):
    spec = client.get("/api/openapi.json").json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/orders"):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "404", "422"} <= codes, (method, path, codes)
            if method == "post" and path.count("/") > 4:
                assert "409" in codes


def test_every_authenticated_operation_declares_401(client):
    """Whatever app it belongs to (orders, whistles, assessment, insight …), an operation behind
    the token declares the 401 the authentication answers with; the public ones declare none."""
    spec = client.get("/api/openapi.json").json()
    secured = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                secured += 1
                assert "401" in operation["responses"], (method, path)
                assert client.generic(method.upper(), _concrete(path)).status_code == 401, (method, path)
            else:
                assert path.startswith(("/api/v1/public/", "/api/v1/health", "/api/v1/open311")), path
    assert secured >= 40


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_docs_page_uses_local_assets_only(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("ninja/swagger-ui-bundle.js") for s in sources)
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert '"url": "/api/v1/openapi.json"' in html
    assert finders.find("ninja/swagger-ui-bundle.js") is not None
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ({"type": "missing"}, "此项为必填项。"),
        ({"type": "string_too_long", "ctx": {"max_length": 64}}, "长度不能超过64个字符。"),
        ({"type": "enum", "ctx": {"expected": "'a', 'b' or 'c'"}}, "取值无效，可选：a、b、c。"),
        ({"type": "value_error", "msg": "Value error, 请填写问题描述。"}, "请填写问题描述。"),
        ({"type": "something_new"}, "取值无效。"),
        ({"type": "greater_than_equal", "ctx": {}}, "不能小于。"),
    ],
)
def test_pydantic_errors_get_chinese_messages(error, message):
    assert chinese_message(error) == message
