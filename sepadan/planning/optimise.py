"""The training plan: which trainees to send to which course so that the most positions get filled.

The problem is stated on ids only. Each candidate worker is already eligible for some vacancies and
one training away from others (``near``: vacancy -> the courses that would close every gap in time).
A worker takes at most one course; a course takes at most its seats; the courses' cost per trainee
stays within the budget; a vacancy takes at most its positions; every worker fills at most one
position. The objective is the number of positions filled (by workers eligible now and by trainees);
tie-breaks worth less than one position in all prefer, among plans that fill as many, the cheapest
(to the solver's tolerance), then the fewest trainees.

``solve_milp`` is exact (an integer program for ``scipy.optimize.milp``; identical workers are grouped
so the program stays small). ``solve_greedy`` is the fallback: fill what the current pool can fill,
then send the cheapest trainee who fills a still-open position, until seats, budget or openings run
out. It claims no constant-factor guarantee; its stated bound is the LP relaxation of the same
program (``lp_bound``), a certified upper bound on the fills any plan can reach, reported beside it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)
METHODS = ("auto", "milp", "greedy")
TIE_BREAKS = 0.75  # the most the cost and trainee tie-breaks add to the objective


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    seats: int
    cost: float = 0.0  # per trainee
    hours: float = 0.0


@dataclass(frozen=True, slots=True)
class Candidate:
    worker_id: str
    eligible: frozenset[str] = frozenset()
    near: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlanProblem:
    courses: tuple[Course, ...]
    openings: Mapping[str, int]  # vacancy id -> positions
    candidates: tuple[Candidate, ...]
    budget: float | None = None  # None: no budget limit


@dataclass(frozen=True, slots=True)
class Assignment:
    worker_id: str
    vacancy_id: str
    course_id: str | None  # None: eligible already


@dataclass(frozen=True, slots=True)
class Plan:
    method: str  # milp | greedy
    optimal: bool
    before: Mapping[str, int]  # vacancy id -> positions the pool fills without any training
    fills: int  # positions filled with the plan (the pool's included)
    bound: float  # upper bound on fills (LP relaxation, or the milp's dual bound)
    cost: float
    trainees: Mapping[str, tuple[str, ...]]  # course id -> worker ids
    assignments: tuple[Assignment, ...]

    @property
    def baseline(self) -> int:
        return sum(self.before.values())

    def after(self) -> dict[str, int]:
        """Positions filled per vacancy with the plan (never fewer than ``before``)."""
        out: dict[str, int] = defaultdict(int)
        for a in self.assignments:
            out[a.vacancy_id] += 1
        return dict(out)

    @property
    def added(self) -> int:
        return self.fills - self.baseline

    @property
    def cost_per_fill(self) -> float | None:
        return self.cost / self.added if self.added > 0 else None

    def fills_by_course(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for a in self.assignments:
            if a.course_id is not None:
                out[a.course_id][a.vacancy_id] += 1
        return {c: dict(v) for c, v in out.items()}


@dataclass(frozen=True, slots=True)
class _Group:
    """Candidates with the same options: interchangeable, so the program counts them."""

    members: tuple[str, ...]
    eligible: tuple[str, ...]
    near: tuple[tuple[str, str], ...]  # (course, vacancy)

    @property
    def courses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for c, _ in self.near))


def group(problem: PlanProblem) -> list[_Group]:
    known, by_sig = set(problem.openings), defaultdict(list)
    courses = {c.id for c in problem.courses if c.seats > 0}
    for cand in problem.candidates:
        eligible = tuple(sorted(v for v in cand.eligible if v in known))
        near = tuple(
            sorted(
                (c, v) for v, cs in cand.near.items() if v in known and v not in cand.eligible for c in cs
                if c in courses
            )
        )
        if eligible or near:
            by_sig[(eligible, near)].append(cand.worker_id)
    return [_Group(tuple(sorted(m)), e, n) for (e, n), m in sorted(by_sig.items(), key=lambda kv: kv[1][0])]


class _Program:
    """The integer program: u[k,c] trainees of group k in course c; e[k,v] eligible members filling v;
    y[k,c,v] trainees of k from c filling v."""

    def __init__(
        self, problem: PlanProblem, groups: list[_Group], *, train: bool = True, floor: Mapping[str, int] | None = None
    ) -> None:
        self.problem, self.groups, self.floor = problem, groups, floor or {}
        self.courses = {c.id: c for c in problem.courses}
        self.cols: list[tuple] = []
        self.upper: list[float] = []
        for k, g in enumerate(groups):
            n = len(g.members)
            for v in g.eligible:
                self._add(("e", k, v), min(n, problem.openings[v]))
            if train:
                for c in g.courses:
                    self._add(("u", k, c), min(n, self.courses[c].seats))
                for c, v in g.near:
                    self._add(("y", k, c, v), min(n, problem.openings[v], self.courses[c].seats))
        self.index = {col: i for i, col in enumerate(self.cols)}

    def _add(self, col: tuple, upper: float) -> None:
        self.cols.append(col)
        self.upper.append(float(upper))

    def objective(self) -> np.ndarray:
        """Minimise: minus the fills, plus tie-breaks on cost and trainees that add up to less than
        ``TIE_BREAKS`` (< 1), so no plan ever trades a fill for a saving."""
        seats = sum(c.seats for c in self.problem.courses) + 1
        spend = sum(c.seats * c.cost for c in self.problem.courses) + 1
        return np.array(
            [0.5 * self.courses[col[2]].cost / spend + 0.25 / seats if col[0] == "u" else -1.0 for col in self.cols]
        )

    def constraints(self):  # noqa: ANN201 - scipy's LinearConstraint
        from scipy.optimize import LinearConstraint
        from scipy.sparse import coo_matrix

        rows, cols, vals, lower, upper = [], [], [], [], []

        def row(entries: list[tuple[tuple, float]], ub: float, lb: float = -np.inf) -> None:
            r = len(upper)
            for col, val in entries:
                rows.append(r)
                cols.append(self.index[col])
                vals.append(val)
            lower.append(lb)
            upper.append(ub)

        self._rows(row)
        matrix = coo_matrix((vals, (rows, cols)), shape=(len(upper), len(self.cols))).tocsr()
        return LinearConstraint(matrix, np.array(lower), np.array(upper))

    def _rows(self, row) -> None:  # noqa: ANN001
        members, fills = defaultdict(list), defaultdict(list)
        by_course, by_vacancy = defaultdict(list), defaultdict(list)
        for col in self.cols:
            if col[0] == "y":
                fills[col[1:3]].append((col, 1.0))
                by_vacancy[col[3]].append((col, 1.0))
                continue
            members[col[1]].append((col, 1.0))
            if col[0] == "u":
                by_course[col[2]].append((col, 1.0))
                fills[col[1:3]].append((col, -1.0))
            else:
                by_vacancy[col[2]].append((col, 1.0))
        for k, entries in members.items():
            row(entries, len(self.groups[k].members))
        for entries in fills.values():
            row(entries, 0.0)
        for course, entries in by_course.items():
            row(entries, self.courses[course].seats)
        if self.problem.budget is not None and by_course:
            row([(col, self.courses[col[2]].cost) for col in self.cols if col[0] == "u"], self.problem.budget)
        for v, entries in by_vacancy.items():
            row(entries, self.problem.openings[v], self.floor.get(v, -np.inf))

    def solve(self, *, integral: bool = True, time_limit: float | None = None):  # noqa: ANN201 - OptimizeResult
        from scipy.optimize import Bounds, milp

        if not self.cols:
            return None
        options = {"mip_rel_gap": 1e-9, "presolve": True}
        if time_limit is not None:
            options["time_limit"] = float(time_limit)
        return milp(
            self.objective(), integrality=np.full(len(self.cols), 1 if integral else 0),
            bounds=Bounds(np.zeros(len(self.cols)), np.array(self.upper)), constraints=self.constraints(),
            options=options,
        )

    def values(self, x: np.ndarray) -> dict[tuple, int]:
        """Integer values, every course's trainees trimmed to those who fill a position."""
        out = {col: int(round(val)) for col, val in zip(self.cols, x, strict=True) if round(val) > 0}
        used: dict[tuple, int] = defaultdict(int)
        for col, n in out.items():
            if col[0] == "y":
                used[("u", *col[1:3])] += n
        return {
            col: (used[col] if col[0] == "u" else n) for col, n in out.items() if col[0] != "u" or used.get(col, 0) > 0
        }


