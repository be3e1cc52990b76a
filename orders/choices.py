"""The enumerations of the work-order loop (DESIGN.md "The work order").

``OrderStatus`` carries the state groups (``OPEN``, ``TERMINAL``, ``WITH_LEAD``); the transition
tables that use these values live in ``orders.states``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("12345热线")
    WEB = "web", _("网站")
    MOBILE = "mobile", _("随手拍")
    GRID_PATROL = "grid_patrol", _("网格巡查")
    SERVICE_WINDOW = "service_window", _("一窗受理")
    SERVICE_REVIEW = "service_review", _("好差评")
    MEDIA = "media", _("媒体")
    DEPUTY_PROPOSAL = "deputy_proposal", _("代表建议")
    LEADER_MAILBOX = "leader_mailbox", _("领导信箱")
    OPEN311 = "open311", _("Open311接口")


class OrderKind(models.TextChoices):
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    HELP = "help", _("求助")
    SUGGESTION = "suggestion", _("建议")
    CONSULTATION = "consultation", _("咨询")
    PRAISE = "praise", _("表扬")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class OrderStatus(models.TextChoices):
    REGISTERED = "registered", _("登记")
    AWAITING_DISPATCH = "awaiting_dispatch", _("待派单")
    AWAITING_ACCEPTANCE = "awaiting_acceptance", _("待签收")
    RETURN_REQUESTED = "return_requested", _("退单待审")
    IN_PROGRESS = "in_progress", _("办理中")
    SUSPENDED = "suspended", _("挂账")
    AWAITING_REVIEW = "awaiting_review", _("办结待审")
    AWAITING_CALLBACK = "awaiting_callback", _("待回访")
    CLOSED = "closed", _("办结")
    MERGED = "merged", _("合并")
    WITHDRAWN = "withdrawn", _("撤销")


# State groups (NetBox ChoiceSet style). TERMINAL: no action moves the order on (a closed order
# can be reopened by a dispatcher — the one exit, in orders.states). OPEN: everything else.
TERMINAL: frozenset[str] = frozenset({OrderStatus.CLOSED, OrderStatus.MERGED, OrderStatus.WITHDRAWN})
OPEN: frozenset[str] = frozenset(s for s in OrderStatus.values if s not in TERMINAL)
# States in which exactly one active lead chain exists (the order is with a unit or its reviewer).
WITH_LEAD: frozenset[str] = frozenset(
    {
        OrderStatus.AWAITING_ACCEPTANCE,
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.IN_PROGRESS,
        OrderStatus.SUSPENDED,
        OrderStatus.AWAITING_REVIEW,
    }
)
# Open states in which no assignment is active (the order is with a dispatcher or callback agent).
WITHOUT_LEAD: frozenset[str] = frozenset(
    {OrderStatus.REGISTERED, OrderStatus.AWAITING_DISPATCH, OrderStatus.AWAITING_CALLBACK}
)


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("主办")
    ASSIST = "assist", _("协办")


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("待签收")
    RETURN_REQUESTED = "return_requested", _("退单待审")
    ACCEPTED = "accepted", _("已签收")
    REPLIED = "replied", _("已反馈")
    APPROVED = "approved", _("已审核")
    RETURNED = "returned", _("已退回")
    CANCELLED = "cancelled", _("已取消")


ASSIGNMENT_ACTIVE: frozenset[str] = frozenset(
    {
        AssignmentStatus.PENDING,
        AssignmentStatus.RETURN_REQUESTED,
        AssignmentStatus.ACCEPTED,
        AssignmentStatus.REPLIED,
    }
)
ASSIGNMENT_DONE: frozenset[str] = frozenset(
    {AssignmentStatus.APPROVED, AssignmentStatus.RETURNED, AssignmentStatus.CANCELLED}
)


class Action(models.TextChoices):
    """Every action of the loop; each is one service ``order_<action>`` and one event type."""

    CREATE = "create", _("登记")
    ANSWER_DIRECTLY = "answer_directly", _("直接答复")
    SUBMIT = "submit", _("提交派单")
    DISPATCH = "dispatch", _("派单")
    ACCEPT = "accept", _("签收")
    RETURN = "return", _("申请退单")
    RETURN_UPHOLD = "return_uphold", _("同意退单")
    RETURN_REJECT = "return_reject", _("驳回退单")
    DELEGATE = "delegate", _("下派")
    RECORD_CONTACT = "record_contact", _("联系群众")
    REVEAL_PHONE = "reveal_phone", _("查看号码")
    EXTENSION_REQUEST = "extension_request", _("申请延期")
    EXTENSION_APPROVE = "extension_approve", _("同意延期")
    EXTENSION_REFUSE = "extension_refuse", _("驳回延期")
    SUSPEND_REQUEST = "suspend_request", _("申请挂账")
    SUSPEND_APPROVE = "suspend_approve", _("同意挂账")
    SUSPEND_REFUSE = "suspend_refuse", _("驳回挂账")
    RESUME = "resume", _("恢复办理")
    REPLY = "reply", _("办理反馈")
    REVIEW_APPROVE = "review_approve", _("审核通过")
    REVIEW_SEND_BACK = "review_send_back", _("退回重办")
    CALLBACK = "callback", _("回访")
    CALLBACK_MERGED = "callback_merged", _("合并件回访")
    REOPEN = "reopen", _("重办")
    CLOSE = "close", _("办结")
    MERGE = "merge", _("合并")
    WITHDRAW = "withdraw", _("撤销")
    URGE = "urge", _("催办")
    SUPERVISE = "supervise", _("督办")
    ESCALATE = "escalate", _("上报")


class EventType(models.TextChoices):
    """Timeline entries: one per action (same value), plus what the system itself records."""

    CREATED = "create", _("登记")
    ANSWERED_DIRECTLY = "answer_directly", _("直接答复")
    SUBMITTED = "submit", _("提交派单")
    DISPATCHED = "dispatch", _("派单")
    ACCEPTED = "accept", _("签收")
    RETURN_REQUESTED = "return", _("申请退单")
    RETURN_UPHELD = "return_uphold", _("同意退单")
    RETURN_REJECTED = "return_reject", _("驳回退单")
    DELEGATED = "delegate", _("下派")
    CONTACT_RECORDED = "record_contact", _("联系群众")
    PHONE_REVEALED = "reveal_phone", _("查看号码")
    EXTENSION_REQUESTED = "extension_request", _("申请延期")
    EXTENSION_APPROVED = "extension_approve", _("同意延期")
    EXTENSION_REFUSED = "extension_refuse", _("驳回延期")
    SUSPEND_REQUESTED = "suspend_request", _("申请挂账")
    SUSPEND_APPROVED = "suspend_approve", _("同意挂账")
    SUSPEND_REFUSED = "suspend_refuse", _("驳回挂账")
    RESUMED = "resume", _("恢复办理")
    REPLIED = "reply", _("办理反馈")
    REVIEW_APPROVED = "review_approve", _("审核通过")
    REVIEW_SENT_BACK = "review_send_back", _("退回重办")
    CALLBACK = "callback", _("回访")
    CALLBACK_MERGED = "callback_merged", _("合并件回访")
    REOPENED = "reopen", _("重办")
    CLOSED = "close", _("办结")
    MERGED = "merge", _("合并")
    WITHDRAWN = "withdraw", _("撤销")
    URGED = "urge", _("催办")
    SUPERVISED = "supervise", _("督办")
    ESCALATED = "escalate", _("上报")
    # Recorded by the system, not by an action of its own:
    CHILD_MERGED = "child_merged", _("并入重复件")
    ANSWER_SHARED = "answer_shared", _("主件答复同步")
    DEADLINE_WARNING = "deadline_warning", _("时限预警")
    DEADLINES_RECALCULATED = "deadlines_recalculated", _("时限重算")
    ATTACHMENT_ADDED = "attachment_added", _("上传附件")


class ReplyOutcome(models.TextChoices):
    RESOLVED = "resolved", _("已解决")
    PARTLY = "partly", _("部分解决")
    NOT_RESOLVED = "not_resolved", _("未解决")
    NOT_OUR_RESPONSIBILITY = "not_our_responsibility", _("非本单位职责")


class ReplyStatus(models.TextChoices):
    PENDING_REVIEW = "pending_review", _("待审核")
    APPROVED = "approved", _("已通过")
    SENT_BACK = "sent_back", _("已退回")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


class RequestStatus(models.TextChoices):
    """Extension and suspension requests."""

    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已同意")
    REFUSED = "refused", _("已驳回")


class SupervisionStatus(models.TextChoices):
    OPEN = "open", _("督办中")
    ANSWERED = "answered", _("已办结")


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("电话")
    VISIT = "visit", _("上门")
    HOTLINE = "hotline", _("经热线转接")
    OTHER = "other", _("其他")


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("站内信")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")


class DeadlineKind(models.TextChoices):
    ACCEPT = "accept", _("签收时限")
    CONTACT = "contact", _("联系时限")
    REPLY = "reply", _("答复时限")
    SUPERVISION = "supervision", _("督办时限")


class WarningLevel(models.TextChoices):
    YELLOW = "yellow", _("黄牌预警")
    RED = "red", _("红牌超时")


class RevealField(models.TextChoices):
    PHONE = "phone", _("联系电话")
    ID_NUMBER = "id_number", _("身份证号")
