"""Health, version, Prometheus metrics, and the planners' aggregate view."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version as package_version
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from sepadan.api.deps import EngineDep, StateDep
from sepadan.api.problems import problem, responses
from sepadan.api.routes_records import COMMON, orjson_response
from sepadan.api.schemas import Health, Version
from sepadan.api.security import KeyDep

router = APIRouter()


@router.get("/v1/health", name="health", response_model=Health, tags=["system"],
            responses=responses(503),
            summary="Ready only when the store, the model and the indexes are")
def health(state: StateDep) -> Response:
    engine = state.engine
    loaded = state.ready and "matcher" in engine.__dict__
    store_ok = True
    try:
        engine.store.count("agencies")
    except Exception:  # noqa: BLE001 - reported, not raised
        store_ok = False
    parts = {"store": store_ok, "model": "encoder" in engine.__dict__, "indexes": loaded}
    if loaded and store_ok:
        return orjson_response({"status": "ready", **parts, "detail": None})
    phase = "failed" if state.status == "failed" else "loading"
    # not ready: a problem (RFC 9457) whose extension members say which part is missing
    return problem(503, f"not ready: {phase}" + (f" ({state.detail})" if state.detail else ""),
                   instance="/v1/health", extra={"phase": phase, **parts}, headers={"Retry-After": "5"})


@router.get("/v1/version", name="version", response_model=Version, tags=["system"],
            summary="Package, model, ranker and index sizes and build times")
def version_(state: StateDep) -> Response:
    engine = state.engine
    matcher = engine.__dict__.get("matcher")
    indexes = {}
    for side, st in engine.index_status.items():
        m = st.manifest
        indexes[side] = {"rows": m.count, "kind": m.kind, "built_at": m.built_at, "build_seconds": m.build_seconds}
    encoder = engine.__dict__.get("encoder")
    return orjson_response({"package": _package_version(), "model": encoder.name if encoder else None,
                            "ranker": matcher.model_version if matcher else None, "indexes": indexes})


@router.get("/metrics", name="metrics", tags=["system"], response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text format"}},
            summary="Prometheus metrics")
def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(state.engine), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/planning/gaps", name="demand_gaps", tags=["planning"], responses=responses(*COMMON, 422),
            summary="Aggregates for planners: demand against supply and the gap table of a region (no personal data)")
def demand_gaps(key: KeyDep, engine: EngineDep, state: StateDep,
                region: Annotated[str | None, Query(max_length=16, pattern=r"^\d{2}(\.\d{2}){0,3}$")] = None,
                lang: Annotated[Literal["id", "en"], Query()] = "en",
                rows: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    from dataclasses import asdict

    from sepadan.planning.demand import Scope, gap_report, market

    summary, table = state.derived(("gaps", region, lang), lambda: gap_report(market(engine), Scope(region=region),
                                                                          lang=lang))
    return orjson_response({"region": region, "summary": asdict(summary),
                            "rows": [{k: v for k, v in asdict(r).items() if k != "with_plan"} for r in table[:rows]]})


@cache
def _package_version() -> str:
    """The installed package's version, read once (the metadata lookup scans the path: ~1 ms)."""
    try:
        return package_version("sepadan")
    except PackageNotFoundError:
        return "unknown"
