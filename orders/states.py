"""The transition tables of the loop, as data (STYLE.md rule 5, DESIGN.md's state table).

``TRANSITIONS[action] = (allowed source states, allowed target states)`` for the order. An action
whose targets include its source may leave the status as it is: it acts on an assignment (a
delegated child or an assisting unit accepts, replies or is reviewed), or records something
(contact, urging, supervision) without moving the order. Which target applies is decided by the
service; ``orders.services._transition`` refuses any pair the table does not allow.

Creation is not a transition: an order is created ``REGISTERED`` (hotline, window) or directly
``AWAITING_DISPATCH`` (self-service channels: web, mobile, Open311), see ``INITIAL_STATES``.
A closed order has exactly one exit: ``REOPEN`` by a dispatcher, with a reason.

``ASSIGNMENT_TRANSITIONS[action] = (allowed source states, target state)`` for an assignment.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.choices import ASSIGNMENT_ACTIVE, Action, AssignmentStatus, OrderStatus

S = OrderStatus

INITIAL_STATES: frozenset[OrderStatus] = frozenset({S.REGISTERED, S.AWAITING_DISPATCH})

TRANSITIONS: dict[Action, tuple[frozenset[OrderStatus], frozenset[OrderStatus]]] = {
    # registered 登记
    Action.ANSWER_DIRECTLY: (frozenset({S.REGISTERED}), frozenset({S.CLOSED})),
    Action.SUBMIT: (frozenset({S.REGISTERED}), frozenset({S.AWAITING_DISPATCH})),
    Action.WITHDRAW: (frozenset({S.REGISTERED, S.AWAITING_DISPATCH}), frozenset({S.WITHDRAWN})),
    # awaiting dispatch 待派单
    Action.DISPATCH: (frozenset({S.AWAITING_DISPATCH}), frozenset({S.AWAITING_ACCEPTANCE})),
    Action.MERGE: (frozenset({S.AWAITING_DISPATCH}), frozenset({S.MERGED})),
    # awaiting acceptance 待签收 (an assisting unit may accept while the lead has not yet)
    Action.ACCEPT: (
        frozenset({S.AWAITING_ACCEPTANCE, S.IN_PROGRESS}),
        frozenset({S.IN_PROGRESS, S.AWAITING_ACCEPTANCE}),
    ),
    Action.RETURN: (frozenset({S.AWAITING_ACCEPTANCE}), frozenset({S.RETURN_REQUESTED})),
    # return requested 退单待审
    Action.RETURN_UPHOLD: (frozenset({S.RETURN_REQUESTED}), frozenset({S.AWAITING_DISPATCH})),
    Action.RETURN_REJECT: (frozenset({S.RETURN_REQUESTED}), frozenset({S.AWAITING_ACCEPTANCE})),
    # in progress 办理中
    Action.DELEGATE: (frozenset({S.IN_PROGRESS}), frozenset({S.IN_PROGRESS})),
    Action.RECORD_CONTACT: (frozenset({S.IN_PROGRESS, S.SUSPENDED}), frozenset({S.IN_PROGRESS, S.SUSPENDED})),
    Action.EXTENSION_REQUEST: (frozenset({S.IN_PROGRESS}), frozenset({S.IN_PROGRESS})),
    Action.EXTENSION_APPROVE: (frozenset({S.IN_PROGRESS}), frozenset({S.IN_PROGRESS})),
    Action.EXTENSION_REFUSE: (
        frozenset({S.IN_PROGRESS, S.SUSPENDED}),
        frozenset({S.IN_PROGRESS, S.SUSPENDED}),
    ),
    Action.SUSPEND_REQUEST: (frozenset({S.IN_PROGRESS}), frozenset({S.IN_PROGRESS})),
    Action.SUSPEND_APPROVE: (frozenset({S.IN_PROGRESS}), frozenset({S.SUSPENDED})),
    Action.SUSPEND_REFUSE: (frozenset({S.IN_PROGRESS}), frozenset({S.IN_PROGRESS})),
    Action.ESCALATE: (frozenset({S.IN_PROGRESS}), frozenset({S.AWAITING_DISPATCH})),
    # a delegated child's or an assist's reply keeps the order in progress; the lead's goes to review
    Action.REPLY: (frozenset({S.IN_PROGRESS}), frozenset({S.IN_PROGRESS, S.AWAITING_REVIEW})),
    # suspended 挂账
    Action.RESUME: (frozenset({S.SUSPENDED}), frozenset({S.IN_PROGRESS})),
    # awaiting review 办结待审 (the parent unit reviews a delegated reply while in progress)
    Action.REVIEW_APPROVE: (
        frozenset({S.AWAITING_REVIEW, S.IN_PROGRESS}),
        frozenset({S.AWAITING_CALLBACK, S.IN_PROGRESS}),
    ),
    Action.REVIEW_SEND_BACK: (frozenset({S.AWAITING_REVIEW, S.IN_PROGRESS}), frozenset({S.IN_PROGRESS})),
    # awaiting callback 待回访 (unreached or dissatisfied: stays for another call or the dispatcher)
    Action.CALLBACK: (frozenset({S.AWAITING_CALLBACK}), frozenset({S.CLOSED, S.AWAITING_CALLBACK})),
    Action.REOPEN: (frozenset({S.AWAITING_CALLBACK, S.CLOSED}), frozenset({S.IN_PROGRESS})),
    Action.CLOSE: (frozenset({S.AWAITING_CALLBACK}), frozenset({S.CLOSED})),
    # merged 合并: the child's resident is called back once the parent has its answer
    Action.CALLBACK_MERGED: (frozenset({S.MERGED}), frozenset({S.MERGED})),
    # supervision: records, never moves the order
    Action.URGE: (
        frozenset(
            {S.AWAITING_DISPATCH, S.AWAITING_ACCEPTANCE, S.RETURN_REQUESTED, S.IN_PROGRESS, S.AWAITING_REVIEW}
        ),
        frozenset(
            {S.AWAITING_DISPATCH, S.AWAITING_ACCEPTANCE, S.RETURN_REQUESTED, S.IN_PROGRESS, S.AWAITING_REVIEW}
        ),
    ),
    Action.SUPERVISE: (
        frozenset(
            {S.AWAITING_DISPATCH, S.AWAITING_ACCEPTANCE, S.RETURN_REQUESTED, S.IN_PROGRESS, S.AWAITING_REVIEW}
        ),
        frozenset(
            {S.AWAITING_DISPATCH, S.AWAITING_ACCEPTANCE, S.RETURN_REQUESTED, S.IN_PROGRESS, S.AWAITING_REVIEW}
        ),
    ),
    # revealing the number: whoever may (orders.permissions) while the order is open
    Action.REVEAL_PHONE: (
        frozenset(s for s in S if s not in (S.CLOSED, S.MERGED, S.WITHDRAWN)),
        frozenset(s for s in S if s not in (S.CLOSED, S.MERGED, S.WITHDRAWN)),
    ),
}


def allowed(action: Action | str, source: str, target: str) -> bool:
    """Whether the table lets ``action`` move an order from ``source`` to ``target``."""
    entry = TRANSITIONS.get(Action(action))
    if entry is None:
        return False
    sources, targets = entry
    return source in sources and target in targets


def actions_from(source: str) -> list[Action]:
    """The actions the table allows from ``source`` (for pages: which buttons to show)."""
    return [action for action, (sources, _targets) in TRANSITIONS.items() if source in sources]


# --- assignments ----------------------------------------------------------------------------------


class AssignmentAction(models.TextChoices):
    ACCEPT = "accept", _("签收")
    RETURN = "return", _("申请退单")
    RETURN_UPHOLD = "return_uphold", _("同意退单")
    RETURN_REJECT = "return_reject", _("驳回退单")
    REPLY = "reply", _("反馈")
    REVIEW_APPROVE = "review_approve", _("审核通过")
    REVIEW_SEND_BACK = "review_send_back", _("退回重办")
    CANCEL = "cancel", _("取消")


A = AssignmentStatus

ASSIGNMENT_TRANSITIONS: dict[AssignmentAction, tuple[frozenset[AssignmentStatus], AssignmentStatus]] = {
    AssignmentAction.ACCEPT: (frozenset({A.PENDING}), A.ACCEPTED),
    AssignmentAction.RETURN: (frozenset({A.PENDING}), A.RETURN_REQUESTED),
    AssignmentAction.RETURN_UPHOLD: (frozenset({A.RETURN_REQUESTED}), A.RETURNED),
    AssignmentAction.RETURN_REJECT: (frozenset({A.RETURN_REQUESTED}), A.PENDING),
    AssignmentAction.REPLY: (frozenset({A.ACCEPTED}), A.REPLIED),
    AssignmentAction.REVIEW_APPROVE: (frozenset({A.REPLIED}), A.APPROVED),
    AssignmentAction.REVIEW_SEND_BACK: (frozenset({A.REPLIED}), A.ACCEPTED),
    # re-dispatch, escalation, merge, withdrawal, and the close of the round end every active one
    AssignmentAction.CANCEL: (frozenset(AssignmentStatus(s) for s in ASSIGNMENT_ACTIVE), A.CANCELLED),
}

# The top lead assignment's status in each order state that has one (DESIGN: "the order's state
# and holder always agree with its lead assignment chain").
LEAD_STATUS_FOR_ORDER: dict[OrderStatus, AssignmentStatus] = {
    S.AWAITING_ACCEPTANCE: A.PENDING,
    S.RETURN_REQUESTED: A.RETURN_REQUESTED,
    S.IN_PROGRESS: A.ACCEPTED,
    S.SUSPENDED: A.ACCEPTED,
    S.AWAITING_REVIEW: A.REPLIED,
}
