"""The whistle records are read-only in the admin: no role may add, change or delete them there
(services are the only writers); the type limits are configuration."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from whistles.models import (
    DepartmentRating,
    Summons,
    Whistle,
    WhistleEvent,
    WhistleNotification,
    WhistleTask,
    WhistleTypeLimit,
    WhistleWarning,
)

RECORDS = [Whistle, Summons, WhistleTask, DepartmentRating, WhistleEvent, WhistleNotification, WhistleWarning]


@pytest.mark.parametrize("model", RECORDS, ids=lambda m: m.__name__)
def test_records_cannot_be_added_changed_or_deleted_in_the_admin(model, city_admin):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = city_admin

    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
    assert not model_admin.get_actions(request)


def test_the_type_limits_are_registered_as_configuration():
    from core.admin_base import AuditedModelAdmin

    assert isinstance(admin.site._registry[WhistleTypeLimit], AuditedModelAdmin)
