"""Allocation across job orders, bound to an Engine: who to propose where, for a region and a period.

The open job orders (legal channels only: every overseas job order of a licensed agency, domestic
ones in the region; open, deadline on or after the first day) each get their top-k eligible workers
from the matcher's filtered retrieval (``Matcher.shortlist``: every hard rule and worker preference
holds; the score is the champion ranker's when one is registered, else the transparent score).
:mod:`sepadan.matching.allocation` then solves one min-cost flow over all of them: each worker
proposed to at most ``proposals_per_worker`` orders, each order at most ``positions x
candidates_per_position`` proposals. What stayed unfilled says why: no eligible worker, its
candidates taken by orders they fit better, or one course away (which course, from
:mod:`sepadan.planning`'s near misses).

:func:`allocate` returns an :class:`Allocation`; :mod:`sepadan.allocation_report` writes it;
:mod:`sepadan.allocation_store` keeps it, reopens it, and gives shortlists that leave out the
workers the latest one already proposes elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from sepadan.matching import allocation as core
from sepadan.matching.eligibility import vacancy_checks
from sepadan.matching.matcher import Match, Matcher, MatchList
from sepadan.matching.scorer import Message
from sepadan.planning.demand import in_region
from sepadan.planning.gaps import positions as positions_of
from sepadan.records import Vacancy

log = logging.getLogger(__name__)
WHY = ("no_eligible_worker", "taken_by_better_fits", "one_course_away", "top_k_used")


@dataclass(frozen=True, slots=True)
class Quota:
    region: str  # Kemendagri code: its workers and those of the regions under it
    at_least: int


@dataclass(frozen=True, slots=True)
class Request:
    region: str | None = None  # None: every region
    start: date | None = None  # first day of the period (default: the engine's today)
    end: date | None = None  # last day a course may start (the one-course-away hints)
    proposals_per_worker: int = 1
    candidates_per_position: int = 2
    k: int = 10
    objective: str = "cover"  # cover | score (see sepadan.matching.allocation)
    quotas: tuple[Quota, ...] = ()
    within: tuple[str, ...] = ()  # only workers of these regions (an officer's key)
    agency: str | None = None  # only this agency's job orders (a tenant's key)

    def check(self) -> None:
        if min(self.proposals_per_worker, self.candidates_per_position, self.k) < 1:
            raise ValueError("proposals per worker, candidates per position and k must be at least 1")
        if self.objective not in core.OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(core.OBJECTIVES)}")
        if any(q.at_least < 0 for q in self.quotas):
            raise ValueError("a quota must be at least 0")

    def params(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=str))


@dataclass(frozen=True, slots=True)
class Proposal:
    vacancy_id: str
    worker_id: str
    region: str | None
    score: float
    rank: int  # the worker's rank in the order's own shortlist
    reasons: tuple[Message, ...] = ()


@dataclass(frozen=True, slots=True)
class Considered:
    worker_id: str
    region: str | None
    score: float
    rank: int
    proposed_to: tuple[str, ...]  # the job orders they were proposed to instead ((): none)


@dataclass(frozen=True, slots=True)
class CourseHint:
    training_id: str
    title: str
    provider: str | None
    region: str | None
    next_start: str | None
    workers: int  # workers of the region whom this one course makes eligible in time
    free: int  # of them, those the allocation proposes nowhere


@dataclass(frozen=True, slots=True)
class OrderView:
    vacancy_id: str
    title: str
    country: str | None
    agency: str | None
    positions: int
    slots: int  # proposals it may receive
    allocated: tuple[Proposal, ...]
    considered: tuple[Considered, ...]  # also in its top-k, proposed elsewhere or not at all


@dataclass(frozen=True, slots=True)
class Unfilled:
    vacancy_id: str
    title: str
    positions: int
    unfilled: int  # positions without a proposal
    why: str  # one of WHY
    taken_by: tuple[str, ...] = ()  # job orders its candidates were proposed to
    courses: tuple[CourseHint, ...] = ()


@dataclass(frozen=True, slots=True)
class Idle:
    """A worker in some order's top-k who got no proposal: every such order was full of better fits."""

    worker_id: str
    region: str | None
    considered_for: tuple[str, ...]
    best_score: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """Numbers for one way of proposing: the allocation, or each order's own shortlist."""

    proposals: int
    distinct_workers: int
    positions_covered: int  # positions with at least one proposal
    positions_fillable: int  # at most this many positions filled if each worker takes one job
    most_orders_per_worker: int
    total_score: float