def _fills(program: _Program, x: np.ndarray | None) -> float:
    if x is None:
        return 0.0
    return float(sum(val for col, val in zip(program.cols, x, strict=True) if col[0] != "u"))


def filled(values: Mapping[tuple, int]) -> dict[str, int]:
    """Positions filled per vacancy in a program's solution."""
    out: dict[str, int] = defaultdict(int)
    for col, n in values.items():
        if col[0] != "u":
            out[col[-1]] += n
    return dict(out)


def baseline(problem: PlanProblem, groups: list[_Group] | None = None) -> dict[tuple, int]:
    """The best assignment of the pool as it is (no training): the most positions filled, each worker
    one position, solved by the one assignment module (:mod:`sepadan.matching.allocation`, every
    pair worth 1): vacancies are its orders, groups of identical workers its workers."""
    from sepadan.matching import allocation

    groups = groups if groups is not None else group(problem)
    vacancies = sorted(problem.openings)
    at = {v: i for i, v in enumerate(vacancies)}
    arcs = [(at[v], k, min(len(g.members), problem.openings[v])) for k, g in enumerate(groups) for v in g.eligible]
    if not arcs:
        return {}
    order, worker, caps = zip(*arcs, strict=True)
    market = allocation.graph(order, worker, np.ones(len(arcs)), [problem.openings[v] for v in vacancies],
                              [len(g.members) for g in groups], arc_capacity=caps)
    flow = allocation.solve_flow(market).flow
    return {("e", k, vacancies[o]): int(n) for o, k, n in zip(order, worker, flow, strict=True) if n > 0}


