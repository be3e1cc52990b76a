"""The assessment in the admin: every changelist loads; the records are read-only there; the
factors are configuration, changed through ``assessment_config_set`` (one audit row, its checks
shown as form errors).

The admins go on the project's admin site only for models ``core.permissions.ADMIN_ACCESS``
names (none yet), so these tests put all of ``ASSESSMENT_ADMINS`` on a site of their own, served
beside the project's URLs, and sign in as a superuser under DEBUG (whom ``can_admin`` lets in)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.test import Client, RequestFactory
from django.urls import path

from assessment.admin import ASSESSMENT_ADMINS
from assessment.models import (
    Appeal,
    AssessmentConfig,
    Briefing,
    DepartmentEvaluation,
    EarlyWarning,
    FillState,
    OrderFact,
    UnitDailyCount,
)
from assessment.rollups import rollup_catch_up
from assessment.services import early_warning_record
from assessment.tests.factories import handled_order
from core.admin_base import ReadOnlyModelAdmin
from core.models import AuditEvent
from core.permissions import ADMIN_ACCESS
from core.tests.identity_helpers import login_verified, make_user
from minhu.urls import urlpatterns as project_urlpatterns

site = AdminSite(name="assessment_admin_test")
for _model, _model_admin in ASSESSMENT_ADMINS.items():
    site.register(_model, _model_admin)
urlpatterns = [path("assessment-admin/", site.urls), *project_urlpatterns]
BASE = "/assessment-admin/assessment"

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

RECORDS = [Appeal, DepartmentEvaluation, OrderFact, UnitDailyCount, FillState, EarlyWarning, Briefing]
FACTORS = {
    "response_weight": "0.1",
    "resolution_weight": "0.5",
    "satisfaction_weight": "0.4",
    "satisfied_factor": "1",
    "basically_factor": "0.9",
    "rating_weight": "0.333333",
    "rating_weight_floor": "0.333333",
    "whistle_share": "0.5",
    "appeal_window_days": "15",
}


@pytest.fixture
def root(settings):
    settings.DEBUG = True
    return make_user("assessment_root", is_staff=True, is_superuser=True, admin_role="system")


@pytest.fixture
def admin_client(root):
    client = Client()
    login_verified(client, root)
    return client


@pytest.fixture
def records(cast, now):
    handled_order(cast, now)
    rollup_catch_up(now=now)
    early_warning_record(
        area=cast.tree.street,
        item=cast.item,
        day=now.date(),
        level="red",
        observed=12,
        expected=3,
        rule="spike",
        episode_key="admin-1",
        now=now,
    )
    Briefing.objects.create(
        scope=cast.tree.city,
        period=now.date().replace(day=1),
        content=b"PK",
        sha256="0" * 64,
        pdf=b"%PDF-",
        pdf_sha256="1" * 64,
        created_at=now,
    )


@pytest.mark.parametrize("model", [AssessmentConfig, *RECORDS], ids=lambda m: m.__name__)
def test_every_changelist_loads_for_a_superuser(admin_client, records, model):
    url = f"{BASE}/{model._meta.model_name}/"
    response = admin_client.get(url)
    assert response.status_code == 200, url
    if model in (OrderFact, UnitDailyCount, FillState, EarlyWarning, Briefing):
        assert model.objects.exists()
        assert response.context["cl"].result_count >= 1  # the rows are listed
        assert 'class="action-checkbox"' not in response.content.decode()  # no bulk actions


def test_a_record_opens_read_only(admin_client, records):
    briefing = Briefing.objects.get()
    response = admin_client.get(f"{BASE}/briefing/{briefing.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "1" * 64 in html and 'name="_save"' not in html


@pytest.mark.parametrize("model", RECORDS, ids=lambda m: m.__name__)
def test_records_cannot_be_added_changed_or_deleted(root, model):
    model_admin = site._registry[model]
    assert isinstance(model_admin, ReadOnlyModelAdmin)
    request = RequestFactory().get("/admin/")
    request.user = root
    assert model_admin.has_view_permission(request) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False


def test_factors_are_added_and_changed_through_the_service(admin_client, cast, root):
    city = cast.tree.city
    assert admin_client.get(f"{BASE}/assessmentconfig/add/").status_code == 200
    response = admin_client.post(f"{BASE}/assessmentconfig/add/", {"city": city.pk, **FACTORS})
    assert response.status_code == 302, response.content.decode()
    config = AssessmentConfig.objects.get(city=city)
    assert AuditEvent.objects.filter(event_type="assessment.config_change", actor=root).count() == 1

    changed = {**FACTORS, "resolution_weight": "0.6", "satisfaction_weight": "0.3"}
    response = admin_client.post(f"{BASE}/assessmentconfig/{config.pk}/change/", changed)
    assert response.status_code == 302, response.content.decode()
    config.refresh_from_db()
    assert config.resolution_weight == Decimal("0.6") and config.satisfaction_weight == Decimal("0.3")
    assert config.updated_by == root and config.version == 2
    assert AuditEvent.objects.filter(event_type="assessment.config_change", actor=root).count() == 2


def test_the_services_refusal_is_a_form_error_and_nothing_changes(admin_client, cast, root):
    response = admin_client.post(f"{BASE}/assessmentconfig/add/", {"city": cast.tree.city.pk, **FACTORS})
    assert response.status_code == 302
    config = AssessmentConfig.objects.get(city=cast.tree.city)
    wrong = {**FACTORS, "resolution_weight": "0.7"}  # 0.1 + 0.7 + 0.4 ≠ 1
    response = admin_client.post(f"{BASE}/assessmentconfig/{config.pk}/change/", wrong)
    assert response.status_code == 200
    assert "权重之和须为1" in response.content.decode()
    config.refresh_from_db()
    assert config.resolution_weight == Decimal("0.5") and config.version == 1
    assert AuditEvent.objects.filter(event_type="assessment.config_change").count() == 1
    # a second row for the same city is refused by the form before the service is called
    again = admin_client.post(f"{BASE}/assessmentconfig/add/", {"city": cast.tree.city.pk, **FACTORS})
    assert again.status_code == 200 and AssessmentConfig.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="assessment.config_change").count() == 1
    assert site._registry[AssessmentConfig].has_delete_permission(RequestFactory().get("/")) is False


def test_every_model_has_an_admin_on_the_site_once_the_access_map_names_it():
    assert set(ASSESSMENT_ADMINS) == {AssessmentConfig, *RECORDS}
    for model in ASSESSMENT_ADMINS:
        assert (model in admin.site._registry) == (model._meta.label_lower in ADMIN_ACCESS)