@dataclass(frozen=True, slots=True)
class QuotaResult:
    region: str
    at_least: int
    proposals: int


@dataclass(frozen=True, slots=True)
class Allocation:
    request: Request
    as_of: date
    model_version: str
    fingerprint: str
    method: str
    objective: str
    orders: int
    positions: int
    slots: int
    candidates: int  # arcs of the candidate graph
    candidate_workers: int
    allocated: Outcome
    independent: Outcome  # each order proposing its own top (positions x candidates per position)
    seconds: float
    views: tuple[OrderView, ...] = ()
    unfilled: tuple[Unfilled, ...] = ()
    idle: tuple[Idle, ...] = ()
    quotas: tuple[QuotaResult, ...] = ()
    id: str | None = None
    created_at: str | None = None
    replaces: str | None = None

    @property
    def proposals(self) -> list[Proposal]:
        return [p for v in self.views for p in v.allocated]

    @property
    def empty(self) -> bool:
        return self.orders == 0


# --- the market: open orders and their candidates ------------------------------------------------

def open_orders(matcher: Matcher, request: Request) -> list[Vacancy]:
    """The job orders to allocate, in id order: open on the first day, legal channels only."""
    start = request.start or matcher.ctx.today
    out = []
    for v in matcher.vacancies.records:
        if not v.overseas and not in_region(v.region, request.region):
            continue
        if request.agency is not None and v.agency_licence != request.agency:
            continue
        ok = {c.rule: c.ok for c in vacancy_checks(v, matcher.ctx)}
        if ok.get("open", True) and ok.get("agency", True) and (v.deadline is None or v.deadline >= start):
            out.append(v)
    return sorted(out, key=lambda v: v.id)


def candidate_lists(matcher: Matcher, orders: Sequence[Vacancy], request: Request) -> list[MatchList]:
    """Each order's top k eligible workers (at least as many as its proposal slots)."""
    return [matcher.shortlist(v.id, k=max(request.k, positions_of(v) * request.candidates_per_position),
                              region=request.region, within=request.within) for v in orders]


@dataclass(frozen=True, slots=True)
class CandidateMarket:
    """The orders, each one's ranked candidates, and the solver's graph over them."""

    orders: tuple[Vacancy, ...]
    lists: tuple[tuple[Match, ...], ...]
    worker_ids: tuple[str, ...]  # sorted
    regions: Mapping[str, str | None]
    graph: core.Graph
    model_version: str


def _market(matcher: Matcher, orders: Sequence[Vacancy], lists: Sequence[MatchList], request: Request,
            model_version: str) -> CandidateMarket:
    results = tuple(ml.results for ml in lists)
    worker_ids = tuple(sorted({m.worker_id for ms in results for m in ms}))
    index = {w: i for i, w in enumerate(worker_ids)}
    regions = {w: matcher.workers.records[matcher.workers.positions[w]].region for w in worker_ids}
    arcs = [(o, index[m.worker_id], _unit(m.score)) for o, ms in enumerate(results) for m in ms]
    order, worker, score = (np.array(col) for col in zip(*arcs, strict=True)) if arcs else ([], [], [])
    posts = [positions_of(v) for v in orders]
    quota = _quota_groups(quotas(request), [regions[w] for w in worker_ids]) if request.quotas else {}
    g = core.graph(order, worker, score, [p * request.candidates_per_position for p in posts],
                   [request.proposals_per_worker] * len(worker_ids), positions=posts, **quota)
    return CandidateMarket(tuple(orders), results, worker_ids, regions, g, model_version)


