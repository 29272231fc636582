"""Shortlists, recommendations, explanations, and matching a portal's unstored profile."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sepadan.allocation_store import exclusive_shortlist, mark_json
from sepadan.api.deps import EngineDep, MatcherDep
from sepadan.api.problems import ProblemError, responses
from sepadan.api.routes_records import COMMON, IdPath, orjson_response, stored_or_404
from sepadan.api.schemas import Explanation, MatchOut, ProfileBody, Recommendations, Shortlist
from sepadan.api.security import KeyDep
from sepadan.matching.messages import render
from sepadan.matching.output import match_json, match_list_json
from sepadan.models.explain import explain_parts
from sepadan.store.keys import ApiKey, audit, audit_now

router = APIRouter(prefix="/v1", tags=["matching"])
Lang = Annotated[Literal["id", "en"], Query(description="language of reasons and gaps")]
Scope = Annotated[Literal["overseas", "domestic", "all"], Query()]
Country = Annotated[str | None, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$",
                                      description="ISO 3166-1 alpha-2, e.g. JP")]
Region = Annotated[str | None, Query(max_length=16, pattern=r"^\d{2}(\.\d{2}){0,3}$",
                                     description="Kemendagri code, e.g. 35 or 35.08")]


@router.get("/vacancies/{id}/shortlist", name="shortlist", response_model=Shortlist,
            responses=responses(*COMMON, 404, 422),
            summary="The best eligible workers for a job order, with reasons and gaps")
async def shortlist(id: IdPath, key: KeyDep, engine: EngineDep, matcher: MatcherDep,
                    k: Annotated[int, Query(ge=1, le=200)] = 30, region: Region = None,
                    include_ineligible: bool = False, lang: Lang = "id",
                    exclusive: Annotated[bool, Query(description="leave out workers the latest allocation proposes "
                                                                 "elsewhere; each result says how many other job "
                                                                 "orders it is proposed to")] = False) -> Response:
    """Computed on the event loop where that is known to be quick (:class:`OnLoop`), else in the
    thread pool; its audit lines are committed before the answer is sent either way. With
    ``exclusive`` (it reads the latest allocation from the store) always in the thread pool."""
    options = {"k": k, "region": region, "lang": lang, "include_ineligible": include_ineligible}
    if exclusive:
        return orjson_response(await run_in_threadpool(
            lambda: shortlist_answer(engine, matcher, key, id, exclusive=True, **options)))
    memo = (_identity(matcher), id, key.id, *options.values())
    body = await ON_LOOP.run(memo, lambda: shortlist_body(engine, matcher, key, id, **options),
                             commit_now=lambda b: audit_now(engine.store, key.id, *_shown(b)),
                             commit=lambda b: audit(engine.store, key.id, *_shown(b)))
    return orjson_response(body)


def _shown(body: dict[str, Any]) -> tuple[str, str, list[str], str]:
    """The audit line's action, kind, record ids and route for a shortlist's answer."""
    return "read", "workers", [r["worker_id"] for r in body["results"]], "shortlist"


class OnLoop:
    """Which shortlists are computed on the event loop, without the hand-off to a thread and back
    (issue 15: at 5,000 workers the two hops were about a fifth of what HTTP added): one whose last
    computation in this process (same matcher, vacancy, key and options) took under ``max_s``,
    while no other shortlist of this process is in flight. Any other (a vacancy's first, a cold
    mask at a million workers, one of several at once) runs in the thread pool, so the loop, and
    with it every other request of the process (/v1/health too), is held back about ``max_s`` at
    most, and concurrent shortlists still overlap where NumPy and FAISS release the GIL. A wrong
    guess costs time, never a different answer. Its lines are committed on the loop when that
    needs no waiting (``commit_now`` answers True), else in the thread pool."""

    def __init__(self, max_s: float = 0.010, max_entries: int = 4096) -> None:
        self.max_s, self.max_entries = max_s, max_entries
        self._last: OrderedDict[tuple, float] = OrderedDict()  # memo -> seconds its last computation took
        self._in_flight = 0
        self._lock = threading.Lock()  # several loops (tests' clients) may share this object

    async def run(self, memo: tuple, compute: Callable[[], Any], *, commit_now: Callable[[Any], bool],
                  commit: Callable[[Any], None]) -> Any:
        seconds = None
        try:
            if self._enter(memo):
                body, seconds = _timed(compute)
                if not commit_now(body):
                    await run_in_threadpool(commit, body)
            else:
                body, seconds = await run_in_threadpool(_timed, compute, then=commit)
            return body
        finally:
            self._leave(memo, seconds)

    def _enter(self, memo: tuple) -> bool:
        """True: compute this one on the loop."""
        with self._lock:
            alone, self._in_flight = self._in_flight == 0, self._in_flight + 1
            last = self._last.get(memo)
        return alone and last is not None and last < self.max_s

    def _leave(self, memo: tuple, seconds: float | None) -> None:
        with self._lock:
            self._in_flight -= 1
            if seconds is not None:
                self._last[memo] = seconds
                self._last.move_to_end(memo)
                while len(self._last) > self.max_entries:
                    self._last.popitem(last=False)


def _timed(compute: Callable[[], Any], *, then: Callable[[Any], None] | None = None) -> tuple[Any, float]:
    """``compute()`` and the seconds it took; ``then`` (the audit) run on the result, not timed."""
    started = time.perf_counter()
    body = compute()
    seconds = time.perf_counter() - started
    if then is not None:
        then(body)
    return body, seconds


def _identity(matcher: Any) -> int:
    """A matcher's identity (the route's parameter ``id`` hides the builtin): a write swaps in a
    new matcher, whose costs are its own."""
    return id(matcher)


ON_LOOP = OnLoop()


def shortlist_answer(engine: Any, matcher: Any, key: ApiKey, vacancy_id: str, *, k: int = 30,
                     region: str | None = None, include_ineligible: bool = False, lang: str = "id",
                     exclusive: bool = False) -> dict[str, Any]:
    """The shortlist route's answer, without HTTP: :func:`shortlist_body`, and an audit line for
    each worker shown, committed before this returns."""
    body = shortlist_body(engine, matcher, key, vacancy_id, k=k, region=region, lang=lang,
                          include_ineligible=include_ineligible, exclusive=exclusive)
    audit(engine.store, key.id, "read", "workers", [r["worker_id"] for r in body["results"]], "shortlist")
    return body


def shortlist_body(engine: Any, matcher: Any, key: ApiKey, vacancy_id: str, *, k: int = 30,
                   region: str | None = None, include_ineligible: bool = False, lang: str = "id",
                   exclusive: bool = False) -> dict[str, Any]:
    """The shortlist route's body, not yet audited: the vacancy checked against the key (404),
    the shortlist and the workers' names. ``engine`` needs only ``store`` and ``personal``."""
    vacancy = engine.store.get_unchanged("vacancies", vacancy_id)  # read again only after a write
    if vacancy is None or (key.agency is not None and vacancy.get("agency_licence") != key.agency):
        raise ProblemError(404, f"vacancy '{vacancy_id}' not found")
    if vacancy_id not in matcher.vacancies.positions:
        raise ProblemError(404, f"vacancy '{vacancy_id}' not found")
    options = {"k": k, "region": region, "include_ineligible": include_ineligible, "within": key.regions}
    ml, ex = exclusive_shortlist(matcher, engine.store, vacancy_id, **options) if exclusive else (
        matcher.shortlist(vacancy_id, **options), None)
    # a worker erased by another process since this matcher was built is not shown
    names = engine.personal.names_of([m.worker_id for m in ml.results])
    body = match_list_json(ml, lang=lang, describe=lambda w: {"name": names.get(w),
                                                               "region": _region_of(matcher, w)})
    body["results"] = [r for r in body["results"] if r["worker_id"] in names]
    return mark_json(body, ex) if ex is not None else body


