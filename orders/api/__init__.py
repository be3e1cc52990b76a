"""The orders HTTP API: the staff router (``orders.api.orders``) and the one exception handler
(``orders.api.errors``), mounted by ``minhu.api``."""

from __future__ import annotations

from orders.api.errors import register_error_handlers
from orders.api.orders import router

__all__ = ["register_error_handlers", "router"]
