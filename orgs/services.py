"""Every write to the organisation tree and to memberships.

Only this module touches ``Unit.parent``/``level`` and ``UnitClosure``, so the three always agree.
Each public service runs in one transaction and writes exactly one audit row
(``core.audit.audit_record``) in it. ``actor`` is the acting user, or ``None`` for system work
(imports, the demo city); a non-``None`` actor must pass ``orgs.permissions``.

Rules enforced here (the error messages are Chinese, raised as ``OrgError``):

- a unit's kind must fit its parent's kind (``orgs.choices.ALLOWED_PARENT_KINDS``); only a city
  is a root;
- codes are unique;
- ``located_in`` is for stations only, is required for them and must be an active street inside
  the territory of the station's department (the department's own parent: the city or a district);
- a move re-parents a whole subtree, never under itself or one of its descendants;
- a unit with active children cannot be deactivated; a unit with children or memberships cannot
  be deleted; nothing is created, moved or granted under an inactive unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from core.audit import audit_record
from orgs import permissions
from orgs.choices import ALLOWED_PARENT_KINDS, Role, UnitKind
from orgs.models import Membership, Unit, UnitClosure

CLOSURE_BATCH = 5000


class OrgError(ValueError):
    """A refused change to the organisation tree or to memberships; the message is for the user."""


# --- closure helpers (used by bulk builders too) -----------------------------------------------


def closure_rows_for(units: Iterable[Unit]) -> list[UnitClosure]:
    """Closure rows for units whose ancestors are already in the closure table or in ``units``.

    ``units`` must be ordered parents-first. Used by bulk builders (the demo city, imports).
    """
    units = list(units)
    ancestors: dict[int, list[tuple[int, int]]] = {}
    parent_ids = {u.parent_id for u in units if u.parent_id is not None}
    known = {u.pk for u in units}
    outside = parent_ids - known
    if outside:
        for row in UnitClosure.objects.filter(descendant_id__in=outside).values_list(
            "descendant_id", "ancestor_id", "depth"
        ):
            ancestors.setdefault(row[0], []).append((row[1], row[2]))
    rows: list[UnitClosure] = []
    for unit in units:
        chain = [(unit.pk, 0)]
        if unit.parent_id is not None:
            chain += [(a, d + 1) for a, d in ancestors[unit.parent_id]]
        ancestors[unit.pk] = chain
        rows.extend(UnitClosure(ancestor_id=a, descendant_id=unit.pk, depth=d) for a, d in chain)
    return rows


@transaction.atomic
def closure_rebuild() -> int:
    """Recompute the whole closure table from parent links; returns the number of rows."""
    UnitClosure.objects.all().delete()
    units = list(Unit.objects.only("pk", "parent_id", "level").order_by("level", "pk"))
    rows = closure_rows_for(units)
    UnitClosure.objects.bulk_create(rows, batch_size=CLOSURE_BATCH)
    return len(rows)


# --- snapshots and checks -------------------------------------------------------------------


def unit_snapshot(unit: Unit) -> dict[str, Any]:
    """The audited picture of a unit (no geometry: boundaries are large and audited by their import)."""
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "parent": unit.parent_id,
        "level": unit.level,
        "located_in": unit.located_in_id,
        "is_active": unit.is_active,
    }


def membership_snapshot(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user_id, "unit": membership.unit_id, "role": membership.role}


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("您没有权限执行此操作。"))


def _kind_label(kind: str) -> str:
    try:
        return str(UnitKind(kind).label)
    except ValueError:
        return kind


def check_parent(*, kind: str, parent: Unit | None) -> None:
    """Refuse a parent whose kind cannot hold ``kind`` (a city is the only root)."""
    if kind not in ALLOWED_PARENT_KINDS:
        raise OrgError(_("未知的单位类型：%(kind)s") % {"kind": kind})
    allowed = ALLOWED_PARENT_KINDS[kind]
    if parent is None:
        if allowed:
            raise OrgError(_("“%(kind)s”必须有上级单位。") % {"kind": _kind_label(kind)})
        return
    if parent.kind not in allowed:
        raise OrgError(
            _("“%(kind)s”不能挂在“%(parent)s”（%(parent_kind)s）之下。")
            % {"kind": _kind_label(kind), "parent": parent.name, "parent_kind": _kind_label(parent.kind)}
        )
    if not parent.is_active:
        raise OrgError(_("上级单位“%(parent)s”已停用。") % {"parent": parent.name})


def check_located_in(*, kind: str, parent: Unit | None, located_in: Unit | None) -> None:
    """A station is located in an active street within its department's territory; nothing else is."""
    if kind != UnitKind.STATION:
        if located_in is not None:
            raise OrgError(_("只有派出机构可以设置所在街道。"))
        return
    if located_in is None:
        raise OrgError(_("派出机构必须设置所在街道。"))
    if located_in.kind != UnitKind.STREET:
        raise OrgError(_("所在单位“%(unit)s”不是街道/镇。") % {"unit": located_in.name})
    if not located_in.is_active:
        raise OrgError(_("所在街道“%(unit)s”已停用。") % {"unit": located_in.name})
    territory_id = parent.parent_id if parent is not None else None
    if (
        territory_id is not None
        and not UnitClosure.objects.filter(ancestor_id=territory_id, descendant_id=located_in.pk).exists()
    ):
        raise OrgError(
            _("所在街道“%(street)s”不在部门“%(dept)s”的辖区内。")
            % {"street": located_in.name, "dept": parent.name if parent else ""}
        )