def quotas(request: Request) -> tuple[Quota, ...]:
    """The request's quotas, one per region (the largest asked), outer regions first."""
    most: dict[str, int] = {}
    for q in request.quotas:
        most[q.region] = max(most.get(q.region, 0), q.at_least)
    return tuple(Quota(r, n) for r, n in sorted(most.items(), key=lambda kv: (kv[0].count("."), kv[0])))


def _quota_groups(qs: tuple[Quota, ...], regions: Sequence[str | None]) -> dict[str, list[int]]:
    """Each worker's innermost quota region, and each quota region's innermost enclosing one."""
    def innermost(code: str | None, before: int) -> int:
        return max((i for i, q in enumerate(qs[:before]) if in_region(code, q.region)), default=-1)

    return {"group": [innermost(r, len(qs)) for r in regions], "quota": [q.at_least for q in qs],
            "parent": [innermost(q.region, i) for i, q in enumerate(qs)]}


def _unit(score: float) -> float:
    if not 0.0 <= score <= 1.0:
        log.warning("score %s outside [0, 1] clipped for allocation", score)
    return min(1.0, max(0.0, float(score)))


# --- the allocation ------------------------------------------------------------------------------

def allocate(engine: Any, request: Request, *, method: str = "flow", hints: bool = True) -> Allocation:
    """Allocate the open job orders of ``request`` (not stored: see :func:`store_allocation`)."""
    request.check()
    started = time.perf_counter()
    return solve(engine, gather(engine.matcher, request), request, method=method, hints=hints, started=started)


def gather(matcher: Matcher, request: Request) -> CandidateMarket:
    """The open orders of the request and each one's candidates, as a graph for the solver."""
    orders = open_orders(matcher, request)
    lists = candidate_lists(matcher, orders, request)
    versions = sorted({ml.model_version for ml in lists}) or [matcher.model_version]
    if len(versions) > 1:
        log.warning("the ranker changed during the allocation (%s); recorded as the first", ", ".join(versions))
    return _market(matcher, orders, lists, request, versions[0])


def gather_lists(matcher: Matcher, lists: Mapping[str, MatchList], request: Request, *,
                 kept: Mapping[str, int] | None = None) -> CandidateMarket:
    """As :func:`gather`, from shortlists made beforehand (the nightly batch's merged lists) instead of
    the matcher's own: each open order's list cut to the length the request needs; an order without
    a list has no candidates. ``kept``: each order's list length as made, refused if shorter than
    needed. The lists cover every region, so a request limited to a region or to workers of some
    regions is refused."""
    if request.region or request.within:
        raise ValueError("shortlists made beforehand cover every region: no region or within")
    orders = open_orders(matcher, request)
    cut = []
    for v in orders:
        need = max(request.k, positions_of(v) * request.candidates_per_position)
        if kept is not None and kept.get(v.id, 0) < need:
            raise ValueError(f"{v.id}: the allocation needs {need} candidates, the lists kept {kept.get(v.id, 0)}")
        ml = lists.get(v.id) or MatchList("shortlist", v.id, matcher.model_version, ())
        cut.append(replace(ml, results=ml.results[:need]))
    versions = sorted({ml.model_version for ml in cut}) or [matcher.model_version]
    if len(versions) > 1:
        log.warning("the lists name several model versions (%s); recorded as the first", ", ".join(versions))
    return _market(matcher, orders, cut, request, versions[0])


