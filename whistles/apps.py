from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhistlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "whistles"
    verbose_name = _("吹哨报到")

    def ready(self) -> None:
        from orgs.choices import Role
        from web.navigation import Workbench, register

        register(
            Workbench(
                key="whistles",
                label=_("吹哨看板"),
                url_name="whistles:board",
                description=_("街乡吹哨、部门报到：谁已报到，谁已超时"),
                roles=frozenset(
                    {
                        Role.SECRETARY,
                        Role.LEADER,
                        Role.HANDLER,
                        Role.DISPATCHER,
                        Role.SUPERVISOR,
                        Role.DISPLAY,
                    }
                ),
                order=300,
            )
        )
        register(
            Workbench(
                key="whistles-inbox",
                label=_("报到任务"),
                url_name="whistles:inbox",
                description=_("本部门被召集的吹哨：响应、报到、答复任务"),
                roles=frozenset({Role.HANDLER, Role.DISPATCHER, Role.LEADER}),
                order=310,
            )
        )
