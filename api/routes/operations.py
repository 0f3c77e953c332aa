"""Operations: Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from api.auth import MetricsReader, ViewerKey
from api.deps import StoreDep
from collector.metrics import REGISTRY
from collector.metrics_db import render_store_metrics

router = APIRouter(tags=["operations"])
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(_: MetricsReader, store: StoreDep) -> PlainTextResponse:
    """Metrics in the Prometheus text format (admin keys or configured addresses)."""
    with store.engine.connect() as conn:
        body = render_store_metrics(conn)
    return PlainTextResponse(body + REGISTRY.render(), media_type=PROMETHEUS_TYPE)


@router.get("/openapi.json", include_in_schema=False)
def openapi(_: ViewerKey, request: Request) -> dict[str, Any]:
    """The OpenAPI document (for any valid key)."""
    return request.app.openapi()  # type: ignore[no-any-return]
