"""``layout``: what the base layout needs, computed lazily (the sign-in pages never query it)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from web import navigation, selectors


@dataclass
class Layout:
    request: HttpRequest

    @cached_property
    def unit_roles(self) -> list[selectors.UnitRole]:
        return selectors.user_unit_roles(self.request.user)

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(ur.role for ur in self.unit_roles)

    @cached_property
    def admin_role_label(self) -> str:
        user: Any = self.request.user
        return str(user.get_admin_role_display()) if getattr(user, "admin_role", "") else ""

    @cached_property
    def links(self) -> list[navigation.NavLink]:
        user: Any = self.request.user
        if not user.is_authenticated:
            return []
        return navigation.links_for(roles=self.roles, admin_role=getattr(user, "admin_role", "") or "")

    @cached_property
    def nav_links(self) -> list[navigation.NavLink]:
        return [link for link in self.links if link.in_nav]

    @cached_property
    def active_key(self) -> str:
        """The nav entry the current page belongs to: the longest matching URL prefix."""
        path = self.request.path
        best, best_len = "", -1
        for link in self.links:
            matches = path == link.url or (link.url != "/" and path.startswith(link.url))
            if matches and len(link.url) > best_len:
                best, best_len = link.key, len(link.url)
        return best

    @cached_property
    def unread_count(self) -> int | None:
        return selectors.unread_notification_count(self.request.user)

    @cached_property
    def inbox_url(self) -> str:
        try:
            return reverse("notifications:inbox")
        except NoReverseMatch:
            return ""

    @property
    def map(self) -> dict[str, str]:
        """Tile settings for ``web/partials/map.html`` (empty tile URL: offline plain background)."""
        return {
            "tile_url": str(settings.MAP_TILE_URL),
            "tile_crs": str(settings.MAP_TILE_CRS),
            "subdomains": str(settings.MAP_TILE_SUBDOMAINS),
            "attribution": str(settings.MAP_TILE_ATTRIBUTION),
        }

    @property
    def poll_seconds(self) -> int:
        return int(settings.WEB_POLL_SECONDS)

    @property
    def login_url(self) -> str:
        return reverse(settings.LOGIN_URL)


def layout(request: HttpRequest) -> dict[str, Any]:
    return {"layout": Layout(request)}
