from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from core.models import AuditEvent
from demo import services
from demo.services import (
    DEMO_ACCOUNTS,
    DEMO_SYSTEM_ACCOUNTS,
    DemoCityExistsError,
    demo_accounts,
    demo_accounts_text,
    demo_city_exists,
    demo_city_seed,
)
from orgs.models import Address, Unit

pytestmark = pytest.mark.django_db

TINY = 0.01  # 6 districts, 6 streets, 6 communities, ~60 grids: enough for behaviour, fast


def _seed(**kwargs):
    kwargs.setdefault("scale", TINY)
    kwargs.setdefault("with_catalog", False)
    return demo_city_seed(**kwargs)


def test_demo_accounts_text_says_so_before_the_city_exists():
    assert demo_accounts() == []
    assert "seed_demo" in demo_accounts_text()


def test_seed_writes_exactly_one_audit_row_of_its_own():
    before = AuditEvent.objects.count()
    counts = _seed(with_catalog=False)
    rows = AuditEvent.objects.filter(seq__gt=before)
    assert rows.count() == 1
    row = rows.get()
    assert row.event_type == "demo.seed"
    assert row.after is not None
    assert row.after["counts"]["grids"] == counts["grids"]
    assert {a["username"] for a in row.after["accounts"]} == {
        s.username for s in (*DEMO_ACCOUNTS, *DEMO_SYSTEM_ACCOUNTS)
    }
    assert row.extra["scale"] == TINY


def test_seed_with_the_catalog_adds_only_the_catalog_loads_own_audit_row():
    before = AuditEvent.objects.count()
    counts = _seed(with_catalog=True)
    assert counts["catalog_items"] == 235
    types = list(
        AuditEvent.objects.filter(seq__gt=before).order_by("seq").values_list("event_type", flat=True)
    )
    assert types.count("demo.seed") == 1
    assert len(types) == 2
    assert next(t for t in types if t != "demo.seed").startswith("catalog.")


def test_seeding_twice_is_refused():
    _seed()
    units = Unit.objects.count()
    with pytest.raises(DemoCityExistsError):
        _seed()
    assert Unit.objects.count() == units


def test_a_failure_midway_leaves_nothing_behind(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "_build_accounts", boom)
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        _seed()
    assert not demo_city_exists()
    assert Unit.objects.count() == 0
    assert Address.objects.count() == 0
    assert AuditEvent.objects.count() == audit_rows


def _snapshot():
    units = list(
        Unit.objects.order_by("code").values_list("code", "name", "kind", "boundary", "located_in__code")
    )
    addresses = list(
        Address.objects.order_by("normalized").values_list("text", "lon", "lat", "building__code")
    )
    return units, addresses


def test_two_runs_with_the_same_seed_build_the_same_city():
    with transaction.atomic():
        _seed(seed=11, scale=0.03)
        first = _snapshot()
        transaction.set_rollback(True)
    assert not demo_city_exists()
    _seed(seed=11, scale=0.03)
    assert _snapshot() == first


def test_another_seed_builds_another_city():
    with transaction.atomic():
        _seed(seed=11)
        first = _snapshot()
        transaction.set_rollback(True)
    _seed(seed=12)
    second = _snapshot()
    assert [u[3] for u in first[0]] != [u[3] for u in second[0]]


@pytest.fixture
def skip_catalog(monkeypatch):
    """The command tests are about the command; the catalog load is covered by its own tests."""
    monkeypatch.setattr(services, "_load_catalog", lambda actor: {"items": 0})


def test_seed_demo_command_builds_the_city_and_prints_the_accounts(skip_catalog):
    out, err = StringIO(), StringIO()
    call_command("seed_demo", "--scale", str(TINY), stdout=out, stderr=err)
    assert demo_city_exists()
    assert "demo_agent" in out.getvalue()
    assert "网格" in err.getvalue()  # progress: stage names and counts on stderr


def test_seed_demo_if_empty_does_nothing_when_the_city_exists(skip_catalog):
    call_command("seed_demo", "--scale", str(TINY), stdout=StringIO(), stderr=StringIO())
    units, addresses, audit_rows = Unit.objects.count(), Address.objects.count(), AuditEvent.objects.count()
    out = StringIO()
    call_command("seed_demo", "--scale", str(TINY), "--if-empty", stdout=out, stderr=StringIO())
    call_command("seed_demo", "--if-empty", stdout=StringIO(), stderr=StringIO())
    assert (Unit.objects.count(), Address.objects.count(), AuditEvent.objects.count()) == (
        units,
        addresses,
        audit_rows,
    )
    assert "demo_agent" in out.getvalue()


def test_seed_demo_without_if_empty_refuses_an_existing_city(skip_catalog):
    call_command("seed_demo", "--scale", str(TINY), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="已存在"):
        call_command("seed_demo", "--scale", str(TINY), stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize("scale", ["0", "-1", "1000"])
def test_seed_demo_refuses_a_scale_out_of_range(scale):
    with pytest.raises(CommandError, match="--scale"):
        call_command("seed_demo", "--scale", scale, stdout=StringIO(), stderr=StringIO())
    assert not demo_city_exists()
