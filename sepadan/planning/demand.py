"""Demand against supply for a region and a period, and the training plan that closes the gap.

Demand: the positions of job orders open in the period (open, deadline on or after its first day)
through legal channels: every overseas job order, and domestic ones in the region. A job order of an
unlicensed, suspended or expired agency is never demand to fill; it is counted apart (``flagged``).
Supply: the available workers of the region. A pair is *eligible* when every rule holds, a *near
miss* when one or two needs are unmet and nothing untrainable fails (see :mod:`.gaps`), and *one
training away* when a course in the region's province, starting in the period, closes every unmet
need and ends by the job order's deadline. Positions are *filled* by the best assignment of workers
to positions (each worker one position), without training (``baseline``) and with the plan.

Pure core: :class:`Market` (records, profiles, rules, trainings), :func:`assess`,
:func:`build_problem`, :func:`gap_table`; :func:`plan_region` runs them with :mod:`.optimise`.
Thin wrapper: :func:`market` binds an Engine.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from sepadan.features.labels import shipped_labels
from sepadan.features.profiles import VacancyProfile, WorkerProfile
from sepadan.matching.eligibility import Check, Context, age_on, check_pair, vacancy_checks
from sepadan.planning.gaps import TRAINABLE, Catalogue, Coverage, Need, Offer, met, positions, requirements, unmet_needs
from sepadan.planning.optimise import Candidate, Course, Plan, PlanProblem, baseline, filled, solve
from sepadan.records import Training, Vacancy, Worker

log = logging.getLogger(__name__)
DIMENSIONS = ("skill", "language", "certificate", "occupation", "destination")


class Market:
    """What planning reads: workers and vacancies with their profiles, the rules, the trainings."""

    def __init__(
        self, *, workers: Sequence[Worker], worker_profiles: Sequence[WorkerProfile], vacancies: Sequence[Vacancy],
        vacancy_profiles: Sequence[VacancyProfile], ctx: Context, catalogue: Catalogue, coverage: Coverage,
    ) -> None:
        self.workers, self.worker_profiles = workers, worker_profiles
        self.vacancies, self.vacancy_profiles = vacancies, vacancy_profiles
        self.ctx, self.catalogue, self.coverage = ctx, catalogue, coverage
        self.worker_pos = {w.id: i for i, w in enumerate(workers)}
        skills = [p.skills + tuple(c for c, _ in p.training_skills) for p in worker_profiles]
        self._keys = [frozenset(c.key for c in cs) for cs in skills]
        self._universe = list({c.key: c for cs in skills for c in cs}.values())
        self._covering: dict[tuple[str, ...], frozenset[str]] = {}
        self._reqs: dict[int, tuple[Need, ...]] = {}

    def requirements(self, vpos: int) -> tuple[Need, ...]:
        if vpos not in self._reqs:
            v, vp = self.vacancies[vpos], self.vacancy_profiles[vpos]
            self._reqs[vpos] = requirements(v, vp, self.ctx)
        return self._reqs[vpos]

    def covering(self, need: Need) -> frozenset[str]:
        """The workers' skill concepts that cover a required skill (computed once per requirement)."""
        if need.wanted not in self._covering and need.skill is not None:
            flags = self.coverage.credited(need.skill, self._universe)
            self._covering[need.wanted] = frozenset(c.key for c, ok in zip(self._universe, flags, strict=True) if ok)
        return self._covering.get(need.wanted, frozenset())

    def has_skill(self, wpos: int, need: Need) -> bool:
        return not self._keys[wpos].isdisjoint(self.covering(need))

    def checks(self, wpos: int, vpos: int, ctx: Context | None = None) -> list[Check]:
        return check_pair(
            self.workers[wpos], self.worker_profiles[wpos], self.vacancies[vpos], self.vacancy_profiles[vpos],
            ctx or self.ctx,
        )

    def needs(
        self, wpos: int, vpos: int, ctx: Context | None = None, *, checks: list[Check] | None = None
    ) -> tuple[Need, ...] | None:
        checks = checks if checks is not None else self.checks(wpos, vpos, ctx)
        return unmet_needs(checks, self.requirements(vpos), lambda n: self.has_skill(wpos, n))

    def met(self, wpos: int, need: Need, vpos: int | None = None) -> bool:
        vp = self.vacancy_profiles[vpos] if vpos is not None else None
        return met(need, self.workers[wpos], lambda n: self.has_skill(wpos, n), self.worker_profiles[wpos], vp)


