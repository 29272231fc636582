"""Administration: API keys (create, the token shown once; list; revoke) and the registered ranker
versions (list with the champion alias, one version's figures, promote, roll back).

Only an admin key without a region or agency scope may call these (a scoped admin could otherwise
mint itself an unscoped key, or change the ranker every region is served by): others get 403.
The web app's admin pages call the same functions (:func:`manager_or_403`, :func:`key_json`,
:func:`models_json`, :func:`registry_for`). Tokens are never logged; labels neither (a label may
be a person's name): the log names the key id and role.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError, responses
from sepadan.api.routes_records import COMMON, orjson_response
from sepadan.api.security import KeyDep
from sepadan.engine import Engine
from sepadan.errors import NotFound, SepadanError
from sepadan.store.keys import ApiKey, create_key, list_keys, revoke_key

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1")
REGION = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"  # a Kemendagri code, dotted (35, 35.08, 35.08.01)
LICENCE = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
KeyId = Annotated[str, PathParam(min_length=1, max_length=16, pattern=r"^[0-9a-f]+$")]
Version = Annotated[int, PathParam(ge=1, le=1_000_000)]


# -- bodies ---------------------------------------------------------------------------------------

class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"role": "officer", "regions": ["35"], "agency": None, "label": "Petugas Disnaker Lumajang"}]})
    role: Literal["admin", "officer", "planner", "portal"]
    regions: list[Annotated[str, Field(max_length=16, pattern=REGION)]] = Field(
        default_factory=list, max_length=50, description="Kemendagri codes the key may see; none: every region")
    agency: Annotated[str, Field(min_length=1, max_length=64, pattern=LICENCE)] | None = Field(
        None, description="the agency licence the key belongs to (its officers see its job orders only)")
    label: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="who or what holds the key")


class KeyOut(BaseModel):
    id: str
    role: str
    regions: list[str]
    agency: str | None
    label: str | None
    created_at: datetime | None
    revoked_at: datetime | None


class KeyList(BaseModel):
    items: list[KeyOut]


class KeyCreated(BaseModel):
    key: KeyOut
    token: str = Field(description="the key itself: shown in this answer only (the store keeps its hash)")


class VersionRow(BaseModel):
    version: int
    label: str
    aliases: list[str]
    created: str
    ndcg_at_10: float | None = Field(description="NDCG@10 on its held-out vacancies")
    compared_with: str | None
    compared_ndcg_at_10: float | None
    decision: str | None
    skew_at_10_gender_max_abs: float | None
    skew_at_10_province_max_abs: float | None


class ModelList(BaseModel):
    champion: int | None
    previous_champion: int | None
    history: list[int] = Field(description="champions in the order they were promoted; the last one serves")
    versions: list[VersionRow]


class ModelReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: str
    aliases: list[str]
    created: str
    decision: str | None
    reason: str | None
    compared_with: str | None
    data_digest: str | None
    metrics: dict[str, dict[str, float]]
    fairness: dict[str, dict[str, float]]
    fairness_cv: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="fairness figures cross-validated over all vacancies, per system (ranker, "
                                          "transparent): what the promotion rule judges where the run has them")
    hire_rates: dict[str, float]
    differences: dict[str, float]
    weights: dict[str, float]
    directions: dict[str, float]


# -- shared with the web app ------------------------------------------------------------------------

def may_manage(key: ApiKey) -> bool:
    """An admin key without a region or agency scope."""
    return key.role == "admin" and not key.regions and key.agency is None


def manager_or_403(key: ApiKey) -> None:
    if not may_manage(key):
        raise ProblemError(403, "only an admin key without region or agency scope may manage keys and models")


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))


def key_json(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "role": key.role, "regions": list(key.regions), "agency": key.agency,
            "label": key.label, "created_at": _utc(key.created_at), "revoked_at": _utc(key.revoked_at)}


def new_key(engine: Engine, by: ApiKey, body: KeyIn) -> tuple[ApiKey, str]:
    """Create a key (the caller hands the token over once)."""
    try:
        key, token = create_key(engine.store, body.role, regions=tuple(body.regions), agency=body.agency,
                                label=body.label)
    except ValueError as exc:
        raise ProblemError(422, "the key was not created", errors=[{"field": "body.regions", "message": str(exc)}]) from exc
    log.info("key %s (%s) created by key %s", key.id, key.role, by.id)
    return key, token


def end_key(engine: Engine, by: ApiKey, key_id: str) -> None:
    """Revoke a live key: its web sessions end at once, its API use within the key cache's 10 s."""
    try:
        revoke_key(engine.store, key_id)
    except NotFound as exc:
        raise ProblemError(404, f"no live key '{key_id}'") from exc
    log.info("key %s revoked by key %s", key_id, by.id)


def registry_for(engine: Engine) -> Any:
    from sepadan.models.registry import Registry

    settings = engine.settings
    return Registry.for_home(settings.home, settings.mlflow_tracking_uri)


