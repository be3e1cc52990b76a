from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessment"
    verbose_name = _("考评")

    def ready(self) -> None:
        from orgs.choices import Role
        from web.navigation import Workbench, register

        register(
            Workbench(
                key="dashboard",
                label=_("指挥中心"),
                url_name="assessment:dashboard",
                description=_("今日工单、三率与排名、趋势、预警与月度通报"),
                roles=frozenset(
                    {
                        Role.LEADER,
                        Role.SECRETARY,
                        Role.SUPERVISOR,
                        Role.DISPLAY,
                        Role.DISPATCHER,
                        Role.ADMINISTRATOR,
                    }
                ),
                order=200,
            )
        )
