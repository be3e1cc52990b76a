"""The HTTP API: one NinjaAPI, each app contributes a router."""

from __future__ import annotations

from ninja import NinjaAPI

from assessment.api import router as assessment_router
from intake.api import calls_router, order_rating_router, public_router
from orders.api import register_error_handlers
from orders.api import router as orders_router
from whistles.api import router as whistles_router

api = NinjaAPI(title="Minhu API", version="1", urls_namespace="api")
register_error_handlers(api)
api.add_router("/orders", orders_router)
api.add_router("/orders", order_rating_router)  # intake's reads of an order (orders knows no intake)
api.add_router("/calls", calls_router)
api.add_router("/public", public_router)
api.add_router("/whistles", whistles_router)
api.add_router("/assessment", assessment_router)


@api.get("/health", auth=None, summary="Liveness check")
def health(request: object) -> dict[str, str]:
    return {"status": "ok"}