def market(engine: Any) -> Market:
    """Bind an Engine: its matcher's records and profiles, its rules, the trainings in its store."""
    from sepadan.ingest.importer import load_records

    m = engine.matcher
    embed = engine.encoder.encode
    catalogue = Catalogue.build(
        load_records(engine.store, "trainings"), engine.profiler.skills.normalise, Coverage(embed=embed)
    )
    return Market(
        workers=m.workers.records, worker_profiles=m.workers.profiles, vacancies=m.vacancies.records,
        vacancy_profiles=m.vacancies.profiles, ctx=m.ctx, catalogue=catalogue,
        coverage=Coverage(related=engine.taxonomy.related, embed=embed),
    )


@dataclass(frozen=True, slots=True)
class Scope:
    region: str | None = None  # Kemendagri code: "35" East Java, "35.08" Lumajang; None: everywhere
    start: date | None = None  # default: today
    end: date | None = None  # last day a course may start; default: no limit


def in_region(code: str | None, region: str | None) -> bool:
    return region is None or (code is not None and (code == region or code.startswith(region + ".")))


def _province(region: str | None) -> str | None:
    return region.split(".")[0] if region else None


@dataclass(frozen=True, slots=True)
class Assessment:
    scope: Scope
    as_of: date
    vacancies: tuple[int, ...]  # demand (positions in the market)
    flagged: tuple[int, ...]  # open in the period, but through a non-procedural agency: left out
    workers: tuple[int, ...]  # supply
    eligible: Mapping[int, tuple[int, ...]]  # vacancy -> workers eligible now
    near: Mapping[tuple[int, int], tuple[Need, ...]]  # (worker, vacancy) -> unmet needs
    courses: tuple[Offer, ...]  # trainings in the province, starting in the period
    closers: Mapping[tuple[int, int], frozenset[str]]  # (worker, vacancy) -> courses closing every need
    meet: Mapping[str, int]  # requirement key -> workers of the supply who meet it


def assess(mk: Market, scope: Scope, *, max_needs: int = 2) -> Assessment:
    """Classify every (worker, job order) pair of the region and the period."""
    as_of = max(mk.ctx.today, scope.start or mk.ctx.today)
    ctx = Context(as_of, mk.ctx.agencies, mk.ctx.rules)
    demand, flagged = _demand(mk, scope, ctx)
    supply = tuple(
        i for i, w in enumerate(mk.workers) if w.available is not False and in_region(w.region, scope.region)
    )
    courses = tuple(o for o in mk.catalogue.offers if _course_in_scope(o, scope, as_of))
    eligible, near = defaultdict(list), {}
    cols = _Columns(mk, supply, as_of)
    for vpos in demand:
        for wpos in cols.possible(vpos, ctx, max_needs):
            needs = mk.needs(int(wpos), vpos, ctx)
            if needs == ():
                eligible[vpos].append(int(wpos))
            elif needs is not None and len(needs) <= max_needs:
                near[(int(wpos), vpos)] = needs
    closers = _closers(mk, courses, near)
    log.info(
        "assessed %d job orders x %d workers: %d eligible pairs, %d near misses", len(demand), len(supply),
        sum(map(len, eligible.values())), len(near),
    )
    return Assessment(
        scope, as_of, demand, flagged, supply, {v: tuple(ws) for v, ws in eligible.items()}, near, courses, closers,
        cols.meet_counts(),
    )


def _demand(mk: Market, scope: Scope, ctx: Context) -> tuple[tuple[int, ...], tuple[int, ...]]:
    demand, flagged = [], []
    for vpos, v in enumerate(mk.vacancies):
        if not v.overseas and not in_region(v.region, scope.region):
            continue
        checks = {c.rule: c.ok for c in vacancy_checks(v, ctx)}
        if checks.get("open", True):
            (demand if checks.get("agency", True) else flagged).append(vpos)
    return tuple(demand), tuple(flagged)


def _course_in_scope(o: Offer, scope: Scope, as_of: date) -> bool:
    start = o.training.next_start
    if not o.open_on(as_of) or (scope.end is not None and start is not None and start > scope.end):
        return False
    return scope.region is None or _province(o.training.region) == _province(scope.region)


def _closers(
    mk: Market, courses: tuple[Offer, ...], near: Mapping[tuple[int, int], tuple[Need, ...]]
) -> dict[tuple[int, int], frozenset[str]]:
    memo: dict[tuple, frozenset[str]] = {}
    out = {}
    for (wpos, vpos), needs in near.items():
        key = (vpos, tuple(n.key for n in needs))
        if key not in memo:
            deadline = mk.vacancies[vpos].deadline
            memo[key] = frozenset(o.id for o in courses if o.in_time(deadline) and mk.catalogue.closes_all(o, needs))
        if memo[key]:
            out[(wpos, vpos)] = memo[key]
    return out


