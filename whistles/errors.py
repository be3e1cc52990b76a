"""Domain errors of 吹哨报到. Each carries a Chinese message for the user (UI and API).

HTTP mapping (``whistles.api``): ``WhistleError`` → 400, ``TransitionNotAllowed`` and
``StaleTransition`` → 409, ``NotFound`` → 404; ``django.core.exceptions.PermissionDenied`` → 403.
A service that raises any of these has changed nothing (it runs in one transaction).
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class WhistleError(Exception):
    """A refused action; ``message`` is Chinese, ``code`` a stable machine-readable name,
    ``field`` the input the message is about (forms put it beside that field)."""

    code = "whistle_error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


class TransitionNotAllowed(WhistleError):  # noqa: N818 -- the name STYLE.md gives it
    """The whistle, summons or task is not in a state this action starts from."""

    code = "transition_not_allowed"
    status = 409

    def __init__(self, message: str | None = None, *, action: str = "", status: str = "") -> None:
        self.action = action
        self.current = status
        super().__init__(message or _("当前状态不允许此操作。"))


class StaleTransition(WhistleError):  # noqa: N818 -- the name STYLE.md gives it
    """Someone else changed the row first (the conditional update matched no row)."""

    code = "stale_transition"
    status = 409

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("已被他人处理，请刷新后重试。"))


class InvalidInput(WhistleError):  # noqa: N818 -- reads like its siblings
    """A value the action cannot take (a missing title, a unit that cannot be summoned …)."""

    code = "invalid_input"


class NotFound(WhistleError):  # noqa: N818 -- reads like its siblings
    code = "not_found"
    status = 404