def lp_bound(problem: PlanProblem, groups: list[_Group] | None = None, floor: Mapping[str, int] | None = None) -> float:
    """The LP relaxation's fills: no plan, integral or greedy, fills more positions than this."""
    program = _Program(problem, groups if groups is not None else group(problem), floor=floor)
    result = program.solve(integral=False)
    return _fills(program, result.x if result is not None else None)


def solve_milp(problem: PlanProblem, *, time_limit: float | None = 60.0) -> Plan | None:
    """The exact plan, or the best found within the time limit; None if HiGHS found none.

    Every job order keeps at least the positions the pool fills without training (some optimal
    plan always does, by Mendelsohn-Dulmage), so a planner never sees a job order lose fills."""
    groups = group(problem)
    floor = filled(baseline(problem, groups))
    program = _Program(problem, groups, floor=floor)
    result = program.solve(time_limit=time_limit)
    if result is None:
        return _plan("milp", True, problem, groups, {}, floor, float(sum(floor.values())))
    if result.x is None:
        log.warning("milp found no plan (status %s: %s)", result.status, result.message)
        return None
    optimal = result.status == 0
    bound = _fills(program, result.x) if optimal else _dual_bound(program, result)
    return _plan("milp", optimal, problem, groups, program.values(result.x), floor, bound)


def _dual_bound(program: _Program, result) -> float:  # noqa: ANN001
    dual = getattr(result, "mip_dual_bound", None)
    if dual is None or not np.isfinite(dual):
        return lp_bound(program.problem, program.groups, program.floor)
    return float(np.floor(-dual + TIE_BREAKS))  # fills - tie-breaks >= -dual


def solve_greedy(problem: PlanProblem, *, bound: bool = True) -> Plan:
    """Fill with the pool first; then, cheapest course first, send trainees to still-open positions."""
    groups = group(problem)
    chosen = baseline(problem, groups)
    before = filled(chosen)
    left = {v: n - before.get(v, 0) for v, n in problem.openings.items()}
    idle = [len(g.members) for g in groups]
    for col, n in chosen.items():
        idle[col[1]] -= n
    chosen.update(_train_cheapest(problem, groups, idle, left))
    limit = lp_bound(problem, groups, before) if bound else float("nan")
    return _plan("greedy", False, problem, groups, chosen, before, limit)


def _train_cheapest(
    problem: PlanProblem, groups: list[_Group], idle: list[int], left: dict[str, int]
) -> dict[tuple, int]:
    courses = {c.id: c for c in problem.courses}
    seats = {c.id: c.seats for c in problem.courses}
    budget = problem.budget if problem.budget is not None else float("inf")
    chosen: dict[tuple, int] = {}
    for _, _, k, c, v in sorted(_options(groups, courses)):
        n = min(idle[k], left[v], seats[c], _affordable(budget, courses[c].cost))
        if n <= 0:
            continue
        chosen[("u", k, c)] = chosen.get(("u", k, c), 0) + n
        chosen[("y", k, c, v)] = n
        idle[k], left[v], seats[c] = idle[k] - n, left[v] - n, seats[c] - n
        budget -= n * courses[c].cost
    return chosen


