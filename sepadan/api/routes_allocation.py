"""Allocations across job orders: ``POST /v1/allocations`` makes (and keeps) one, ``GET`` reopens it.

Scoped like the shortlist: an officer's allocation proposes only workers of the key's regions, and
a key of an agency allocates that agency's job orders; reopening shows a key only the workers and
job orders it may see. Worker ids and regions only, never names or NIKs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict
from starlette.responses import Response

from sepadan.allocate import WHY, Allocation, Quota, Request, allocate
from sepadan.allocation_report import allocation_json
from sepadan.allocation_store import from_doc, store_allocation
from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError, responses
from sepadan.api.routes_records import COMMON, IdPath, orjson_response
from sepadan.api.schemas import JsonDate
from sepadan.api.security import KeyDep
from sepadan.store.allocations import AllocationLocked, latest, load
from sepadan.store.keys import ApiKey, audit

router = APIRouter(prefix="/v1", tags=["matching"])
REGION = r"^\d{2}(\.\d{2}){0,3}$"
FORBID = ConfigDict(extra="forbid", strict=True, populate_by_name=False)
Lang = Annotated[Literal["id", "en"], Query(description="language of reasons and explanations")]


def _integer(value: Any) -> Any:
    """A JSON integer, which may be written 5.0 (as the record bodies allow), never true or "5"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("Input should be a valid integer")
    return value


def _int(low: int, high: int, description: str | None = None) -> Any:
    return Annotated[int, Field(ge=low, le=high, description=description), Strict(False), BeforeValidator(_integer)]


class QuotaIn(BaseModel):
    model_config = FORBID
    region: Annotated[str, Field(pattern=REGION, max_length=16, description="Kemendagri code, e.g. 53.01")]
    at_least: _int(0, 100_000)


class AllocationIn(BaseModel):
    """What to allocate: the open job orders of a region and a period, with the capacities."""

    model_config = ConfigDict(**FORBID, json_schema_extra={"examples": [
        {"region": "35", "from": "2026-11-01", "to": "2027-01-31", "proposals_per_worker": 1,
         "candidates_per_position": 2, "k": 10, "objective": "cover", "quotas": [{"region": "35.08", "at_least": 2}]}]})
    region: Annotated[str | None, Field(pattern=REGION, max_length=16)] = None
    start: Annotated[JsonDate | None, Field(alias="from", description="first day of the period (default today)")] = None
    to: Annotated[JsonDate | None, Field(description="last day a course may start (the one-course-away hints)")] = None
    proposals_per_worker: _int(1, 50) = 1
    candidates_per_position: _int(1, 20) = 2
    k: _int(1, 200, "candidates considered per job order") = 10
    objective: Literal["cover", "score"] = "cover"
    quotas: Annotated[list[QuotaIn], Field(max_length=20)] = []
    replace: Annotated[str | None, Field(min_length=1, max_length=40, description="an allocation id to replace "
                                                                                  "(409 if it has recorded outcomes)")] = None

    def to_request(self, key: ApiKey) -> Request:
        return Request(self.region, _as_date(self.start), _as_date(self.to), self.proposals_per_worker,
                       self.candidates_per_position, self.k, self.objective,
                       tuple(Quota(q.region, q.at_least) for q in self.quotas), key.regions, key.agency)


def _as_date(value: Any) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))


class ProposalOut(BaseModel):
    worker_id: str
    region: str | None
    rank: int
    score: float
    reasons: list[str]


class ConsideredOut(BaseModel):
    worker_id: str
    region: str | None
    score: float
    rank: int
    proposed_to: list[str] = Field(description="the job orders this worker was proposed to instead")


class OrderOut(BaseModel):
    vacancy_id: str
    title: str
    country: str | None
    agency: str | None
    positions: int
    slots: int
    allocated: list[ProposalOut]
    also_considered: list[ConsideredOut]


class CourseOut(BaseModel):
    training_id: str
    title: str
    provider: str | None
    region: str | None
    next_start: str | None
    workers: int = Field(description="workers of the region this one course makes eligible in time")
    free: int = Field(description="of them, those the allocation proposes nowhere")


