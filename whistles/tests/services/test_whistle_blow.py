"""whistle_blow: who may blow, what it needs, the summonses and deadlines, timeline and outbox."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from core.workcalendar import SHANGHAI
from orders.choices import OrderStatus
from orders.tests.factories import make_item, make_order
from whistles.choices import EventType, NotificationChannel, SummonsStatus, WhistleStatus, WhistleType
from whistles.errors import InvalidInput
from whistles.models import Summons, Whistle, WhistleEvent, WhistleNotification
from whistles.tests.conftest import HOLIDAY_EVE, HOUR, MINUTE
from whistles.tests.factories import SITE, blow


def test_urgent_whistle_summons_each_department_with_calendar_limits(cast, now):
    whistle = blow(cast, now, type=WhistleType.URGENT)

    assert whistle.status == WhistleStatus.OPEN
    assert whistle.unit == cast.tree.street
    assert (whistle.lon, whistle.lat) == SITE
    summonses = list(Summons.objects.filter(whistle=whistle).order_by("unit__code"))
    assert [s.unit for s in summonses] == [cast.dept, cast.dept2]
    for s in summonses:
        assert s.status == SummonsStatus.SUMMONED
        assert s.acknowledge_by == now + 30 * MINUTE
        assert s.arrive_by == now + 2 * HOUR
        assert s.acknowledge_warn_at == now + dt.timedelta(minutes=22, seconds=30)
        assert s.arrive_warn_at == now + 90 * MINUTE
        assert not s.provisional


def test_short_whistle_counts_working_hours_and_days(cast, now):
    whistle = blow(cast, now, type=WhistleType.SHORT)

    s = Summons.objects.filter(whistle=whistle)[0]
    assert s.acknowledge_by == now + 4 * HOUR  # Monday 13:00
    assert s.arrive_by == dt.datetime(2025, 3, 5, 0, 0, tzinfo=SHANGHAI)  # end of Tuesday


def test_short_whistle_before_national_day_skips_the_holidays(cast):
    # Monday 29 September 2025: Tuesday 30 is the last working day before 1–8 October.
    whistle = blow(cast, HOLIDAY_EVE, type=WhistleType.SHORT)

    s = Summons.objects.filter(whistle=whistle)[0]
    assert s.acknowledge_by == HOLIDAY_EVE + 4 * HOUR
    assert s.arrive_by == dt.datetime(2025, 10, 1, 0, 0, tzinfo=SHANGHAI)


def test_working_hours_continue_after_the_weekend(cast):
    friday_late = dt.datetime(2025, 3, 7, 22, 0, tzinfo=SHANGHAI)
    whistle = blow(cast, friday_late, type=WhistleType.SHORT)

    s = Summons.objects.filter(whistle=whistle)[0]
    # two hours left on Friday, two more from Monday 00:00
    assert s.acknowledge_by == dt.datetime(2025, 3, 10, 2, 0, tzinfo=SHANGHAI)


def test_long_whistle_arrival_is_the_meeting(cast, now):
    meeting = now + 3 * HOUR
    whistle = blow(cast, now, type=WhistleType.LONG, meeting_at=meeting, meeting_place="街道会议室")

    s = Summons.objects.filter(whistle=whistle)[0]
    assert s.arrive_by == meeting
    # one working day would run past the meeting: acknowledging is due by the meeting
    assert s.acknowledge_by == meeting
    assert whistle.meeting_place == "街道会议室"


def test_configured_limits_replace_the_defaults(cast, now):
    from whistles.choices import LimitUnit
    from whistles.models import WhistleTypeLimit

    WhistleTypeLimit.objects.create(
        type=WhistleType.URGENT,
        acknowledge_within=15,
        acknowledge_unit=LimitUnit.MINUTES,
        arrive_within=1,
        arrive_unit=LimitUnit.HOURS,
    )
    whistle = blow(cast, now, type=WhistleType.URGENT)

    s = Summons.objects.filter(whistle=whistle)[0]
    assert (s.acknowledge_by, s.arrive_by) == (now + 15 * MINUTE, now + HOUR)


def test_a_community_may_blow_and_summon_a_district_department(cast, now):
    whistle = blow(
        cast, now, actor=cast.community_secretary, unit=cast.tree.community, units=[cast.district_dept]
    )

    assert whistle.unit == cast.tree.community
    assert whistle.summonses.get().unit == cast.district_dept


def test_a_station_may_be_summoned(cast, now):
    whistle = blow(cast, now, units=[cast.tree.station])

    assert whistle.summonses.get().unit == cast.tree.station


def test_blow_appends_one_timeline_event(cast, now):
    whistle = blow(cast, now)

    event = WhistleEvent.objects.get(whistle=whistle)
    assert (event.seq, event.type, event.actor, event.actor_unit) == (
        1,
        EventType.BLOWN,
        cast.secretary,
        cast.tree.street,
    )
    assert event.to_status == WhistleStatus.OPEN
    assert {s["unit"] for s in event.payload["summonses"]} == {cast.dept.pk, cast.dept2.pk}
    assert event.payload["limits"]["acknowledge"] == {"amount": 30, "unit": "minutes"}
    assert whistle.last_seq == 1


def test_blow_writes_outbox_rows_for_the_summoned_departments(cast, now):
    whistle = blow(cast, now, type=WhistleType.SHORT)

    rows = WhistleNotification.objects.filter(event__whistle=whistle)
    assert {(r.recipient, r.channel) for r in rows} == {
        (cast.dept_handler, NotificationChannel.IN_APP),
        (cast.dept2_handler, NotificationChannel.IN_APP),
    }
    assert all("短哨" in r.title for r in rows)
    assert all(r.delivered_at is None for r in rows)


def test_an_urgent_whistle_also_goes_by_sms(cast, now):
    whistle = blow(cast, now, type=WhistleType.URGENT, units=[cast.dept])

    channels = set(
        WhistleNotification.objects.filter(event__whistle=whistle).values_list("channel", flat=True)
    )
    assert channels == {NotificationChannel.IN_APP, NotificationChannel.SMS}


def test_the_station_people_and_their_department_are_told(cast, now):
    whistle = blow(cast, now, units=[cast.tree.station])

    recipients = set(
        WhistleNotification.objects.filter(event__whistle=whistle).values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == {"station_handler", "dept_handler"}


# --- raised from orders -------------------------------------------------------------------------------


@pytest.fixture
def open_orders(cast, now):
    item = make_item()
    return [
        make_order(actor=cast.agent, now=now - HOUR, grid=cast.tree.grid, item=item, title=f"燃气味道{n}")
        for n in range(2)
    ]


def test_a_whistle_raised_from_orders_links_them(cast, now, open_orders):
    whistle = blow(cast, now, order_ids=[o.pk for o in open_orders])

    assert set(whistle.orders.all()) == set(open_orders)
    assert WhistleEvent.objects.get(whistle=whistle).payload["orders"] == [o.pk for o in open_orders]


def test_an_order_outside_the_street_is_refused(cast, now):
    elsewhere = make_order(actor=cast.agent, now=now - HOUR, grid=cast.tree.other_grid, item=make_item())

    with pytest.raises(InvalidInput) as err:
        blow(cast, now, order_ids=[elsewhere.pk])
    assert err.value.field == "order_ids"
    assert Whistle.objects.count() == 0


def test_a_withdrawn_order_is_refused(cast, now, open_orders):
    from orders import services as order_services

    order_services.order_withdraw(order=open_orders[0], actor=cast.agent, now=now - MINUTE, reason="重复来电")
    assert open_orders[0].status == OrderStatus.WITHDRAWN

    with pytest.raises(InvalidInput, match="不能据此吹哨"):
        blow(cast, now, order_ids=[open_orders[0].pk])


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dept_handler", "outsider", "other_secretary", "agent"])
def test_blowing_for_a_street_one_does_not_belong_to_is_refused(cast, now, who):
    with pytest.raises(PermissionDenied):
        blow(cast, now, actor=getattr(cast, who))
    assert Whistle.objects.count() == 0


def test_a_street_secretary_cannot_blow_in_the_name_of_a_community(cast, now):
    with pytest.raises(PermissionDenied):
        blow(cast, now, unit=cast.tree.community)


def test_a_department_cannot_blow(cast, now, tree):
    with pytest.raises(PermissionDenied):
        blow(cast, now, actor=cast.dept_handler, unit=tree.department)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"description": ""}, "description"),
        ({"address": "", "point": None}, "address"),
        ({"point": (200.0, 39.0)}, "point"),
        ({"type": "whisper"}, "type"),
    ],
)
def test_missing_or_bad_input_is_refused_with_its_field(cast, now, change, field):
    with pytest.raises(InvalidInput) as err:
        blow(cast, now, **change)
    assert err.value.field == field
    assert err.value.message
    assert Whistle.objects.count() == 0


def test_a_long_whistle_needs_a_future_meeting(cast, now):
    with pytest.raises(InvalidInput) as err:
        blow(cast, now, type=WhistleType.LONG, meeting_at=None)
    assert err.value.field == "meeting_at"
    with pytest.raises(InvalidInput) as err:
        blow(cast, now, type=WhistleType.LONG, meeting_at=now - HOUR)
    assert err.value.field == "meeting_at"
    with pytest.raises(InvalidInput) as err:
        blow(cast, now, type=WhistleType.LONG, meeting_place=" ")
    assert err.value.field == "meeting_place"


def test_nobody_to_summon_is_refused(cast, now):
    with pytest.raises(InvalidInput, match="至少选择一个"):
        blow(cast, now, units=[])


@pytest.mark.parametrize("which", ["street", "other_district_dept"])
def test_a_unit_that_cannot_be_summoned_is_refused(cast, now, which):
    unit = cast.tree.street if which == "street" else cast.other_district_dept
    with pytest.raises(InvalidInput) as err:
        blow(cast, now, units=[cast.dept, unit])
    assert err.value.field == "summon_unit_ids"
    assert Whistle.objects.count() == 0


def test_a_unit_named_twice_is_summoned_once(cast, now):
    whistle = blow(cast, now, units=[cast.dept, cast.dept])

    assert whistle.summonses.count() == 1