def _options(groups: list[_Group], courses: Mapping[str, Course]) -> list[tuple]:
    return [(courses[c].cost, courses[c].hours, k, c, v) for k, g in enumerate(groups) for c, v in g.near]


def _affordable(budget: float, cost: float) -> int:
    if cost <= 0:
        return 1 << 30
    return int(budget // cost) if np.isfinite(budget) else 1 << 30


def _plan(
    method: str, optimal: bool, problem: PlanProblem, groups: list[_Group], values: dict[tuple, int],
    before: Mapping[str, int], bound: float,
) -> Plan:
    courses = {c.id: c for c in problem.courses}
    assignments, trainees = [], defaultdict(list)
    for k, g in enumerate(groups):
        members = iter(g.members)
        for v in g.eligible:
            assignments += [Assignment(next(members), v, None) for _ in range(values.get(("e", k, v), 0))]
        for c in g.courses:
            sent = [next(members) for _ in range(values.get(("u", k, c), 0))]
            trainees[c] += sent
            placed = iter(sent)
            for cc, v in g.near:
                if cc == c:
                    assignments += [Assignment(next(placed), v, c) for _ in range(values.get(("y", k, c, v), 0))]
    cost = sum(courses[c].cost * len(ws) for c, ws in trainees.items())
    fills = len(assignments)
    bound = float(fills) if optimal else bound
    return Plan(
        method, optimal, dict(before), fills, bound, cost, {c: tuple(ws) for c, ws in sorted(trainees.items()) if ws},
        tuple(sorted(assignments, key=lambda a: (a.course_id or "", a.vacancy_id, a.worker_id))),
    )


def solve(problem: PlanProblem, *, method: str = "auto", time_limit: float | None = 60.0) -> Plan:
    """``milp`` (exact within the time limit), ``greedy``, or ``auto``: milp, and when it stops early
    the better of its plan and the greedy one (keeping the milp's bound)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if method == "greedy":
        return solve_greedy(problem)
    plan = solve_milp(problem, time_limit=time_limit)
    if plan is not None and (plan.optimal or method == "milp"):
        return plan
    greedy = solve_greedy(problem, bound=plan is None)
    if plan is None:
        return greedy
    return plan if plan.fills >= greedy.fills else _with_bound(greedy, plan.bound)


def _with_bound(plan: Plan, bound: float) -> Plan:
    return Plan(plan.method, plan.optimal, plan.before, plan.fills, bound, plan.cost, plan.trainees, plan.assignments)


def check_plan(problem: PlanProblem, plan: Plan) -> list[str]:
    """What a plan breaks (seats, budget, positions, one course and one job per worker); [] if nothing."""
    courses = {c.id: c for c in problem.courses}
    cands = {c.worker_id: c for c in problem.candidates}
    errors = [
        f"{c}: {len(ws)} trainees > {courses[c].seats} seats" for c, ws in plan.trainees.items()
        if len(ws) > courses[c].seats
    ]
    if problem.budget is not None and plan.cost > problem.budget + 1e-6:
        errors.append(f"cost {plan.cost} > budget {problem.budget}")
    sent = [w for ws in plan.trainees.values() for w in ws]
    errors += [f"{w} takes two courses" for w in {w for w in sent if sent.count(w) > 1}]
    placed = [a.worker_id for a in plan.assignments]
    errors += [f"{w} fills two positions" for w in {w for w in placed if placed.count(w) > 1}]
    per_vacancy: dict[str, int] = defaultdict(int)
    for a in plan.assignments:
        per_vacancy[a.vacancy_id] += 1
        errors += _assignment_errors(a, cands.get(a.worker_id), plan.trainees)
    errors += [
        f"{v}: {n} > {problem.openings.get(v, 0)} positions" for v, n in per_vacancy.items()
        if n > problem.openings.get(v, 0)
    ]
    return errors


def _assignment_errors(a: Assignment, cand: Candidate | None, trainees: Mapping[str, Sequence[str]]) -> list[str]:
    if cand is None:
        return [f"{a.worker_id} is not a candidate"]
    if a.course_id is None:
        return [] if a.vacancy_id in cand.eligible else [f"{a.worker_id} is not eligible for {a.vacancy_id}"]
    if a.worker_id not in trainees.get(a.course_id, ()):
        return [f"{a.worker_id} fills {a.vacancy_id} through {a.course_id} without taking it"]
    ok = a.course_id in cand.near.get(a.vacancy_id, frozenset())
    return [] if ok else [f"{a.course_id} does not qualify {a.worker_id} for {a.vacancy_id}"]