class UnfilledOut(BaseModel):
    vacancy_id: str
    title: str
    positions: int
    unfilled: int
    why: Literal[WHY]  # type: ignore[valid-type]
    why_text: str
    taken_by: list[str]
    courses: list[CourseOut]


class IdleOut(BaseModel):
    worker_id: str
    region: str | None
    considered_for: list[str]
    best_score: float


class ProposalsOut(BaseModel):
    proposals: int
    distinct_workers: int
    positions_covered: int
    positions_fillable: int = Field(description="at most this many positions filled if each worker takes one job")
    most_orders_per_worker: int
    total_score: float


class QuotaOut(BaseModel):
    region: str
    at_least: int
    proposals: int


class AllocationOut(BaseModel):
    id: str | None = Field(description="null when there was nothing to allocate (then see message)")
    created_at: str | None
    replaces: str | None
    model_version: str
    fingerprint: str
    as_of: str
    lang: str
    request: dict[str, Any]
    method: str
    objective: str
    summary: dict[str, float]
    allocated: ProposalsOut
    independent: ProposalsOut = Field(description="each job order proposing its own top candidates")
    quotas: list[QuotaOut]
    orders: list[OrderOut]
    unfilled: list[UnfilledOut]
    unallocated: list[IdleOut]
    message: str | None = None


@router.post("/allocations", name="create_allocation", response_model=AllocationOut, status_code=201,
             responses={200: {"model": AllocationOut, "description": "no open job orders: nothing stored"},
                        **responses(*COMMON, 400, 404, 409, 413, 422)},
             summary="Allocate workers across the open job orders of a region (kept under a new id)")
def create_allocation(body: AllocationIn, key: KeyDep, engine: EngineDep, lang: Lang = "id") -> Response:
    a = allocate(engine, body.to_request(key))
    if a.empty:
        out = allocation_json(a, lang=lang) | {"message": "no open job orders in this region and period"}
        return orjson_response(out, status=200)
    try:
        a = store_allocation(engine, a, created_by=key.id, replace_id=body.replace)
    except AllocationLocked as exc:
        raise ProblemError(409, str(exc)) from None
    return _answer(engine, key, a, lang, "create_allocation", status=201)


@router.get("/allocations/{id}", name="get_allocation", response_model=AllocationOut,
            responses=responses(*COMMON, 404, 422),
            summary="Reopen a stored allocation (``latest``: the most recent one)")
def get_allocation(id: IdPath, key: KeyDep, engine: EngineDep, lang: Lang = "id") -> Response:
    stored = latest(engine.store) if id == "latest" else load(engine.store, id)
    if stored is None:
        raise ProblemError(404, "no allocation stored yet")
    return _answer(engine, key, visible_part(from_doc(stored.doc), key), lang, "get_allocation")


def visible_part(a: Allocation, key: ApiKey) -> Allocation:
    """What a key may see of an allocation: job orders of its agency (if it has one), workers of its
    regions."""
    def order_ok(agency: str | None) -> bool:
        return key.agency is None or agency == key.agency

    views = tuple(replace(v, allocated=tuple(p for p in v.allocated if key.sees_region(p.region)),
                          considered=tuple(c for c in v.considered if key.sees_region(c.region)))
                  for v in a.views if order_ok(v.agency))
    shown = {v.vacancy_id for v in views}
    return replace(a, views=views, unfilled=tuple(u for u in a.unfilled if u.vacancy_id in shown),
                   idle=tuple(i for i in a.idle if key.sees_region(i.region)))


def _answer(engine: Any, key: ApiKey, a: Allocation, lang: str, route: str, status: int = 200) -> Response:
    body = allocation_json(a, lang=lang)
    workers = sorted({p.worker_id for v in a.views for p in v.allocated} | {c.worker_id for v in a.views
                                                                             for c in v.considered})
    audit(engine.store, key.id, "read", "workers", workers, route)
    return orjson_response(body, status=status)
