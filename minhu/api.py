"""The HTTP API: one NinjaAPI, each app contributes a router."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Minhu API", version="1", urls_namespace="api")


@api.get("/health", auth=None, summary="Liveness check")
def health(request: object) -> dict[str, str]:
    return {"status": "ok"}