def models_json(registry: Any) -> dict[str, Any]:
    """Every version, newest first, with aliases and held-out figures (as ``sepadan models list``)."""
    from sepadan.models.registry import PREVIOUS
    from sepadan.models.training import PRIMARY

    versions = registry.versions()  # [] without a tracking store (none is created by asking)
    if not versions:
        return {"champion": None, "previous_champion": None, "history": [], "versions": []}
    rows = [{"version": v.version, "label": v.label, "aliases": list(v.aliases),
             "created": v.created.isoformat(timespec="seconds"), PRIMARY: v.metrics.get(f"ranker/{PRIMARY}"),
             "compared_with": v.run_tags.get("compared_with"),
             f"compared_{PRIMARY}": v.metrics.get(f"champion/{PRIMARY}"), "decision": v.run_tags.get("decision"),
             "skew_at_10_gender_max_abs": v.metrics.get("ranker/skew_at_10/gender/max_abs"),
             "skew_at_10_province_max_abs": v.metrics.get("ranker/skew_at_10/province/max_abs")} for v in versions]
    return {"champion": registry.champion_version(), "previous_champion": registry.alias_version(PREVIOUS),
            "history": registry.history(), "versions": rows}


def version_json(engine: Engine, version: int) -> dict[str, Any]:
    """:func:`sepadan.models.registry.version_report`, or 404."""
    from sepadan.models.registry import version_report

    if not registry_for(engine).exists():
        raise ProblemError(404, "no ranker is registered")
    try:
        return version_report(engine.settings, version)
    except NotFound as exc:
        raise ProblemError(404, str(exc)) from exc


def promote_version(engine: Engine, by: ApiKey, version: int) -> dict[str, Any]:
    registry = registry_for(engine)
    if not registry.exists():
        raise ProblemError(404, "no ranker is registered")
    try:
        registry.promote(version, reason=f"promoted by hand (admin key {by.id})")
    except NotFound as exc:
        raise ProblemError(404, str(exc)) from exc
    log.info("champion moved to version %s by key %s", version, by.id)
    return models_json(registry)


def roll_back(engine: Engine, by: ApiKey) -> dict[str, Any]:
    registry = registry_for(engine)
    if not registry.exists():
        raise ProblemError(404, "no ranker is registered")
    try:
        registry.rollback()
    except NotFound as exc:
        raise ProblemError(404, str(exc)) from exc
    except SepadanError as exc:  # no previous champion
        raise ProblemError(409, str(exc)) from exc
    log.info("champion rolled back by key %s", by.id)
    return models_json(registry)


# -- the routes ---------------------------------------------------------------------------------------

TAGS = ["admin"]


@router.get("/keys", name="list_keys", tags=TAGS, response_model=KeyList, responses=responses(*COMMON, 422),
            summary="API keys: id, role, regions, agency, label, created, revoked (never the keys themselves)")
def keys_(key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    return orjson_response({"items": [key_json(k) for k in list_keys(engine.store)]})


@router.post("/keys", name="create_key", tags=TAGS, status_code=201, response_model=KeyCreated,
             responses=responses(*COMMON, 400, 413, 422), summary="Create an API key; the token is in this answer only")
def create(body: KeyIn, key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    made, token = new_key(engine, key, body)
    return orjson_response({"key": key_json(made), "token": token}, 201)


@router.delete("/keys/{id}", name="revoke_key", tags=TAGS, status_code=204, response_class=Response,
               responses=responses(*COMMON, 404, 422),
               summary="Revoke a key: its web sessions end at once, API calls within 10 seconds")
def revoke(id: KeyId, key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    end_key(engine, key, id)
    return Response(status_code=204)


@router.get("/models", name="list_models", tags=TAGS, response_model=ModelList, responses=responses(*COMMON, 422),
            summary="Registered ranker versions, newest first, with the champion alias and held-out figures")
def models(key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    return orjson_response(models_json(registry_for(engine)))


@router.post("/models/rollback", name="rollback_model", tags=TAGS, response_model=ModelList,
             responses=responses(*COMMON, 404, 409, 413, 422),
             summary="Move the champion alias back to the previous champion")
def rollback(key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    return orjson_response(roll_back(engine, key))


@router.get("/models/{version:int}", name="get_model", tags=TAGS, response_model=ModelReport,
            responses=responses(*COMMON, 404, 422),
            summary="One version's held-out metrics, fairness figures, hire rates, weights and promotion decision")
def model(version: Version, key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    return orjson_response(version_json(engine, version))


@router.post("/models/{version:int}/promote", name="promote_model", tags=TAGS, response_model=ModelList,
             responses=responses(*COMMON, 404, 413, 422),
             summary="Make a version the champion; the current one becomes previous-champion")
def promote(version: Version, key: KeyDep, engine: EngineDep) -> Response:
    manager_or_403(key)
    return orjson_response(promote_version(engine, key, version))