class _Columns:
    """The supply as arrays, to skip at once the pairs that an untrainable rule rules out or that miss
    more requirements than a near miss may (each requirement counted as :func:`~.gaps.met` sees it)."""

    def __init__(self, mk: Market, supply: tuple[int, ...], as_of: date) -> None:
        self.mk = mk
        workers = [mk.workers[i] for i in supply]
        self.supply = np.array(supply, dtype=np.int64)
        self.gender = np.array([w.gender or "" for w in workers], dtype=object)
        ages = [age_on(w.birth_date, as_of) for w in workers]
        self.age = np.array([-1 if a is None else a for a in ages], dtype=np.int32)
        self.countries = [frozenset(w.preferences.countries) for w in workers]
        self.no_domestic = np.array([w.preferences.domestic is False for w in workers], dtype=bool)
        self._met: dict[tuple, np.ndarray] = {}

    def possible(self, vpos: int, ctx: Context, max_needs: int) -> np.ndarray:
        v = self.mk.vacancies[vpos]
        ok = np.ones(len(self.supply), dtype=bool)
        if v.gender is not None:
            ok &= self.gender == v.gender
        for low, high in [(v.age_min, v.age_max)] + [(r.age_min, r.age_max) for r in ctx.rules.for_vacancy(v)]:
            if low is not None or high is not None:
                ok &= (self.age >= 0) & (self.age >= (low or 0)) & (self.age <= (high if high is not None else 999))
        if v.overseas:
            ok &= np.array([not c or v.country in c for c in self.countries], dtype=bool)
        else:
            ok &= ~self.no_domestic
        missing = sum((~self.met(n)).astype(np.int32) for n in self.mk.requirements(vpos) if n.kind != "experience")
        return self.supply[ok & (np.asarray(missing) <= max_needs)]

    def met(self, need: Need) -> np.ndarray:
        key = (need.key, need.names, need.wanted)
        if key not in self._met:
            self._met[key] = np.array([self.mk.met(int(w), need) for w in self.supply], dtype=bool)
        return self._met[key]

    def meet_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (key, _, _), flags in self._met.items():
            out.setdefault(key, int(flags.sum()))
        return out


def build_problem(mk: Market, a: Assessment, *, budget: float | None = None) -> PlanProblem:
    """The optimiser's view: the courses' seats and costs, the openings, each worker's options."""
    courses = tuple(
        Course(o.id, int(o.training.seats or 0), float(o.training.cost_idr or 0), float(o.training.hours or 0))
        for o in a.courses
    )
    openings = {mk.vacancies[v].id: positions(mk.vacancies[v]) for v in a.vacancies}
    eligible, near = defaultdict(set), defaultdict(dict)
    for vpos, ws in a.eligible.items():
        for w in ws:
            eligible[w].add(mk.vacancies[vpos].id)
    for (w, vpos), cs in a.closers.items():
        near[w][mk.vacancies[vpos].id] = cs
    ids = sorted(set(eligible) | set(near))
    cands = tuple(Candidate(mk.workers[w].id, frozenset(eligible[w]), dict(near[w])) for w in ids)
    return PlanProblem(courses, openings, cands, budget)


@dataclass(frozen=True, slots=True)
class GapRow:
    dimension: str  # skill | language | certificate | occupation | destination
    key: str
    label: str
    vacancies: int
    positions: int
    filled: int  # by the pool as it is
    unfilled: int
    eligible: int  # workers eligible now for one of these job orders
    near: int  # workers one course away from one of them (for a requirement: a course that also teaches it)
    meet: int | None  # workers of the pool who meet this requirement (requirements only)
    lacking: int | None  # near-miss workers who lack it
    trainings: int | None  # courses in scope that teach it
    seats: int | None
    with_plan: int  # positions filled with the plan (the pool and the trainees)
    status: str  # met | train | no training | short


def gap_table(
    mk: Market, a: Assessment, *, filled: Mapping[str, int], with_plan: Mapping[str, int] | None = None,
    lang: str = "en",
) -> list[GapRow]:
    """One row per requirement, occupation and destination asked by the demand, most unfilled first.
    ``filled`` and ``with_plan``: positions filled per job order without and with the plan."""
    with_plan = filled if with_plan is None else with_plan
    items: dict[tuple[str, str], list[int]] = defaultdict(list)
    labels: dict[tuple[str, str], str] = {}
    needs: dict[tuple[str, str], Need] = {}
    for vpos in a.vacancies:
        for dim, key, label, need in _items(mk, vpos, lang):
            items[(dim, key)].append(vpos)
            labels.setdefault((dim, key), label)
            if need is not None:
                needs.setdefault((dim, key), need)
    near_by_v = defaultdict(list)
    for (w, vpos), ns in a.near.items():
        near_by_v[vpos].append((w, ns, (w, vpos) in a.closers))
    rows = [
        _row(mk, a, dim, key, labels[(dim, key)], vs, needs.get((dim, key)), near_by_v, filled, with_plan)
        for (dim, key), vs in items.items()
    ]
    return sorted(rows, key=lambda r: (-r.unfilled, -r.positions, DIMENSIONS.index(r.dimension), r.label))


