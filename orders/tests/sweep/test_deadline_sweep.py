"""The periodic deadline sweep: yellow before, red at each deadline, automatic urging, escalation,
and each warning recorded once however often the sweep runs."""

from __future__ import annotations

import datetime as dt

import pytest

from core.workcalendar import SHANGHAI
from orders import services
from orders.choices import DeadlineKind, EventType, OrderStatus, SupervisionStatus, WarningLevel
from orders.errors import InvalidInput
from orders.models import Assignment, DeadlineWarning, Notification, OrderEvent, Supervision
from orders.tests.factories import make_order, walk_to


def at(month, day, hour=0, minute=0):
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def warnings_of(order):
    return sorted(DeadlineWarning.objects.filter(order=order).values_list("kind", "level"))


def test_nothing_is_warned_early(cast, order, now):
    walk_to(
        order, OrderStatus.AWAITING_ACCEPTANCE, cast, now
    )  # accept-by 29 Sep 00:00, dispatched 26 Sep 10:00
    result = services.deadline_sweep(now=at(9, 27, 16))
    assert result.warnings == 0 and not DeadlineWarning.objects.exists()


def test_yellow_when_most_of_the_time_is_gone_then_red_at_the_deadline(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    # 80 % of the 62 hours from 26 Sep 10:00 to 29 Sep 00:00 have passed at 28 Sep 11:36
    assert services.deadline_sweep(now=at(9, 28, 11, 30)).warnings == 0
    assert services.deadline_sweep(now=at(9, 28, 11, 40)).warnings == 1
    assert warnings_of(order) == [(DeadlineKind.ACCEPT, WarningLevel.YELLOW)]
    assert services.deadline_sweep(now=at(9, 28, 17)).warnings == 0  # recorded once
    result = services.deadline_sweep(now=at(9, 29, 0, 5))
    assert (result.warnings, result.urged) == (1, 1)
    assert warnings_of(order) == [
        (DeadlineKind.ACCEPT, WarningLevel.RED),
        (DeadlineKind.ACCEPT, WarningLevel.YELLOW),
    ]
    types = list(OrderEvent.objects.filter(order=order).order_by("seq").values_list("type", flat=True))
    assert types[-3:] == [EventType.DEADLINE_WARNING, EventType.DEADLINE_WARNING, EventType.URGED]
    urge = OrderEvent.objects.filter(order=order, type=EventType.URGED).get()
    assert urge.actor is None and urge.payload["automatic"] is True
    told = Notification.objects.filter(event=urge).values_list("recipient", flat=True)
    assert cast.district_handler.pk in told
    assert services.deadline_sweep(now=at(9, 29, 1)).warnings == 0


def test_a_late_first_sweep_records_yellow_and_red_together(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    assert services.deadline_sweep(now=at(9, 29, 9)).warnings == 2


def test_contact_and_reply_deadlines_are_watched_once_accepted(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.deadline_sweep(now=at(10, 11, 1))  # past contact-by and reply-by
    kinds = warnings_of(order)
    assert (DeadlineKind.CONTACT, WarningLevel.RED) in kinds and (
        DeadlineKind.REPLY,
        WarningLevel.RED,
    ) in kinds
    assert DeadlineKind.ACCEPT not in {k for k, _level in kinds}  # accepted: that clock is met
    # only the reply's red warning urges (a missed contact is a warning, not an urge)
    assert OrderEvent.objects.filter(order=order, type=EventType.URGED).count() == 1


def test_a_contact_recorded_stops_the_contact_warnings(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.order_record_contact(order=order, actor=cast.district_handler, now=at(9, 26, 15))
    services.deadline_sweep(now=at(10, 11, 1))
    assert DeadlineKind.CONTACT not in {k for k, _level in warnings_of(order)}


def test_a_moved_deadline_is_warned_about_again(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    services.deadline_sweep(now=at(10, 11, 1))
    reds = DeadlineWarning.objects.filter(kind=DeadlineKind.REPLY, level=WarningLevel.RED).count()
    request = services.order_extension_request(
        order=order, actor=cast.district_handler, now=at(10, 11, 2), amount=1, reason="协调"
    )
    services.order_extension_approve(
        order=order, actor=cast.city_dispatcher, now=at(10, 11, 3), request=request
    )
    services.deadline_sweep(now=at(10, 14, 1))  # past the extended reply-by (13 Oct 24:00)
    assert DeadlineWarning.objects.filter(kind=DeadlineKind.REPLY, level=WarningLevel.RED).count() == reds + 1


def test_a_suspended_order_is_not_warned(cast, order, now):
    walk_to(order, OrderStatus.SUSPENDED, cast, now)
    assert services.deadline_sweep(now=at(10, 20)).warnings == 0


def test_a_fixed_number_of_hours_can_replace_the_fraction(cast, order, now, settings):
    settings.ORDERS_WARNING_YELLOW_HOURS = 2
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    assert services.deadline_sweep(now=at(9, 28, 21, 59)).warnings == 0
    assert services.deadline_sweep(now=at(9, 28, 22, 1)).warnings == 1


def test_an_overdue_reply_is_escalated_one_level_up(cast, now, settings):
    settings.ORDERS_ESCALATE_OVERDUE_HOURS = 24
    order = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, dispatch_unit=cast.tree.district
    )
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    assert services.deadline_sweep(now=at(10, 11, 23)).escalated == 0  # overdue by 23 hours
    result = services.deadline_sweep(now=at(10, 12, 1))
    assert result.escalated == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_DISPATCH and order.dispatch_unit == cast.tree.city
    event = OrderEvent.objects.filter(order=order, type=EventType.ESCALATED).get()
    assert event.actor is None and "自动上报" in event.reason
    assert services.deadline_sweep(now=at(10, 12, 2)).escalated == 0


def test_escalation_can_be_switched_off(cast, now, settings):
    settings.ORDERS_ESCALATE_OVERDUE_HOURS = None
    order = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, dispatch_unit=cast.tree.district
    )
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    assert services.deadline_sweep(now=at(10, 25)).escalated == 0


def test_a_supervision_has_its_own_deadline_and_is_swept(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    supervision = services.order_supervise(
        order=order, actor=cast.supervisor, now=at(9, 29, 9), reason="群众多次反映"
    )
    assert supervision.unit == cast.tree.district
    assert supervision.due_at == at(10, 10)  # two working days after 29 Sep: 30 September and 9 October
    assert Notification.objects.filter(
        event__type=EventType.SUPERVISED, recipient=cast.district_handler
    ).exists()
    services.deadline_sweep(now=at(10, 10, 1))
    kinds = set(DeadlineWarning.objects.filter(supervision=supervision).values_list("level", flat=True))
    assert kinds == {WarningLevel.YELLOW, WarningLevel.RED}
    services.order_reply(
        order=order, actor=cast.district_handler, now=at(10, 10, 9), outcome="resolved", explanation="已办"
    )
    supervision.refresh_from_db()
    assert supervision.status == SupervisionStatus.ANSWERED


def test_urging_reaches_the_units_working_the_order(cast, order, now):
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    event = services.order_urge(order=order, actor=cast.supervisor, now=at(9, 29, 9), message="请尽快办理")
    assert event.payload["units"] == [cast.tree.district.pk]
    assert Notification.objects.filter(event=event, recipient=cast.district_handler).exists()
    with pytest.raises(InvalidInput):
        services.order_urge(
            order=order, actor=cast.supervisor, now=at(9, 29, 10), message="x", unit=cast.tree.street
        )


def test_assignments_keep_their_warnings_on_record(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    services.deadline_sweep(now=at(9, 29, 9))
    lead = Assignment.objects.get(order=order)
    assert set(lead.warnings.values_list("level", flat=True)) == {WarningLevel.YELLOW, WarningLevel.RED}
    assert all(w.event_id is not None for w in DeadlineWarning.objects.all())
    assert Supervision.objects.count() == 0


def test_a_warning_does_not_make_an_open_copy_of_the_order_stale(cast, order, now):
    walk_to(order, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    opened = type(order).objects.get(pk=order.pk)  # a page opened before the sweep
    assert services.deadline_sweep(now=at(9, 29, 9)).warnings == 2
    services.order_accept(order=opened, actor=cast.district_handler, now=at(9, 29, 10))
    assert opened.status == OrderStatus.IN_PROGRESS


def test_old_warned_deadlines_do_not_starve_a_fresh_one_under_the_limit(cast, now):
    """More overdue, fully warned deadlines than the limit come first by deadline; the fresh one
    behind them is still warned (they are not candidates any more)."""
    old = [make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item) for _ in range(3)]
    for o in old:
        walk_to(o, OrderStatus.AWAITING_ACCEPTANCE, cast, now)
    assert services.deadline_sweep(now=at(9, 29, 9)).warnings == 6  # yellow and red for each
    later = at(10, 9, 9)
    fresh = make_order(actor=cast.agent, now=later, grid=cast.tree.grid, item=cast.item)
    walk_to(fresh, OrderStatus.AWAITING_ACCEPTANCE, cast, later)
    accept_by = Assignment.objects.get(order=fresh).accept_by
    assert accept_by is not None
    old_due = [d for d in Assignment.objects.filter(order__in=old).values_list("accept_by", flat=True) if d]
    assert accept_by > max(old_due)
    result = services.deadline_sweep(now=accept_by + dt.timedelta(minutes=5), limit=2)
    assert result.warnings == 2
    assert warnings_of(fresh) == [
        (DeadlineKind.ACCEPT, WarningLevel.RED),
        (DeadlineKind.ACCEPT, WarningLevel.YELLOW),
    ]
    assert DeadlineWarning.objects.filter(order__in=old).count() == 6  # nothing recorded twice


def test_orders_that_cannot_escalate_are_not_locked_every_sweep(cast, order, now, settings, monkeypatch):
    """An overdue order dispatched at the city has no level above it: the sweep does not lock and
    re-check it; one dispatched at the district is still escalated, once."""
    from orders.services import supervision

    settings.ORDERS_ESCALATE_OVERDUE_HOURS = 24
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)  # dispatched at the city (the root)
    assert order.dispatch_unit == cast.tree.city
    district = make_order(
        actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, dispatch_unit=cast.tree.district
    )
    walk_to(district, OrderStatus.IN_PROGRESS, cast, now)
    checked = []
    real = supervision._maybe_escalate

    def spy(d, *, now):
        checked.append(d.order_id)
        return real(d, now=now)

    monkeypatch.setattr(supervision, "_maybe_escalate", spy)
    result = services.deadline_sweep(now=at(10, 20))
    assert result.escalated == 1 and checked == [district.pk]
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert not OrderEvent.objects.filter(order=order, type=EventType.ESCALATED).exists()
    checked.clear()
    assert services.deadline_sweep(now=at(10, 21)).escalated == 0
    assert checked == []  # the escalated order's lead is cancelled; the city's order is skipped
