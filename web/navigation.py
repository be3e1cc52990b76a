"""The workbench registry: which pages a signed-in user sees on the home page and in the nav.

A page that should appear registers a ``Workbench`` once, at import time of the module that
defines the registry entries (``web/navigation.py`` for the pages in ``web``; another app may
call ``register`` from its ``AppConfig.ready``). Visibility is data, not template logic:

- ``roles``: membership roles (``orgs.choices.Role``) that see the entry; empty means every
  signed-in user;
- ``admin_roles``: administrator roles (``core.models.user.AdminRole``) that see it;
- an entry whose ``url_name`` does not reverse is skipped, so only pages that exist are linked.

This decides what is *shown*; each view still checks its own permission (``can_<action>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.models.user import AdminRole


@dataclass(frozen=True)
class Workbench:
    key: str
    label: str | Promise
    url_name: str
    description: str | Promise = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    admin_roles: frozenset[str] = field(default_factory=frozenset)
    order: int = 100
    in_nav: bool = True

    def visible_to(self, *, roles: Iterable[str], admin_role: str) -> bool:
        if not self.roles and not self.admin_roles:
            return True
        return bool(self.roles.intersection(roles)) or (bool(admin_role) and admin_role in self.admin_roles)


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str
    url: str
    description: str
    in_nav: bool


_REGISTRY: dict[str, Workbench] = {}


def register(workbench: Workbench) -> Workbench:
    """Add (or replace, by key) a workbench entry."""
    _REGISTRY[workbench.key] = workbench
    return workbench


def registered() -> list[Workbench]:
    return sorted(_REGISTRY.values(), key=lambda w: (w.order, w.key))


def links_for(*, roles: Iterable[str], admin_role: str) -> list[NavLink]:
    """The entries a user with these roles sees, in order, with their URLs."""
    role_set = frozenset(roles)
    links: list[NavLink] = []
    for workbench in registered():
        if not workbench.visible_to(roles=role_set, admin_role=admin_role):
            continue
        try:
            url = reverse(workbench.url_name)
        except NoReverseMatch:
            continue
        links.append(
            NavLink(
                key=workbench.key,
                label=str(workbench.label),
                url=url,
                description=str(workbench.description),
                in_nav=workbench.in_nav,
            )
        )
    return links


ADMIN_ROLES = frozenset({AdminRole.SYSTEM.value, AdminRole.SECURITY.value, AdminRole.AUDIT.value})

register(
    Workbench(
        key="home",
        label=_("工作台"),
        url_name="core:home",
        description=_("我的待办与常用入口"),
        order=0,
        in_nav=True,
    )
)
register(
    Workbench(
        key="admin",
        label=_("管理后台"),
        url_name="admin:index",
        description=_("单位与人员、事项清单、责任清单、工作日历、审计日志"),
        admin_roles=ADMIN_ROLES,
        order=900,
    )
)
register(
    Workbench(
        key="password",
        label=_("修改密码"),
        url_name="core:password_change",
        description=_("定期修改密码，保护账号安全"),
        order=1000,
        in_nav=False,
    )
)
