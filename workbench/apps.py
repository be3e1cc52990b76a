from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    """The workbench pages of every role and the residents' pages (issue 4).

    Pages call the services of ``orders`` and ``intake``; nothing of the loop is re-implemented
    here. The entries below put the pages on the home page and in the navigation
    (``web.navigation``); each view still checks its own permission.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "workbench"
    verbose_name = _("工作台")

    def ready(self) -> None:
        from orders.permissions import EXPORT_ROLES
        from orgs.choices import Role
        from web.navigation import Workbench, register

        entries = [
            Workbench(
                key="calls",
                label=_("来电受理"),
                url_name="workbench:call_new",
                description=_("接听来电：查历史、找重复、答咨询、登记工单"),
                roles=frozenset({Role.AGENT}),
                order=100,
            ),
            Workbench(
                key="dispatch",
                label=_("派单台"),
                url_name="workbench:dispatch_queue",
                description=_("待派单、退单审核、延期挂账审批、办结审核"),
                roles=frozenset({Role.DISPATCHER}),
                order=110,
            ),
            Workbench(
                key="inbox",
                label=_("承办待办"),
                url_name="workbench:handler_inbox",
                description=_("签收、下派、联系群众、答复，时限一目了然"),
                roles=frozenset({Role.HANDLER, Role.DISPATCHER}),
                order=120,
            ),
            Workbench(
                key="callbacks",
                label=_("回访"),
                url_name="workbench:callback_queue",
                description=_("办结答复后回访群众：是否解决、是否满意"),
                roles=frozenset({Role.CALLBACK_AGENT}),
                order=130,
            ),
            Workbench(
                key="supervision",
                label=_("督办看板"),
                url_name="workbench:supervision_board",
                description=_("临期与超期工单按单位汇总：催办、督办、上报"),
                roles=frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.LEADER}),
                order=140,
            ),
            Workbench(
                key="orders",
                label=_("工单查询"),
                url_name="workbench:order_list",
                description=_("按状态、事项、区域、渠道查询权限范围内的工单"),
                roles=frozenset(Role.values),
                order=150,
            ),
            Workbench(
                key="exports",
                label=_("工单导出"),
                url_name="workbench:export_list",
                description=_("申请导出查询结果、审批导出、下载已批准的文件"),
                roles=EXPORT_ROLES,
                order=155,
            ),
            Workbench(
                key="notifications",
                label=_("通知"),
                url_name="notifications:inbox",
                description=_("派单、催办、督办、预警等通知"),
                roles=frozenset(Role.values),
                order=160,
                in_nav=False,
            ),
        ]
        for entry in entries:
            register(entry)