def _items(mk: Market, vpos: int, lang: str) -> list[tuple[str, str, str, Need | None]]:
    v, vp = mk.vacancies[vpos], mk.vacancy_profiles[vpos]
    out = [(n.kind, n.key, n.name(lang), n) for n in mk.requirements(vpos) if n.kind in TRAINABLE]
    isco = vp.occupation.isco or "?"
    job = shipped_labels().occupation(vp.occupation, lang) if vp.occupation.label else v.title
    out.append(("occupation", isco, f"{isco} {job}", None))
    out.append(("destination", v.country or "?", v.country or "?", None))
    return out


def _row(
    mk: Market, a: Assessment, dim: str, key: str, label: str, vs: list[int], need: Need | None,
    near_by_v: Mapping[int, list], filled: Mapping[str, int], with_plan: Mapping[str, int],
) -> GapRow:
    ids = [mk.vacancies[v].id for v in vs]
    total = sum(positions(mk.vacancies[v]) for v in vs)
    done = sum(filled.get(i, 0) for i in ids)
    eligible = {w for v in vs for w in a.eligible.get(v, ())}
    near = {
        w for v in vs for w, ns, closable in near_by_v.get(v, ())
        if closable and (need is None or any(n.key == key for n in ns))
    }
    lacking = meet = trainings = seats = None
    if need is not None:
        lacking = len({w for v in vs for w, ns, _ in near_by_v.get(v, ()) if any(n.key == key for n in ns)})
        meet = a.meet.get(key, 0)
        teach = [o for o in a.courses if mk.catalogue.closes(o, need)]
        trainings, seats = len(teach), sum(int(o.training.seats or 0) for o in teach)
    unfilled = total - done
    status = "met" if unfilled <= 0 else "short" if need is None else "train" if trainings else "no training"
    return GapRow(
        dim, key, label, len(vs), total, done, unfilled, len(eligible), len(near), meet, lacking, trainings, seats,
        sum(with_plan.get(i, 0) for i in ids), status,
    )


@dataclass(frozen=True, slots=True)
class Summary:
    as_of: date
    vacancies: int
    positions: int
    flagged_vacancies: int
    flagged_positions: int
    workers: int
    eligible_workers: int
    near_workers: int  # one training away from at least one (more) job order
    courses: int
    seats: int


@dataclass(frozen=True, slots=True)
class RegionPlan:
    scope: Scope
    summary: Summary
    rows: tuple[GapRow, ...]
    plan: Plan
    problem: PlanProblem
    trainings: Mapping[str, Training]  # the courses in scope, by id
    job_orders: Mapping[str, Vacancy]  # the demand, by id
    regions: Mapping[str, str | None]  # worker id -> region, for the candidates


def plan_region(
    mk: Market, scope: Scope, *, budget: float | None = None, method: str = "auto", time_limit: float | None = 60.0,
    lang: str = "en",
) -> RegionPlan:
    """Demand against supply, the gap table, and the training plan for a region and a period."""
    a = assess(mk, scope)
    problem = build_problem(mk, a, budget=budget)
    plan = solve(problem, method=method, time_limit=time_limit)
    rows = gap_table(mk, a, filled=plan.before, with_plan=plan.after(), lang=lang)
    return RegionPlan(
        scope, _summary(mk, a), tuple(rows), plan, problem, {o.id: o.training for o in a.courses},
        {mk.vacancies[v].id: mk.vacancies[v] for v in a.vacancies},
        {c.worker_id: mk.workers[mk.worker_pos[c.worker_id]].region for c in problem.candidates},
    )


def gap_report(mk: Market, scope: Scope, *, lang: str = "en") -> tuple[Summary, list[GapRow]]:
    """Demand against supply and the gap table as the pool stands, without solving a training plan
    (seconds for a whole country, where the plan takes half a minute): what a dashboard shows."""
    a = assess(mk, scope)
    before = filled(baseline(build_problem(mk, a)))
    return _summary(mk, a), gap_table(mk, a, filled=before, lang=lang)


def _summary(mk: Market, a: Assessment) -> Summary:
    flagged = sum(positions(mk.vacancies[v]) for v in a.flagged)
    eligible = {w for ws in a.eligible.values() for w in ws}
    near = {w for w, _ in a.closers}
    return Summary(
        a.as_of, len(a.vacancies), sum(positions(mk.vacancies[v]) for v in a.vacancies), len(a.flagged), flagged,
        len(a.workers), len(eligible), len(near), len(a.courses), sum(int(o.training.seats or 0) for o in a.courses),
    )
