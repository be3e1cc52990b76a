from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道/镇")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")
    BUILDING = "building", _("楼院")
    DEPARTMENT = "department", _("部门")
    STATION = "station", _("派出机构")


# Territorial units (块) in their fixed order; departments and stations are 条.
TERRITORIAL_KINDS = frozenset(
    {
        UnitKind.CITY,
        UnitKind.DISTRICT,
        UnitKind.STREET,
        UnitKind.COMMUNITY,
        UnitKind.GRID,
        UnitKind.BUILDING,
    }
)
# Which kinds may hang under which parent kind.
ALLOWED_PARENT_KINDS: dict[str, frozenset[str]] = {
    UnitKind.CITY: frozenset(),
    UnitKind.DISTRICT: frozenset({UnitKind.CITY}),
    UnitKind.STREET: frozenset({UnitKind.DISTRICT}),
    UnitKind.COMMUNITY: frozenset({UnitKind.STREET}),
    UnitKind.GRID: frozenset({UnitKind.COMMUNITY}),
    UnitKind.BUILDING: frozenset({UnitKind.GRID}),
    UnitKind.DEPARTMENT: frozenset({UnitKind.CITY, UnitKind.DISTRICT}),
    UnitKind.STATION: frozenset({UnitKind.DEPARTMENT}),
}


class Role(models.TextChoices):
    """The roles of DESIGN.md; a membership gives a user one role in one unit."""

    AGENT = "agent", _("话务员")
    DISPATCHER = "dispatcher", _("派单员")
    HANDLER = "handler", _("承办人")
    CALLBACK_AGENT = "callback_agent", _("回访员")
    SUPERVISOR = "supervisor", _("督办员")
    SECRETARY = "secretary", _("书记")
    GRID_WORKER = "grid_worker", _("网格员")
    VOLUNTEER = "volunteer", _("党员/志愿者")
    LEADER = "leader", _("领导")
    ADMINISTRATOR = "administrator", _("业务管理员")
    DISPLAY = "display", _("大屏展示")


# Scope axes (DESIGN.md "The organisation"): holding = orders assigned into the subtree;
# location = orders whose grid lies in the subtree.
HOLDING_ROLES = frozenset({Role.HANDLER, Role.DISPATCHER, Role.AGENT, Role.CALLBACK_AGENT})
LOCATION_ROLES = frozenset({Role.LEADER, Role.SECRETARY, Role.SUPERVISOR, Role.GRID_WORKER, Role.DISPLAY})
