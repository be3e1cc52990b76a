"""The demo city's system dispatcher ``demo_autodispatch``: seeded as a dispatcher at the city
with an unusable password, named by ``INSIGHT_DISPATCHER_USERNAME`` when DEMO is on, and the
account insight's automatic dispatch acts as in the demo city."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from demo.services import (
    DEMO_ACCOUNTS,
    DEMO_AUTODISPATCH_USERNAME,
    DEMO_PASSWORD,
    demo_accounts,
    demo_accounts_text,
    demo_city_seed,
)
from orgs.choices import Role, UnitKind
from orgs.models import Membership

pytestmark = pytest.mark.django_db

TINY = 0.01


def _settings_value(name: str, **env: str) -> str:
    """``settings.<name>`` as a fresh process computes it from ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("INSIGHT_", "DEMO"))}
    code = f"import minhu.settings as s; print(s.{name})"
    out = subprocess.run(  # noqa: S603 - our own interpreter and settings module
        [sys.executable, "-c", code],
        env={**clean, "MINHU_ALLOW_DEV_KEY": "1", **env},
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_the_seed_creates_the_system_dispatcher_at_the_city_without_a_usable_password(settings):
    settings.DEMO = True
    demo_city_seed(scale=TINY, with_catalog=False)
    bot = get_user_model().objects.get(username=DEMO_AUTODISPATCH_USERNAME)
    assert bot.is_active and bot.is_demo and not bot.is_staff and not bot.admin_role
    assert not bot.has_usable_password()
    assert not bot.check_password(DEMO_PASSWORD) and not bot.check_password("")
    [membership] = Membership.objects.filter(user=bot).select_related("unit")
    assert membership.role == Role.DISPATCHER and membership.unit.kind == UnitKind.CITY
    # not among the people's demo logins; printed apart as a system account
    assert DEMO_AUTODISPATCH_USERNAME not in {s.username for s in DEMO_ACCOUNTS}
    assert DEMO_AUTODISPATCH_USERNAME not in {a.username for a in demo_accounts()}
    text = demo_accounts_text()
    assert DEMO_AUTODISPATCH_USERNAME in text and "不可登录" in text


def test_demo_settings_name_it_as_the_automatic_dispatcher():
    assert _settings_value("INSIGHT_DISPATCHER_USERNAME", DEMO="1") == DEMO_AUTODISPATCH_USERNAME
    assert _settings_value("INSIGHT_DISPATCHER_USERNAME", DEMO="0") == ""
    assert (
        _settings_value("INSIGHT_DISPATCHER_USERNAME", DEMO="1", INSIGHT_DISPATCHER_USERNAME="bot") == "bot"
    )


def test_after_seed_demo_a_confident_classification_is_dispatched_as_that_account():
    """``seed_demo`` also trains the cold-start item model, so a clear report in the fresh demo
    city reaches the default threshold and the system account dispatches it."""
    from insight.autodispatch import AUTO_MARK, auto_dispatch_threshold, order_suggestions_pass
    from insight.models import ClassifierModel
    from insight.selectors import classifier_cache_clear
    from orders import services
    from orders.choices import EventType, OrderStatus
    from orders.models import OrderEvent
    from orgs.models import Unit

    classifier_cache_clear()
    call_command("seed_demo", "--scale", str(TINY), stdout=StringIO(), stderr=StringIO())
    assert ClassifierModel.objects.filter(is_active=True).count() == 1
    now = timezone.now()
    agent = get_user_model().objects.get(username="demo_agent")
    grid = Unit.objects.filter(kind=UnitKind.GRID).order_by("code").first()
    order = services.order_create(
        actor=agent,
        now=now,
        grid=grid,
        channel="hotline",
        kind="complaint",
        title="路灯不亮",
        content="小区门口的路灯坏了，晚上一片漆黑，路灯不亮好几天了",
    )
    services.order_submit(order=order, actor=agent, now=now)
    threshold = auto_dispatch_threshold()
    assert threshold is not None and threshold >= 0.9  # the default, not lowered for the test
    try:
        with override_settings(INSIGHT_DISPATCHER_USERNAME=DEMO_AUTODISPATCH_USERNAME):
            result = order_suggestions_pass(now=now + dt.timedelta(minutes=1))
    finally:
        classifier_cache_clear()
    assert result.auto_dispatched == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_ACCEPTANCE
    event = OrderEvent.objects.select_related("actor").get(order=order, type=EventType.DISPATCHED)
    assert event.actor is not None and event.actor.username == DEMO_AUTODISPATCH_USERNAME
    assert AUTO_MARK in event.reason


def test_seed_demo_if_empty_adds_the_account_to_a_city_seeded_without_it():
    demo_city_seed(scale=TINY, with_catalog=False)
    get_user_model().objects.filter(username=DEMO_AUTODISPATCH_USERNAME).delete()  # an older seed
    call_command("seed_demo", "--if-empty", "--no-classifier", stdout=StringIO(), stderr=StringIO())
    bot = get_user_model().objects.get(username=DEMO_AUTODISPATCH_USERNAME)
    assert not bot.has_usable_password() and bot.is_demo
    [membership] = Membership.objects.filter(user=bot).select_related("unit")
    assert membership.role == Role.DISPATCHER and membership.unit.kind == UnitKind.CITY
    call_command("seed_demo", "--if-empty", "--no-classifier", stdout=StringIO(), stderr=StringIO())
    assert get_user_model().objects.filter(username=DEMO_AUTODISPATCH_USERNAME).count() == 1