@router.get("/workers/{id}/recommendations", name="recommend_for_worker", response_model=Recommendations,
            responses=responses(*COMMON, 404, 422),
            summary="The best vacancies for a stored worker (licensed agencies only by default)")
def recommendations(id: IdPath, key: KeyDep, engine: EngineDep, matcher: MatcherDep, scope: Scope = "all",
                    country: Country = None, k: Annotated[int, Query(ge=1, le=200)] = 10,
                    include_flagged: bool = False, lang: Lang = "id") -> Response:
    stored_or_404(engine, key, "workers", id)
    if id not in matcher.workers.positions:
        raise ProblemError(404, f"worker '{id}' not found")
    ml = matcher.recommend(id, scope=scope, country=country.upper() if country else None, k=k,
                           include_flagged=include_flagged)
    audit(engine.store, key.id, "read", "workers", [id], "recommend_for_worker")
    return orjson_response(match_list_json(ml, lang=lang, describe=lambda v: _vacancy_view(matcher, v)))


@router.get("/workers/{id}/explain/{vacancy_id}", name="explain_pair", response_model=Explanation,
            responses=responses(*COMMON, 404, 422), summary="Every rule and score component for one pair")
def explain(id: IdPath, vacancy_id: IdPath, key: KeyDep, engine: EngineDep, matcher: MatcherDep,
            lang: Lang = "id") -> Response:
    stored_or_404(engine, key, "workers", id)
    stored_or_404(engine, key, "vacancies", vacancy_id)
    if id not in matcher.workers.positions or vacancy_id not in matcher.vacancies.positions:
        raise ProblemError(404, "not found")
    match = matcher.explain(id, vacancy_id)
    checks = matcher.checks(id, vacancy_id)
    audit(engine.store, key.id, "read", "workers", [id], "explain_pair")
    return orjson_response({"worker_id": id, "model_version": matcher.model_version,
                            **match_json(match, lang=lang, key="vacancy_id"), "eligible": match.eligible,
                            "checks": [{"rule": c.rule, "ok": c.ok, "hard": c.hard,
                                        "message": render(c.key, c.params, lang)} for c in checks],
                            **explain_parts(matcher, id, vacancy_id)})


@router.post("/match", name="match_profile", response_model=MatchOut,
             responses=responses(*COMMON, 400, 413, 422),
             summary="Vacancies for a worker profile sent by a portal; the profile is not stored")
def match(body: ProfileBody, key: KeyDep, engine: EngineDep, matcher: MatcherDep, scope: Scope = "all",
          country: Country = None, k: Annotated[int, Query(ge=1, le=200)] = 10, lang: Lang = "id") -> Response:
    record = body.to_record()
    ml = engine.match_unstored(record, scope=scope, country=country.upper() if country else None, k=k)
    listed = match_list_json(ml, lang=lang, describe=lambda v: _vacancy_view(matcher, v))
    out = {"model_version": listed["model_version"], "lang": lang, "results": listed["results"]}
    for r in out["results"]:
        r.pop("worker_id", None)
    return orjson_response(out)  # a portal's answer is masked by PortalScrub, as every portal answer


def _vacancy_view(matcher: Any, vacancy_id: str) -> dict[str, Any]:
    v = matcher.vacancies.records[matcher.vacancies.positions[vacancy_id]]
    return {"title": v.title, "country": v.country, "employer": v.employer}


def _region_of(matcher: Any, worker_id: str) -> str | None:
    pos = matcher.workers.positions.get(worker_id)
    return None if pos is None else matcher.workers.records[pos].region