def check_code_free(*, code: str, exclude_pk: int | None = None) -> None:
    if not code.strip():
        raise OrgError(_("编码不能为空。"))
    clash = Unit.objects.filter(code=code)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise OrgError(_("编码“%(code)s”已被使用。") % {"code": code})


def check_move(*, unit: Unit, new_parent: Unit | None, station_street: Unit | None = None) -> None:
    """Every reason a move of ``unit`` under ``new_parent`` is refused (no writes).

    ``station_street`` is the street a moving station will be located in, when that changes too.
    """
    if (
        new_parent is not None
        and UnitClosure.objects.filter(ancestor_id=unit.pk, descendant_id=new_parent.pk).exists()
    ):
        raise OrgError(_("不能把单位移到它自己或它的下级单位之下。"))
    check_parent(kind=unit.kind, parent=new_parent)
    if unit.kind == UnitKind.STATION:
        check_located_in(kind=unit.kind, parent=new_parent, located_in=station_street or unit.located_in)
    elif unit.kind == UnitKind.DEPARTMENT and new_parent is not None:
        # Every station below must still lie within the department's new territory.
        stray = (
            Unit.objects.filter(
                kind=UnitKind.STATION,
                pk__in=UnitClosure.objects.filter(ancestor_id=unit.pk).values("descendant_id"),
            )
            .exclude(
                located_in_id__in=UnitClosure.objects.filter(ancestor_id=new_parent.pk).values(
                    "descendant_id"
                )
            )
            .first()
        )
        if stray is not None:
            raise OrgError(
                _("下属派出机构“%(station)s”所在街道不在新上级的辖区内。") % {"station": stray.name}
            )


def check_delete(*, unit: Unit) -> None:
    """Refuse to delete a unit with children, memberships or stations located in it (no writes)."""
    if Unit.objects.filter(parent_id=unit.pk).exists():
        raise OrgError(_("“%(unit)s”还有下级单位，不能删除。") % {"unit": unit.name})
    if Membership.objects.filter(unit_id=unit.pk).exists():
        raise OrgError(_("“%(unit)s”还有人员岗位，不能删除。") % {"unit": unit.name})
    if Unit.objects.filter(located_in_id=unit.pk).exists():
        raise OrgError(_("“%(unit)s”内还有派出机构，不能删除。") % {"unit": unit.name})


# --- units ----------------------------------------------------------------------------------


@transaction.atomic
def unit_create(
    *,
    actor: Any | None,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None,
    located_in: Unit | None = None,
    boundary: dict[str, object] | None = None,
) -> Unit:
    """Create one unit with its closure rows; validated and audited (``orgs.unit_create``)."""
    if actor is not None:
        _require(permissions.can_manage_units(actor))
    code = code.strip()
    name = name.strip()
    if not name:
        raise OrgError(_("名称不能为空。"))
    check_parent(kind=kind, parent=parent)
    check_code_free(code=code)
    check_located_in(kind=kind, parent=parent, located_in=located_in)
    unit = Unit.objects.create(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        level=0 if parent is None else parent.level + 1,
        located_in=located_in,
        boundary=boundary,
    )
    UnitClosure.objects.bulk_create(closure_rows_for([unit]))
    audit_record(
        event_type="orgs.unit_create",
        actor=actor,
        object_type="orgs.Unit",
        object_id=unit.pk,
        after=unit_snapshot(unit),
    )
    return unit


