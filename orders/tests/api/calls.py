"""How each action of ``orders.states.TRANSITIONS`` is called over HTTP: path suffix and JSON body
from the service keyword arguments that ``orders.tests.actions`` prepares."""

from __future__ import annotations

import enum
from typing import Any

from orders.choices import Action

SUFFIX: dict[Action, str] = {
    Action.ANSWER_DIRECTLY: "answer",
    Action.SUBMIT: "submit",
    Action.WITHDRAW: "withdraw",
    Action.DISPATCH: "dispatch",
    Action.MERGE: "merge",
    Action.ACCEPT: "accept",
    Action.RETURN: "return",
    Action.RETURN_UPHOLD: "return/uphold",
    Action.RETURN_REJECT: "return/reject",
    Action.DELEGATE: "delegate",
    Action.RECORD_CONTACT: "contact",
    Action.REVEAL_PHONE: "reveal",
    Action.EXTENSION_REQUEST: "extension",
    Action.EXTENSION_APPROVE: "extension/{request}/approve",
    Action.EXTENSION_REFUSE: "extension/{request}/refuse",
    Action.SUSPEND_REQUEST: "suspension",
    Action.SUSPEND_APPROVE: "suspension/{request}/approve",
    Action.SUSPEND_REFUSE: "suspension/{request}/refuse",
    Action.RESUME: "resume",
    Action.ESCALATE: "escalate",
    Action.REPLY: "reply",
    Action.REVIEW_APPROVE: "review/approve",
    Action.REVIEW_SEND_BACK: "review/send-back",
    Action.CALLBACK: "callback",
    Action.CALLBACK_MERGED: "callback-merged",
    Action.REOPEN: "reopen",
    Action.CLOSE: "close",
    Action.URGE: "urge",
    Action.SUPERVISE: "supervise",
}
RENAMED = {"parent": "parent_id", "unit": "unit_id", "assignment": "assignment_id", "reply": "reply_id"}


def http_call(action: Action, order_id: int, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(path, body) for ``action`` on ``order_id`` with the service's keyword arguments."""
    request = kwargs.get("request")
    suffix = SUFFIX[action].format(request=getattr(request, "pk", 0))
    body: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "request":
            continue
        if key in RENAMED:
            body[RENAMED[key]] = value.pk
        elif isinstance(value, enum.Enum):
            body[key] = value.value
        else:
            body[key] = value
    return f"/api/v1/orders/{order_id}/{suffix}", body
