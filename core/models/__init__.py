from core.models.audit import AuditChainHead, AuditCheckpoint, AuditEvent
from core.models.calendar import CalendarDay, CalendarState, CalendarYear
from core.models.user import ApiToken, PasswordHistory, User, UserSession

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "CalendarDay",
    "CalendarState",
    "CalendarYear",
    "PasswordHistory",
    "User",
    "UserSession",
]
