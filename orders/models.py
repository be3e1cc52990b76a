"""The work order, its assignments, its append-only timeline, and the rows its actions write.

Only ``orders.services`` (and ``orders.tasks`` through them) writes these tables. The database
enforces what it can: one active lead chain per order (partial unique constraints), deadline
order, coordinates in range, one notification per (event, recipient, channel), one warning per
(assignment, kind, level, deadline), and an append-only ``OrderEvent`` (model layer here plus
triggers from migration 0002).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from orders.choices import (
    ASSIGNMENT_ACTIVE,
    OPEN,
    AssignmentRole,
    AssignmentStatus,
    Channel,
    ContactMethod,
    DeadlineKind,
    EventType,
    NotificationChannel,
    OrderKind,
    OrderStatus,
    ReplyOutcome,
    ReplyStatus,
    RequestStatus,
    RevealField,
    Satisfaction,
    SupervisionStatus,
    Urgency,
    WarningLevel,
)

USER = settings.AUTH_USER_MODEL
_OPEN = sorted(OPEN)
_ACTIVE = sorted(ASSIGNMENT_ACTIVE)


class OrderNumberCounter(models.Model):
    """One row per calendar day (Asia/Shanghai): the last sequence number handed out that day."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("工单编号计数器")
        verbose_name_plural = _("工单编号计数器")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Order(models.Model):
    """A work order 工单, from any channel. ``status`` and ``version`` change only through
    ``orders.services._transition`` (a conditional UPDATE on both)."""

    number = models.CharField(_("工单编号"), max_length=24, unique=True)
    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices)
    kind = models.CharField(_("诉求类型"), max_length=16, choices=OrderKind.choices)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(_("状态"), max_length=24, choices=OrderStatus.choices)
    version = models.PositiveIntegerField(_("版本"), default=0)
    last_seq = models.PositiveIntegerField(_("时间线序号"), default=0)

    item = models.ForeignKey(
        "catalog.CatalogItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("事项"),
    )
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("诉求内容"))

    address_text = models.CharField(_("地址"), max_length=255, blank=True)
    address = models.ForeignKey(
        "orgs.Address",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("标准地址"),
    )
    lon = models.FloatField(_("经度(WGS-84)"), null=True, blank=True)
    lat = models.FloatField(_("纬度(WGS-84)"), null=True, blank=True)
    grid = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("网格")
    )

    # Personal data: encrypted at rest, exact search through keyed hashes (SECURITY.md PI-3).
    requester_name = EncryptedTextField(_("诉求人"), blank=True, context="orders.Order.requester_name")
    requester_phone = EncryptedTextField(_("联系电话"), blank=True, context="orders.Order.requester_phone")
    requester_id_number = EncryptedTextField(
        _("身份证号"), blank=True, context="orders.Order.requester_id_number"
    )
    # (indexed in Meta: equality only, so without the LIKE twin Django adds to an indexed CharField)
    requester_phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    requester_id_hash = models.CharField(max_length=64, blank=True, editable=False)
    confidential = models.BooleanField(_("保密件"), default=False)

    client_request_id = models.CharField(_("客户端请求号"), max_length=64, null=True, blank=True)
    call_id = models.CharField(_("来电编号"), max_length=64, null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_children",
        verbose_name=_("主件"),
    )

    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("登记人")
    )
    intake_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("受理单位"),
    )
    # Whose dispatchers dispatch, rule on returns/extensions/suspensions and review the lead's reply.
    dispatch_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("派单层级")
    )
    lead_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("主办单位"),
    )
    # Who has it now: the deepest active unit of the lead chain, else the dispatch unit; None when ended.
    holder_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("当前承办"),
    )
    # 首接负责: the first unit to accept coordinates until closure or reassignment.
    first_receiver_unit = models.ForeignKey(
        "orgs.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("首接单位"),
    )
    due_at = models.DateTimeField(_("答复时限"), null=True, blank=True)

    public_reply = models.TextField(_("答复内容"), blank=True)
    reply_outcome = models.CharField(_("办理结果"), max_length=32, choices=ReplyOutcome.choices, blank=True)
    rework_count = models.PositiveIntegerField(_("退回重办次数"), default=0)
    reopen_count = models.PositiveIntegerField(_("重办次数"), default=0)

    created_at = models.DateTimeField(_("登记时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(
                condition=Q(lon__isnull=True, lat__isnull=True) | Q(lon__isnull=False, lat__isnull=False),
                name="order_point_pair",
            ),
            models.CheckConstraint(
                condition=Q(lon__isnull=True)
                | (Q(lon__gte=-180) & Q(lon__lte=180) & Q(lat__gte=-90) & Q(lat__lte=90)),
                name="order_point_range",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=models.F("pk")), name="order_not_own_parent"
            ),
            models.CheckConstraint(
                condition=Q(status=OrderStatus.MERGED, parent__isnull=False)
                | (~Q(status=OrderStatus.MERGED) & Q(parent__isnull=True)),
                name="order_merged_has_parent",
            ),
            # idempotent creation; partial, so most registrations (no request id) skip it
            models.UniqueConstraint(
                fields=["client_request_id"],
                condition=Q(client_request_id__isnull=False),
                name="order_client_request_unique",
            ),
        ]
        indexes = [
            # looked up by equality only: no LIKE twins; the rare ones partial, so a registration
            # without an ID number or a call touches no entry there
            models.Index(fields=["requester_phone_hash"], name="order_phone_hash"),
            models.Index(
                fields=["requester_id_hash"], condition=~Q(requester_id_hash=""), name="order_id_hash"
            ),
            models.Index(fields=["call_id"], condition=Q(call_id__isnull=False), name="order_call_id"),
            # hot queues: open orders by deadline, per holder and per dispatch level
            models.Index(
                fields=["holder_unit", "due_at"], condition=Q(status__in=_OPEN), name="order_open_holder_due"
            ),
            models.Index(
                fields=["dispatch_unit", "status", "created_at"],
                condition=Q(status__in=_OPEN),
                name="order_open_dispatch",
            ),
            # the dashboard's open and overdue counters and the map's open orders per grid
            models.Index(
                fields=["grid", "due_at"], condition=Q(status__in=_OPEN), name="order_open_grid_due"
            ),
            models.Index(fields=["closed_at"], condition=Q(status=OrderStatus.CLOSED), name="order_closed"),
            models.Index(fields=["grid", "status", "created_at"], name="order_grid_status_created"),
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            models.Index(fields=["item", "grid", "created_at"], name="order_item_grid_created"),
            models.Index(fields=["created_at"], name="order_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class Assignment(models.Model):
    """One unit an order is sent to (lead 主办 or assist 协办); delegation makes a child."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="assignments")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="order_assignments")
    role = models.CharField(_("角色"), max_length=8, choices=AssignmentRole.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级派单"),
    )
    status = models.CharField(_("状态"), max_length=20, choices=AssignmentStatus.choices)
    version = models.PositiveIntegerField(default=0)
    # Dispatch round: 1 for the first dispatch, +1 for each re-dispatch or reopen.
    round = models.PositiveSmallIntegerField(default=1)
    dispatched_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    dispatched_at = models.DateTimeField(_("派单时间"))

    # The limits the clock runs on (from the responsibility list when dispatched).
    limit_unit = models.CharField(max_length=16)
    accept_within = models.PositiveIntegerField()
    contact_within = models.PositiveIntegerField()
    reply_within = models.PositiveIntegerField()
    accept_by = models.DateTimeField(_("签收时限"), null=True, blank=True)
    contact_by = models.DateTimeField(_("联系时限"), null=True, blank=True)
    reply_by = models.DateTimeField(_("答复时限"), null=True, blank=True)
    provisional = models.BooleanField(_("时限待定"), default=False)
    calendar_version = models.PositiveIntegerField(default=1)
    paused_at = models.DateTimeField(_("挂账时间"), null=True, blank=True)

    accepted_at = models.DateTimeField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("派单记录")
        verbose_name_plural = _("派单记录")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AssignmentStatus.values), name="assignment_status_valid"
            ),
            models.CheckConstraint(condition=Q(role__in=AssignmentRole.values), name="assignment_role_valid"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(role=AssignmentRole.LEAD, parent__isnull=True, status__in=_ACTIVE),
                name="assignment_one_active_top_lead",
            ),
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(role=AssignmentRole.LEAD, parent__isnull=False, status__in=_ACTIVE),
                name="assignment_one_active_lead_child",
            ),
            models.CheckConstraint(
                condition=Q(accept_by__isnull=True)
                | Q(reply_by__isnull=True)
                | Q(accept_by__lte=models.F("reply_by")),
                name="assignment_accept_before_reply",
            ),
            models.CheckConstraint(
                condition=Q(contact_by__isnull=True)
                | Q(reply_by__isnull=True)
                | Q(contact_by__lte=models.F("reply_by")),
                name="assignment_contact_before_reply",
            ),
        ]
        indexes = [
            models.Index(
                fields=["accept_by"],
                condition=Q(status=AssignmentStatus.PENDING, paused_at__isnull=True),
                name="assignment_pending_accept_by",
            ),
            models.Index(
                fields=["contact_by"],
                condition=Q(
                    status=AssignmentStatus.ACCEPTED, contacted_at__isnull=True, paused_at__isnull=True
                ),
                name="assignment_open_contact_by",
            ),
            models.Index(
                fields=["reply_by"],
                condition=Q(status=AssignmentStatus.ACCEPTED, paused_at__isnull=True),
                name="assignment_open_reply_by",
            ),
            models.Index(fields=["unit", "status"], name="assignment_unit_status"),
            models.Index(fields=["order", "status"], name="assignment_order_status"),
            # the replies a unit reviews (workbench review list and count): the few replied
            # delegated children and assists, found before their many accepted parents and leads
            models.Index(
                fields=["parent"],
                condition=Q(status=AssignmentStatus.REPLIED, parent__isnull=False),
                name="assignment_replied_child",
            ),
            models.Index(
                fields=["order"],
                condition=Q(status=AssignmentStatus.REPLIED, role=AssignmentRole.ASSIST, parent__isnull=True),
                name="assignment_replied_assist",
            ),
            # the handler's inbox tabs, each in its own deadline's order (workbench.selectors.
            # inbox_assignments): a department's 27,000 accepted assignments were read and sorted
            # for a page of twenty
            models.Index(
                fields=["unit", "accept_by", "id"],
                condition=Q(status=AssignmentStatus.PENDING),
                name="assignment_inbox_pending",
            ),
            models.Index(
                fields=["unit", "reply_by", "id"],
                condition=Q(status=AssignmentStatus.ACCEPTED),
                name="assignment_inbox_accepted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.pk} {self.unit_id} {self.role} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ASSIGNMENT_ACTIVE


class AppendOnlyQuerySet(models.QuerySet["OrderEvent"]):
    """Refuses bulk UPDATE and DELETE: the timeline only grows."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("the order timeline is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("the order timeline is append-only")


class OrderEvent(models.Model):
    """One entry of an order's timeline: who did what, when, from which unit, why. Append-only."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(_("事件"), max_length=32, choices=EventType.choices)
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignment = models.ForeignKey(
        Assignment, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    reason = models.TextField(_("原因"), blank=True)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(_("时间"))

    objects: ClassVar[Any] = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("工单时间线")
        verbose_name_plural = _("工单时间线")
        ordering = ["order", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="order_event_seq_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="order_event_seq_positive"),
        ]
        indexes = [models.Index(fields=["type", "occurred_at"], name="order_event_type_time")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.seq} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("the order timeline is append-only: an event cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("the order timeline is append-only: an event cannot be deleted")


class Reply(models.Model):
    """A unit's answer 答复/反馈; reviewed by the dispatcher (lead) or the parent unit (delegated)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="replies")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("办理结果"), max_length=32, choices=ReplyOutcome.choices)
    explanation = models.TextField(_("办理情况"))
    status = models.CharField(max_length=16, choices=ReplyStatus.choices, default=ReplyStatus.PENDING_REVIEW)
    is_rework = models.BooleanField(_("重办答复"), default=False)
    created_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        verbose_name = _("办理反馈")
        verbose_name_plural = _("办理反馈")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(status=ReplyStatus.PENDING_REVIEW),
                name="reply_one_pending_per_assignment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.outcome}"


class Callback(models.Model):
    """A call back to the resident 回访."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="callbacks")
    agent = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reached = models.BooleanField(_("是否接通"))
    unit_contacted = models.BooleanField(_("单位是否联系"), null=True, blank=True)
    resolved = models.BooleanField(_("是否解决"), null=True, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=16, choices=Satisfaction.choices, blank=True)
    comment = models.TextField(_("回访记录"), blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        constraints = [
            models.CheckConstraint(
                condition=Q(reached=True) | Q(satisfaction=""), name="callback_unreached_has_no_rating"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.satisfaction or '-'}"


class ExtensionRequest(models.Model):
    """延期: more time on an assignment's reply-by, granted by the dispatcher or the parent unit."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="extension_requests")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="extension_requests")
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveIntegerField(_("延期时长"))
    limit_unit = models.CharField(max_length=16)
    reason = models.TextField(_("延期理由"))
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(status=RequestStatus.PENDING),
                name="extension_one_pending_per_assignment",
            ),
            models.CheckConstraint(condition=Q(amount__gte=1), name="extension_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: +{self.amount} {self.limit_unit} ({self.status})"


class SuspensionRequest(models.Model):
    """挂账: stop the clock with approval; resumption continues with the time left."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="suspension_requests")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="suspension_requests")
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("挂账理由"))
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("挂账申请")
        verbose_name_plural = _("挂账申请")
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status=RequestStatus.PENDING),
                name="suspension_one_pending_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.status}"


class Supervision(models.Model):
    """督办: a formal supervision of a unit on an order, with its own deadline."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="supervisions")
    unit = models.ForeignKey("orgs.Unit", on_delete=models.PROTECT, related_name="+")
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(_("督办事由"))
    due_at = models.DateTimeField(_("督办时限"))
    status = models.CharField(
        max_length=16, choices=SupervisionStatus.choices, default=SupervisionStatus.OPEN
    )
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(status=SupervisionStatus.OPEN), name="supervision_open_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.unit_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Files live under MEDIA_ROOT/orders/<order id>/ with a random name (never the upload's)."""
    return f"orders/{instance.order_id}/{instance.sha256[:16]}-{instance.storage_token}"


class Attachment(models.Model):
    """A photo or document of an order. Stored under MEDIA_ROOT and served only by an
    authorised, scoped view — there is no public media URL."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey(
        OrderEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    reply = models.ForeignKey(
        Reply, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    storage_token = models.CharField(max_length=32, editable=False)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    confidential = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.original_name or self.sha256[:12]}"


class Notification(models.Model):
    """The outbox: one row per (event, recipient, channel), written in the event's transaction.

    The in-app inbox is this row itself (``read_at``). Delivery claims the row with a conditional
    UPDATE (``claim_token`` and a lease in ``claimed_until``), sends, then marks ``delivered_at``
    where the token still matches — so a crashed worker's claim expires and nothing is lost.
    """

    event = models.ForeignKey(OrderEvent, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="order_notifications")
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient", "channel"], name="notification_unique"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(delivered_at__isnull=True), name="notification_undelivered"
            ),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.recipient_id} ({self.channel})"


class DeadlineWarning(models.Model):
    """A yellow (approaching) or red (reached) warning, recorded once per deadline however many
    sweeps run (unique rows; a moved deadline may be warned about again)."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.PROTECT, null=True, blank=True, related_name="warnings"
    )
    supervision = models.ForeignKey(
        Supervision, on_delete=models.PROTECT, null=True, blank=True, related_name="warnings"
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="warnings")
    kind = models.CharField(max_length=16, choices=DeadlineKind.choices)
    level = models.CharField(max_length=8, choices=WarningLevel.choices)
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    event = models.ForeignKey(OrderEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("时限预警")
        verbose_name_plural = _("时限预警")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "kind", "level", "due_at"],
                condition=Q(assignment__isnull=False),
                name="warning_unique_assignment",
            ),
            models.UniqueConstraint(
                fields=["supervision", "level", "due_at"],
                condition=Q(supervision__isnull=False),
                name="warning_unique_supervision",
            ),
            models.CheckConstraint(
                condition=Q(assignment__isnull=False, supervision__isnull=True)
                | Q(assignment__isnull=True, supervision__isnull=False),
                name="warning_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.level}"


class PhoneReveal(models.Model):
    """Every reveal of a requester's number: who, which order, why, when (also in the audit log)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="phone_reveals")
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    actor_unit = models.ForeignKey(
        "orgs.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    field = models.CharField(max_length=16, choices=RevealField.choices, default=RevealField.PHONE)
    reason = models.TextField(_("查看理由"))
    revealed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("号码查看记录")
        verbose_name_plural = _("号码查看记录")
        indexes = [models.Index(fields=["actor", "revealed_at"], name="phone_reveal_actor_time")]

    def __str__(self) -> str:
        return f"{self.order_id} by {self.actor_id}"


class ContactRecord(models.Model):
    """The unit contacted the resident (the contact-by clock is met by the first one)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="contacts")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="contacts")
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=16, choices=ContactMethod.choices)
    note = models.TextField(blank=True)
    contacted_at = models.DateTimeField()

    class Meta:
        verbose_name = _("联系记录")
        verbose_name_plural = _("联系记录")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.method}"


