"""Domain errors of the loop. Each carries a Chinese message for the user (UI and API).

Map them to HTTP in one place: ``OrderError`` → 400 (``TransitionNotAllowed`` → 409,
``StaleTransition`` → 409, ``RateLimited`` → 429); ``django.core.exceptions.PermissionDenied`` → 403.
A service that raises any of these has changed nothing (it runs in one transaction).
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class OrderError(Exception):
    """A refused action; ``message`` is Chinese, ``code`` is a stable machine-readable name."""

    code = "order_error"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TransitionNotAllowed(OrderError):  # noqa: N818 -- the name STYLE.md gives it
    """The order (or assignment) is not in a state this action starts from."""

    code = "transition_not_allowed"

    def __init__(self, message: str | None = None, *, action: str = "", status: str = "") -> None:
        self.action = action
        self.status = status
        super().__init__(message or _("工单当前状态不允许此操作。"))


class StaleTransition(OrderError):  # noqa: N818 -- the name STYLE.md gives it
    """Someone else changed the order first (the conditional update matched no row)."""

    code = "stale_transition"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("工单已被他人处理，请刷新后重试。"))


class InvalidInput(OrderError):  # noqa: N818 -- reads like its siblings
    """A value the action cannot take (a missing reason, a unit outside the tree …)."""

    code = "invalid_input"


class InvalidBatch(InvalidInput):
    """Entries of a batch registration that cannot be taken: ``problems`` holds (index, message)
    for each, and nothing was written."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "；".join(_("第%(n)d条：%(m)s") % {"n": i + 1, "m": m} for i, m in problems[:5])
        more = _("等%(n)d条有误。") % {"n": len(problems)} if len(problems) > 5 else ""
        super().__init__(shown + more)


class RateLimited(OrderError):  # noqa: N818 -- reads like its siblings
    """Too many attempts of a limited action (phone reveals)."""

    code = "rate_limited"