def _locked(unit: Unit) -> Unit:
    """Re-read ``unit`` under a row lock (fresh parent and level for the checks)."""
    return Unit.objects.select_for_update().get(pk=unit.pk)


def _apply_move(unit: Unit, new_parent: Unit | None) -> int:
    """Re-parent ``unit`` and fix the closure table and levels of its subtree; returns its size.

    Unlinks the subtree from its old ancestors, links it to the new ones (batched ORM inserts),
    shifts ``level`` of the whole subtree. The caller holds the transaction and has checked.
    """
    subtree = UnitClosure.objects.filter(ancestor_id=unit.pk)
    old_ancestors = UnitClosure.objects.filter(descendant_id=unit.pk, depth__gt=0)
    UnitClosure.objects.filter(
        descendant_id__in=subtree.values("descendant_id"),
        ancestor_id__in=old_ancestors.values("ancestor_id"),
    ).delete()
    below = list(subtree.values_list("descendant_id", "depth"))
    if new_parent is not None:
        above = list(
            UnitClosure.objects.filter(descendant_id=new_parent.pk).values_list("ancestor_id", "depth")
        )
        UnitClosure.objects.bulk_create(
            (
                UnitClosure(ancestor_id=a, descendant_id=d, depth=da + dd + 1)
                for a, da in above
                for d, dd in below
            ),
            batch_size=CLOSURE_BATCH,
        )
    new_level = 0 if new_parent is None else new_parent.level + 1
    shift = new_level - unit.level
    if shift:
        Unit.objects.filter(pk__in=subtree.values("descendant_id")).update(level=F("level") + shift)
    Unit.objects.filter(pk=unit.pk).update(parent=new_parent)
    unit.parent = new_parent
    unit.level = new_level
    return len(below)


@transaction.atomic
def unit_move(*, actor: Any | None, unit: Unit, new_parent: Unit | None) -> Unit:
    """Move ``unit`` and its whole subtree under ``new_parent``; audited (``orgs.unit_move``).

    A move to the current parent changes nothing and writes nothing.
    """
    if actor is not None:
        _require(permissions.can_manage_units(actor))
    # Moves are rare: serialise them on the roots so two concurrent moves cannot make a cycle.
    list(Unit.objects.select_for_update().filter(parent__isnull=True).values_list("pk", flat=True))
    current = _locked(unit)
    new_parent = _locked(new_parent) if new_parent is not None else None
    if current.parent_id == (new_parent.pk if new_parent else None):
        return current
    check_move(unit=current, new_parent=new_parent)
    before = unit_snapshot(current)
    size = _apply_move(current, new_parent)
    audit_record(
        event_type="orgs.unit_move",
        actor=actor,
        object_type="orgs.Unit",
        object_id=current.pk,
        before=before,
        after=unit_snapshot(current),
        extra={"subtree_size": size},
    )
    _copy_tree_fields(current, unit)
    return unit


def _copy_tree_fields(source: Unit, target: Unit) -> None:
    for field in ("code", "name", "parent_id", "level", "located_in_id", "is_active"):
        setattr(target, field, getattr(source, field))


@transaction.atomic
def unit_rename(*, actor: Any | None, unit: Unit, name: str) -> Unit:
    """Change a unit's name; audited (``orgs.unit_rename``)."""
    return unit_update(actor=actor, unit=unit, name=name, event_type="orgs.unit_rename")


@transaction.atomic
def unit_deactivate(*, actor: Any | None, unit: Unit) -> Unit:
    """Deactivate a unit with no active children; audited (``orgs.unit_deactivate``)."""
    return unit_update(actor=actor, unit=unit, is_active=False, event_type="orgs.unit_deactivate")


@transaction.atomic
def unit_activate(*, actor: Any | None, unit: Unit) -> Unit:
    """Reactivate a unit whose parent is active; audited (``orgs.unit_activate``)."""
    return unit_update(actor=actor, unit=unit, is_active=True, event_type="orgs.unit_activate")


_UNSET: Any = object()


