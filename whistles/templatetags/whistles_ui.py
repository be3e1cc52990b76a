"""Small template helpers of the whistle pages (``{% load whistles_ui %}``): badge tones."""

from __future__ import annotations

from django import template

from whistles.choices import TaskStatus, WhistleStatus, WhistleType
from whistles.selectors import Progress

register = template.Library()

TYPE_TONES = {WhistleType.URGENT: "danger", WhistleType.LONG: "info", WhistleType.SHORT: "warning"}
STATUS_TONES = {
    WhistleStatus.OPEN: "progress",
    WhistleStatus.CLOSED: "success",
    WhistleStatus.CANCELLED: "muted",
}
TASK_TONES = {
    TaskStatus.OPEN: "progress",
    TaskStatus.REPLIED: "success",
    TaskStatus.UNANSWERED: "danger",
    TaskStatus.CANCELLED: "muted",
}
PROGRESS_TONES = {
    Progress.REPORTED: "success",
    Progress.REPORTED_LATE: "warning",
    Progress.WAITING: "neutral",
    Progress.ACK_OVERDUE: "danger",
    Progress.ARRIVE_OVERDUE: "danger",
    Progress.NOT_REPORTED: "danger",
    Progress.CANCELLED: "muted",
}


@register.filter
def type_tone(value: str) -> str:
    return TYPE_TONES.get(WhistleType(value), "neutral") if value in WhistleType.values else "neutral"


@register.filter
def status_tone(value: str) -> str:
    return STATUS_TONES.get(WhistleStatus(value), "neutral") if value in WhistleStatus.values else "neutral"


@register.filter
def task_tone(value: str) -> str:
    return TASK_TONES.get(TaskStatus(value), "neutral") if value in TaskStatus.values else "neutral"


@register.filter
def progress_tone(value: str) -> str:
    return PROGRESS_TONES.get(value, "neutral")
