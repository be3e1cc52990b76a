"""Appeals 申诉/免责: submit and rule (permission, wrong state, stale version, audit row, the
exclusion effect on the rates)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from assessment import metrics
from assessment.choices import AppealReason, AppealStatus
from assessment.metrics import Period
from assessment.models import Appeal
from assessment.rollups import rollup_catch_up
from assessment.selectors import unit_counts_for_period
from assessment.services import appeal_rule, appeal_submit
from assessment.tests.factories import HOUR, handled_order
from core.models import AuditEvent
from orders import services
from orders.attachments import attachment_add
from orders.choices import Channel, Satisfaction
from orders.errors import InvalidInput, StaleTransition, TransitionNotAllowed
from orders.models import Callback
from orders.tests.factories import make_order, person
from orgs.choices import Role

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def bad(cast, now):
    """A closed order with a dissatisfied callback, handled by the district."""
    return handled_order(cast, now, satisfaction=Satisfaction.DISSATISFIED, resolved=False, close=True)


def submit(cast, order, *, now, unit=None, actor=None, **kwargs):
    values: dict[str, Any] = {
        "reason": AppealReason.UNREASONABLE_DEMAND,
        "text": "诉求人要求超出政策范围的补偿",
    }
    values.update(kwargs)
    return appeal_submit(
        actor=actor or cast.district_handler,
        callback=Callback.objects.filter(order=order).latest("created_at"),
        unit=unit or cast.tree.district,
        now=now,
        **values,
    )


# --- submit ------------------------------------------------------------------------------------------


def test_submit_records_a_pending_appeal_and_one_audit_row(cast, now, bad):
    before = AuditEvent.objects.filter(event_type="assessment.appeal_submit").count()
    evidence = attachment_add(order=bad, actor=None, now=now + 7 * HOUR, data=PDF, name="说明.pdf")
    appeal = submit(cast, bad, now=now + 8 * HOUR, attachment_ids=[evidence.pk])
    assert appeal.status == AppealStatus.PENDING and appeal.attachment_ids == [evidence.pk]
    rows = AuditEvent.objects.filter(event_type="assessment.appeal_submit")
    assert rows.count() == before + 1
    row = rows.latest("seq")
    assert row.actor == cast.district_handler and row.object_id == str(appeal.pk)
    assert row.after is not None
    assert row.after["reason"] == AppealReason.UNREASONABLE_DEMAND


def test_a_handler_of_another_unit_cannot_appeal_in_the_districts_name(cast, now, bad):
    with pytest.raises(PermissionDenied):
        submit(cast, bad, now=now + 8 * HOUR, actor=cast.outsider)
    assert not Appeal.objects.exists()


def test_a_unit_the_order_is_not_assessed_against_cannot_appeal(cast, now, bad):
    with pytest.raises(InvalidInput, match="不是该工单的考评对象"):
        submit(cast, bad, now=now + 8 * HOUR, actor=cast.outsider, unit=cast.tree.other_district)


def test_the_street_where_the_problem_is_may_appeal(cast, now, bad):
    appeal = submit(cast, bad, now=now + 8 * HOUR, actor=cast.street_handler, unit=cast.tree.street)
    assert appeal.unit == cast.tree.street


def test_an_unreached_callback_cannot_be_appealed(cast, now):
    order = handled_order(cast, now, reached=False, close=True)
    with pytest.raises(InvalidInput, match="未接通"):
        submit(cast, order, now=now + 8 * HOUR)


def test_a_merged_childs_callback_cannot_be_appealed(cast, now):
    parent = handled_order(cast, now, close=False, satisfaction=Satisfaction.DISSATISFIED)
    child = make_order(actor=None, now=now, channel=Channel.MOBILE, grid=cast.tree.grid, item=cast.item)
    # a child merges only while awaiting dispatch; its parent may be anywhere but merged or withdrawn
    services.order_merge(order=child, actor=cast.city_dispatcher, now=now + 7 * HOUR, parent=parent)
    child.refresh_from_db()
    services.order_callback_merged(
        order=child,
        actor=cast.callback_agent,
        now=now + 8 * HOUR,
        reached=True,
        satisfaction=Satisfaction.DISSATISFIED,
    )
    with pytest.raises(InvalidInput, match="合并件"):
        submit(cast, child, now=now + 9 * HOUR)


def test_an_appeal_after_the_window_is_refused(cast, now, bad):
    late = now + dt.timedelta(days=16)
    with pytest.raises(InvalidInput, match="申诉期限"):
        submit(cast, bad, now=late)


def test_evidence_must_be_the_orders_own_attachments(cast, now, bad):
    other = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item)
    foreign = attachment_add(order=other, actor=None, now=now, data=PDF, name="别的.pdf")
    with pytest.raises(InvalidInput, match="附件"):
        submit(cast, bad, now=now + 8 * HOUR, attachment_ids=[foreign.pk])


@pytest.mark.parametrize(
    ("field", "value", "message"), [("reason", "whatever", "申诉类别"), ("text", "  ", "申诉理由")]
)
def test_reason_and_text_are_required(cast, now, bad, field, value, message):
    with pytest.raises(InvalidInput, match=message):
        submit(cast, bad, now=now + 8 * HOUR, **{field: value})


def test_one_active_appeal_per_callback_and_unit(cast, now, bad):
    first = submit(cast, bad, now=now + 8 * HOUR)
    with pytest.raises(InvalidInput, match="已有待裁定"):
        submit(cast, bad, now=now + 9 * HOUR)
    appeal_rule(
        actor=cast.city_dispatcher, appeal=first, decision="reject", ruling="证据不足", now=now + 10 * HOUR
    )
    again = submit(cast, bad, now=now + 11 * HOUR, text="补充了现场照片和法规依据")
    assert again.status == AppealStatus.PENDING
    assert Appeal.objects.filter(order=bad).count() == 2  # every appeal stays on record


# --- rule ------------------------------------------------------------------------------------------------


def test_uphold_is_audited_with_before_and_after(cast, now, bad):
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    ruled = appeal_rule(
        actor=cast.city_dispatcher,
        appeal=appeal,
        decision="uphold",
        ruling="经核实诉求不合理",
        now=now + 9 * HOUR,
    )
    assert (
        ruled.status == AppealStatus.UPHELD and ruled.ruled_by == cast.city_dispatcher and ruled.version == 1
    )
    row = AuditEvent.objects.filter(event_type="assessment.appeal_rule").latest("seq")
    assert row.before is not None and row.after is not None
    assert row.before["status"] == "pending" and row.after["status"] == "upheld"
    assert row.object_id == str(appeal.pk)


def test_ruling_twice_is_a_wrong_state(cast, now, bad):
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    appeal_rule(
        actor=cast.city_dispatcher, appeal=appeal, decision="reject", ruling="证据不足", now=now + 9 * HOUR
    )
    with pytest.raises(TransitionNotAllowed, match="不能再次裁定"):
        appeal_rule(
            actor=cast.city_dispatcher, appeal=appeal, decision="uphold", ruling="改判", now=now + 10 * HOUR
        )
    assert AuditEvent.objects.filter(event_type="assessment.appeal_rule").count() == 1


def test_a_stale_version_is_refused(cast, now, bad):
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    Appeal.objects.filter(pk=appeal.pk).update(version=5)  # someone else touched it
    with pytest.raises(StaleTransition):
        appeal_rule(
            actor=cast.city_dispatcher, appeal=appeal, decision="uphold", ruling="成立", now=now + 9 * HOUR
        )
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.PENDING


def test_the_appealing_unit_cannot_rule(cast, now, bad):
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    with pytest.raises(PermissionDenied):
        appeal_rule(
            actor=cast.district_handler, appeal=appeal, decision="uphold", ruling="成立", now=now + 9 * HOUR
        )


def test_a_centre_dispatcher_who_is_also_a_member_of_the_appealing_unit_cannot_rule(cast, now, bad):
    from orgs.services import membership_grant

    both = person("both_hats", cast.tree.city, Role.DISPATCHER)
    membership_grant(actor=None, user=both, unit=cast.tree.district, role=Role.HANDLER)
    appeal = submit(cast, bad, now=now + 8 * HOUR, actor=both)
    with pytest.raises(PermissionDenied):
        appeal_rule(actor=both, appeal=appeal, decision="uphold", ruling="成立", now=now + 9 * HOUR)


def test_a_ruling_needs_a_decision_and_a_text(cast, now, bad):
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    with pytest.raises(InvalidInput, match="裁定结果"):
        appeal_rule(
            actor=cast.city_dispatcher, appeal=appeal, decision="maybe", ruling="?", now=now + 9 * HOUR
        )
    with pytest.raises(InvalidInput, match="裁定意见"):
        appeal_rule(
            actor=cast.city_dispatcher, appeal=appeal, decision="uphold", ruling=" ", now=now + 9 * HOUR
        )


# --- the effect on the rates ---------------------------------------------------------------------------------


def test_an_upheld_appeal_excludes_the_order_from_the_rates_after_commit(
    cast, now, bad, django_capture_on_commit_callbacks
):
    good = handled_order(cast, now)
    assert good.status == "closed"
    rollup_catch_up(now=now)
    district = cast.tree.district
    before = metrics.rates(
        unit_counts_for_period(unit=district, period=Period.month(2025, 9))[metrics.HANDLING]
    )
    assert before.satisfaction == pytest.approx(0.5)
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        appeal_rule(
            actor=cast.city_dispatcher,
            appeal=appeal,
            decision="uphold",
            ruling="经核实诉求不合理",
            now=now + 9 * HOUR,
        )
    assert len(callbacks) == 1  # the rollup task, scheduled after commit (Huey runs it at once in tests)
    after = metrics.rates(
        unit_counts_for_period(unit=district, period=Period.month(2025, 9))[metrics.HANDLING]
    )
    assert after.satisfaction == pytest.approx(1.0)
    assert (after.counts["closed"], after.counts["valid"], after.counts["excluded"]) == (2, 1, 1)


def test_a_rejected_appeal_changes_nothing(cast, now, bad, django_capture_on_commit_callbacks):
    rollup_catch_up(now=now)
    appeal = submit(cast, bad, now=now + 8 * HOUR)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        appeal_rule(
            actor=cast.city_dispatcher,
            appeal=appeal,
            decision="reject",
            ruling="证据不足",
            now=now + 9 * HOUR,
        )
    assert callbacks == []
    c = unit_counts_for_period(unit=cast.tree.district, period=Period.month(2025, 9))[metrics.HANDLING]
    assert (c["valid"], c["excluded"]) == (1, 0)