def solve(engine: Any, mk: CandidateMarket, request: Request, *, method: str = "flow", hints: bool = True,
          started: float | None = None) -> Allocation:
    """Solve a gathered market and explain it (several methods may solve the same market)."""
    started = time.perf_counter() if started is None else started
    solution = core.allocate(mk.graph, method=method, objective=request.objective)
    views = _views(mk, solution)
    unfilled = _unfilled(mk, solution, request.k)
    if hints and unfilled:
        unfilled = _with_courses(engine, request, unfilled, _proposed(mk, solution))
    return Allocation(
        request, request.start or engine.matcher.ctx.today, mk.model_version,
        fingerprint(engine, request, mk.model_version), solution.method, solution.objective, len(mk.orders),
        sum(positions_of(v) for v in mk.orders), int(mk.graph.order_capacity.sum()), mk.graph.n_arcs,
        len(mk.worker_ids), _outcome(mk, solution.flow), _outcome(mk, _independent(mk, request)),
        time.perf_counter() - started, views, unfilled, _idle(mk, solution), _quotas(request, solution))


def fingerprint(engine: Any, request: Request, model_version: str) -> str:
    """What the allocation depends on: the stored records, the request, the day, the model version."""
    digest = hashlib.sha256(json.dumps([request.params(), str(engine.today), model_version]).encode())
    for kind in ("workers", "vacancies", "agencies", "trainings"):
        digest.update(engine.store.fingerprint(kind).encode())
    return digest.hexdigest()[:32]


def _views(mk: CandidateMarket, s: core.Solution) -> tuple[OrderView, ...]:
    g, out = mk.graph, []
    to: dict[str, list[str]] = defaultdict(list)
    for i in s.chosen:
        to[mk.worker_ids[g.worker[i]]].append(mk.orders[g.order[i]].id)
    arc = 0
    for o, (v, ms) in enumerate(zip(mk.orders, mk.lists, strict=True)):
        allocated, considered = [], []
        for rank, m in enumerate(ms, start=1):
            region = mk.regions[m.worker_id]
            if s.flow[arc] > 0:
                allocated.append(Proposal(v.id, m.worker_id, region, m.score, rank, m.reasons))
            else:
                considered.append(Considered(m.worker_id, region, m.score, rank, tuple(to.get(m.worker_id, ()))))
            arc += 1
        out.append(OrderView(v.id, v.title, v.country, v.agency_licence, positions_of(v), int(g.order_capacity[o]),
                             tuple(allocated), tuple(considered)))
    return tuple(out)


def _why(ms: Sequence[Match], taken: tuple[str, ...], k: int) -> str:
    """Taken by other orders; else every candidate is proposed here: none at all, or the whole top k."""
    if taken:
        return WHY[1]
    return WHY[3] if len(ms) >= k else WHY[0]


def _unfilled(mk: CandidateMarket, s: core.Solution, request_k: int) -> tuple[Unfilled, ...]:
    per_order = s.per_order(mk.graph)
    went: dict[str, set[str]] = defaultdict(set)
    for i in s.chosen:
        went[mk.worker_ids[mk.graph.worker[i]]].add(mk.orders[mk.graph.order[i]].id)
    out = []
    for o, (v, ms) in enumerate(zip(mk.orders, mk.lists, strict=True)):
        short = positions_of(v) - min(int(per_order[o]), positions_of(v))
        if short <= 0:
            continue
        taken = tuple(sorted(set().union(*(went.get(m.worker_id, set()) for m in ms)) - {v.id}))
        out.append(Unfilled(v.id, v.title, positions_of(v), short, _why(ms, taken, max(request_k, int(mk.graph.order_capacity[o]))), taken))
    return tuple(out)


def _proposed(mk: CandidateMarket, s: core.Solution) -> set[str]:
    """Workers with a proposal (everyone else, in the graph or not, is free)."""
    used = s.per_worker(mk.graph)
    return {w for w, n in zip(mk.worker_ids, used, strict=True) if n > 0}