@transaction.atomic
def unit_update(
    *,
    actor: Any | None,
    unit: Unit,
    code: str | None = None,
    name: str | None = None,
    parent: Unit | None = _UNSET,
    located_in: Unit | None = _UNSET,
    is_active: bool | None = None,
    event_type: str = "orgs.unit_update",
) -> Unit:
    """Change any of a unit's editable fields in one transaction with one audit row.

    The admin's change form comes here; the narrower services above are shortcuts. A call that
    changes nothing writes nothing.
    """
    if actor is not None:
        _require(permissions.can_manage_units(actor))
    current = _locked(unit)
    before = unit_snapshot(current)
    changed: list[str] = []
    extra: dict[str, Any] = {}

    if parent is not _UNSET and (parent.pk if parent else None) != current.parent_id:
        list(Unit.objects.select_for_update().filter(parent__isnull=True).values_list("pk", flat=True))
        new_parent = _locked(parent) if parent is not None else None
        check_move(
            unit=current, new_parent=new_parent, station_street=None if located_in is _UNSET else located_in
        )
        extra["subtree_size"] = _apply_move(current, new_parent)
    if located_in is not _UNSET and (located_in.pk if located_in else None) != current.located_in_id:
        check_located_in(kind=current.kind, parent=current.parent, located_in=located_in)
        current.located_in = located_in
        changed.append("located_in")
    if code is not None and code.strip() != current.code:
        check_code_free(code=code.strip(), exclude_pk=current.pk)
        current.code = code.strip()
        changed.append("code")
    if name is not None and name.strip() != current.name:
        if not name.strip():
            raise OrgError(_("名称不能为空。"))
        current.name = name.strip()
        changed.append("name")
    if is_active is not None and is_active != current.is_active:
        if not is_active and Unit.objects.filter(parent_id=current.pk, is_active=True).exists():
            raise OrgError(_("“%(unit)s”还有启用的下级单位，不能停用。") % {"unit": current.name})
        if is_active and current.parent is not None and not current.parent.is_active:
            raise OrgError(_("上级单位“%(parent)s”已停用，不能启用。") % {"parent": current.parent.name})
        current.is_active = is_active
        changed.append("is_active")

    if changed:
        current.save(update_fields=changed)
    after = unit_snapshot(current)
    if after != before:
        audit_record(
            event_type=event_type,
            actor=actor,
            object_type="orgs.Unit",
            object_id=current.pk,
            before=before,
            after=after,
            extra=extra,
        )
    _copy_tree_fields(current, unit)
    return unit


@transaction.atomic
def unit_delete(*, actor: Any | None, unit: Unit) -> None:
    """Delete a unit that has no children and no memberships; audited (``orgs.unit_delete``).

    Anything else still pointing at it (addresses, responsibility rules, later orders) protects it
    too. Deactivate a unit that has history instead.
    """
    if actor is not None:
        _require(permissions.can_manage_units(actor))
    current = _locked(unit)
    check_delete(unit=current)
    before = unit_snapshot(current)
    pk = current.pk
    try:
        with transaction.atomic():
            current.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise OrgError(
            _("“%(unit)s”仍被其他数据引用，不能删除，请改为停用。") % {"unit": current.name}
        ) from exc
    audit_record(
        event_type="orgs.unit_delete", actor=actor, object_type="orgs.Unit", object_id=pk, before=before
    )


# --- memberships ----------------------------------------------------------------------------


@transaction.atomic
def membership_grant(*, actor: Any | None, user: Any, unit: Unit, role: str) -> Membership:
    """Give ``user`` the ``role`` in ``unit``; audited (``orgs.membership_grant``)."""
    if actor is not None:
        _require(permissions.can_manage_memberships(actor))
    if role not in Role.values:
        raise OrgError(_("未知的角色：%(role)s") % {"role": role})
    if not unit.is_active:
        raise OrgError(_("单位“%(unit)s”已停用，不能授予岗位。") % {"unit": unit.name})
    if Membership.objects.filter(user=user, unit=unit, role=role).exists():
        raise OrgError(
            _("%(user)s 已在“%(unit)s”担任%(role)s。")
            % {"user": user, "unit": unit.name, "role": Role(role).label}
        )
    membership = Membership.objects.create(user=user, unit=unit, role=role)
    audit_record(
        event_type="orgs.membership_grant",
        actor=actor,
        object_type="orgs.Membership",
        object_id=membership.pk,
        after=membership_snapshot(membership),
    )
    return membership


@transaction.atomic
def membership_revoke(*, actor: Any | None, membership: Membership) -> None:
    """Remove one membership; audited (``orgs.membership_revoke``)."""
    if actor is not None:
        _require(permissions.can_manage_memberships(actor))
    current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if current is None:
        raise OrgError(_("该岗位不存在或已被撤销。"))
    before = membership_snapshot(current)
    pk = current.pk
    current.delete()
    audit_record(
        event_type="orgs.membership_revoke",
        actor=actor,
        object_type="orgs.Membership",
        object_id=pk,
        before=before,
    )