class ExportStatus(models.TextChoices):
    """The life of a bulk export (SECURITY.md PI-4): asked for, then approved or refused; an
    approved export is built after the decision commits (a task), then ready to download until it
    expires — or failed, if building it failed."""

    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")  # approved, the file not built yet
    READY = "ready", _("可下载")
    FAILED = "failed", _("生成失败")
    REFUSED = "refused", _("已驳回")
    EXPIRED = "expired", _("已过期")


class OrderExport(models.Model):
    """A bulk export of the order search (SECURITY.md PI-4): requested with a reason, approved by
    a leader or supervisor above the requester, built after the approval by a task within the
    requester's scope (masked, watermarked), downloadable by the requester only, for a day from
    when the file is ready. Written only by ``orders.services.exports``; every step (and every
    refused attempt) is in the audit log."""

    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="order_exports", verbose_name=_("申请人")
    )
    reason = models.TextField(_("导出理由"))
    # The order-search filters, JSON-safe (ids and ISO strings); see ``orders.services.exports``.
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    created_at = models.DateTimeField(_("申请时间"))
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_reason = models.TextField(_("审批意见"), blank=True)
    row_count = models.PositiveIntegerField(_("导出条数"), null=True, blank=True)
    content = models.BinaryField(_("导出文件"), blank=True, default=b"", editable=False)
    sha256 = models.CharField(_("文件摘要"), max_length=64, blank=True)
    expires_at = models.DateTimeField(_("下载截止"), null=True, blank=True)
    download_count = models.PositiveIntegerField(_("下载次数"), default=0)
    # Building the file (a task after the approval commits): the worker holding the build claims
    # it until ``build_claimed_until`` (a conditional update; the instant doubles as the claim's
    # token), ``build_attempts`` counts the claims (a worker that died leaves the row approved).
    build_claimed_until = models.DateTimeField(_("生成占用至"), null=True, blank=True, editable=False)
    build_attempts = models.PositiveSmallIntegerField(_("生成次数"), default=0, editable=False)
    ready_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    failure_reason = models.CharField(_("失败原因"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("工单导出")
        verbose_name_plural = _("工单导出")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="order_export_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="order_export_not_self_approved",
            ),
            models.CheckConstraint(
                condition=~Q(status=ExportStatus.READY) | Q(ready_at__isnull=False, expires_at__isnull=False),
                name="order_export_ready_has_window",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by", "created_at"], name="order_export_requester_time"),
            models.Index(
                fields=["created_at"],
                condition=Q(status=ExportStatus.PENDING),
                name="order_export_pending",
            ),
            models.Index(
                fields=["decided_at"],
                condition=Q(status=ExportStatus.APPROVED),
                name="order_export_unbuilt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk}: {self.requested_by_id} ({self.status})"