def _with_courses(engine: Any, request: Request, unfilled: tuple[Unfilled, ...], proposed: set[str]
                  ) -> tuple[Unfilled, ...]:
    """The courses that make workers of the region eligible for each unfilled order in time (the
    training planner's near misses: one course closes every unmet need by the deadline), those the
    allocation proposes nowhere first."""
    from sepadan.planning.demand import Market, Scope, assess, market

    full = market(engine)
    wanted = {u.vacancy_id for u in unfilled}
    picks = [i for i, v in enumerate(full.vacancies) if v.id in wanted]
    sub = Market(workers=full.workers, worker_profiles=full.worker_profiles,
                 vacancies=[full.vacancies[i] for i in picks], vacancy_profiles=[full.vacancy_profiles[i] for i in picks],
                 ctx=full.ctx, catalogue=full.catalogue, coverage=full.coverage)
    a = assess(sub, Scope(request.region, request.start, request.end))
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for (w, vpos), courses in a.closers.items():
        worker = sub.workers[w]
        if request.within and not any(in_region(worker.region, r) for r in request.within):
            continue
        for c in courses:
            tally = counts[sub.vacancies[vpos].id][c]
            tally[0] += 1
            tally[1] += worker.id not in proposed
    return tuple(_hinted(u, counts.get(u.vacancy_id, {}), full.catalogue) for u in unfilled)


def _hinted(u: Unfilled, counts: Mapping[str, list[int]], catalogue: Any) -> Unfilled:
    if not counts:
        return u
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))[:5]
    hints = tuple(_hint(catalogue.by_id[c].training, *n) for c, n in ranked)
    return replace(u, why=WHY[2] if u.why == WHY[0] else u.why, courses=hints)


def _hint(t: Any, workers: int, free: int) -> CourseHint:
    start = t.next_start.isoformat() if t.next_start else None
    return CourseHint(t.id, t.title, t.provider, t.region, start, workers, free)


def _idle(mk: CandidateMarket, s: core.Solution) -> tuple[Idle, ...]:
    used = s.per_worker(mk.graph)
    seen: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for v, ms in zip(mk.orders, mk.lists, strict=True):
        for m in ms:
            seen[m.worker_id].append((m.score, v.id))
    out = [Idle(w, mk.regions[w], tuple(v for _, v in sorted(seen[w], key=lambda x: (-x[0], x[1]))),
                max(sc for sc, _ in seen[w])) for w, n in zip(mk.worker_ids, used, strict=True) if n == 0]
    return tuple(sorted(out, key=lambda i: (-i.best_score, i.worker_id)))


def _independent(mk: CandidateMarket, request: Request) -> np.ndarray:
    """Each order on its own: its first ``slots`` candidates, whoever else proposes them."""
    flow = np.zeros(mk.graph.n_arcs, dtype=np.int64)
    arc = 0
    for o, ms in enumerate(mk.lists):
        take = int(mk.graph.order_capacity[o])
        flow[arc:arc + min(take, len(ms))] = 1
        arc += len(ms)
    return flow


def _outcome(mk: CandidateMarket, flow: np.ndarray) -> Outcome:
    g = mk.graph
    chosen = np.flatnonzero(flow)
    per_order = np.bincount(g.order[chosen], minlength=g.n_orders) if len(chosen) else np.zeros(g.n_orders)
    per_worker = np.bincount(g.worker[chosen], minlength=g.n_workers) if len(chosen) else np.zeros(1)
    return Outcome(int(flow.sum()), int((per_worker > 0).sum()), int(np.minimum(per_order, g.order_positions()).sum()),
                   fillable(g, flow), int(per_worker.max()) if len(chosen) else 0,
                   round(float((flow * g.score).sum()), 6))


def fillable(g: core.Graph, flow: np.ndarray) -> int:
    """The most positions the proposals ``flow`` can fill if each worker takes at most one job: a
    maximum matching over the proposed pairs (the same flow solver, every score 1)."""
    chosen = np.flatnonzero(flow)
    if len(chosen) == 0:
        return 0
    sub = core.graph(g.order[chosen], g.worker[chosen], np.ones(len(chosen)), g.order_positions(),
                     np.ones(g.n_workers, dtype=np.int64))
    return core.solve_flow(sub).proposals


def _quotas(request: Request, s: core.Solution) -> tuple[QuotaResult, ...]:
    return tuple(QuotaResult(q.region, q.at_least, int(s.quota_met[i]) if i < len(s.quota_met) else 0)
                 for i, q in enumerate(quotas(request)))
