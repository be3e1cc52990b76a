"""factory_boy factories for units, users and memberships (STYLE.md rule 22).

They go through the services, so the closure table and the audit log are always right:

    city = UnitFactory.create()                            # a city (root)
    district = UnitFactory.create(parent=city)             # kind follows the parent: district
    dept = UnitFactory.create(parent=city, kind=UnitKind.DEPARTMENT)
    station = UnitFactory.create(parent=dept, kind=UnitKind.STATION, located_in=street)
    user = UserFactory.create()                            # password "pass-Word-1234"
    MembershipFactory.create(user=user, unit=district, role=Role.DISPATCHER)

Call ``.create(...)`` rather than the class itself: mypy then sees the model, not the factory.

Each creation writes one audit row with no actor (system work).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from factory.declarations import (
    LazyAttribute,
    LazyFunction,
    PostGenerationMethodCall,
    Sequence,
    SubFactory,
)
from factory.django import DjangoModelFactory
from factory.helpers import post_generation

from core.models import User
from orgs.choices import Role, UnitKind
from orgs.models import Membership, Unit
from orgs.services import membership_grant, unit_create

PASSWORD = "pass-Word-1234"

# The territorial kind below each kind, for ``UnitFactory(parent=...)`` without a kind.
CHILD_KIND: dict[str, str] = {
    UnitKind.CITY: UnitKind.DISTRICT,
    UnitKind.DISTRICT: UnitKind.STREET,
    UnitKind.STREET: UnitKind.COMMUNITY,
    UnitKind.COMMUNITY: UnitKind.GRID,
    UnitKind.GRID: UnitKind.BUILDING,
    UnitKind.DEPARTMENT: UnitKind.STATION,
}


def _default_kind(obj: Any) -> str:
    parent = obj.parent
    return UnitKind.CITY if parent is None else CHILD_KIND[parent.kind]


class UnitFactory(DjangoModelFactory[Unit]):
    """A unit created through ``orgs.services.unit_create`` (closure rows and audit included)."""

    class Meta:
        model = Unit

    parent = None
    kind = LazyAttribute(_default_kind)
    code = Sequence(lambda n: f"U{n:06d}")
    name = LazyAttribute(lambda o: f"{UnitKind(o.kind).label}{o.code[-4:]}")
    located_in = None

    @classmethod
    def _create(cls, model_class: type[Unit], *args: Any, **kwargs: Any) -> Unit:
        return unit_create(actor=None, **kwargs)


class UserFactory(DjangoModelFactory[User]):
    """An active account with a fixed password (``PASSWORD``), changed "now" (no forced change).

    For browser/admin tests of users who need a second factor, log in with
    ``core.tests.identity_helpers.login_verified(client, user)``.
    """

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = Sequence(lambda n: f"user{n}")
    display_name = LazyAttribute(lambda o: o.username)
    password_changed_at = LazyFunction(timezone.now)  # no forced password change in view tests
    password = PostGenerationMethodCall("set_password", PASSWORD)

    @post_generation  # type: ignore[untyped-decorator]
    def _save_password(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save(update_fields=["password"])


class MembershipFactory(DjangoModelFactory[Membership]):
    """A membership granted through ``orgs.services.membership_grant``."""

    class Meta:
        model = Membership

    user = SubFactory(UserFactory)
    unit = SubFactory(UnitFactory)
    role = Role.HANDLER

    @classmethod
    def _create(cls, model_class: type[Membership], *args: Any, **kwargs: Any) -> Membership:
        return membership_grant(actor=None, **kwargs)
