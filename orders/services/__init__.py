"""Every write of the work-order loop: one function per action (STYLE.md rules 2, 3, 6).

Each is keyword-only, takes ``actor`` and ``now``, runs in one transaction, checks permission
(``django.core.exceptions.PermissionDenied``) and state (``orders.errors.TransitionNotAllowed``),
guards concurrency (``orders.errors.StaleTransition``), appends an ``OrderEvent``, recomputes
deadlines and writes outbox rows. The modules group them by step of the loop; import from here.
"""

from __future__ import annotations

from orders.services.dispatch import (
    order_close,
    order_dispatch,
    order_escalate,
    order_reopen,
    order_return_reject,
    order_return_uphold,
)
from orders.services.exports import (
    order_export_decide,
    order_export_download,
    order_export_request,
    order_exports_expire,
)
from orders.services.handling import (
    order_accept,
    order_delegate,
    order_extension_approve,
    order_extension_refuse,
    order_extension_request,
    order_record_contact,
    order_reply,
    order_resume,
    order_return,
    order_reveal_phone,
    order_suspend_approve,
    order_suspend_refuse,
    order_suspend_request,
)
from orders.services.intake import (
    BatchEntry,
    allocate_number,
    allocate_numbers,
    order_answer_directly,
    order_create,
    order_create_batch,
    order_merge,
    order_submit,
    order_withdraw,
)
from orders.services.review import (
    order_callback,
    order_callback_merged,
    order_review_approve,
    order_review_send_back,
)
from orders.services.supervision import (
    SweepResult,
    deadline_sweep,
    order_recompute_deadlines,
    order_supervise,
    order_urge,
    orders_recompute_for_calendar,
    replay_order,
)

__all__ = [
    "SweepResult",
    "BatchEntry",
    "allocate_number",
    "allocate_numbers",
    "deadline_sweep",
    "order_accept",
    "order_answer_directly",
    "order_callback",
    "order_callback_merged",
    "order_close",
    "order_create",
    "order_create_batch",
    "order_delegate",
    "order_dispatch",
    "order_escalate",
    "order_export_decide",
    "order_export_download",
    "order_export_request",
    "order_exports_expire",
    "order_extension_approve",
    "order_extension_refuse",
    "order_extension_request",
    "order_merge",
    "order_recompute_deadlines",
    "order_record_contact",
    "order_reopen",
    "order_reply",
    "order_resume",
    "order_return",
    "order_return_reject",
    "order_return_uphold",
    "order_reveal_phone",
    "order_review_approve",
    "order_review_send_back",
    "order_submit",
    "order_supervise",
    "order_suspend_approve",
    "order_suspend_refuse",
    "order_suspend_request",
    "order_urge",
    "order_withdraw",
    "orders_recompute_for_calendar",
    "replay_order",
]


def __getattr__(name: str) -> object:
    """``attachment_add`` lives with the upload pipeline in ``orders.attachments`` (Pillow
    re-encoding); it is importable from here too, lazily, so this package never needs Pillow."""
    if name == "attachment_add":
        from orders.attachments import attachment_add

        return attachment_add
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
