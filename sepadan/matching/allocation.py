"""Capacity-aware allocation: which workers to propose to which job orders, across all of them at once.

The input is a sparse candidate graph on integer indices: arcs ``(order, worker, score)`` (each
order's top-k eligible workers, scores in [0, 1]), each order able to receive ``order_capacity``
proposals (positions x candidates per position), each worker able to be proposed ``worker_capacity``
times, each arc used at most ``arc_capacity`` times (1 for a worker and an order; more where
identical workers are grouped, as the training planner does). :func:`solve_flow` finds the
allocation with the largest total score exactly, as a min-cost flow (OR-Tools ``SimpleMinCostFlow``):

    source -> [quota groups ->] worker -> order -> sink     (and source -> sink, for "propose nobody")

Scores become integers (``round(score * scale)``, ``scale`` 10^6 unless the int64 range forces
less), so the optimum is exact at that resolution. Ties are broken deterministically: each arc's
integer weight gains a tie term, largest for the smallest (order index, worker index), sized so
that all the tie terms of any allocation add up to less than one unit of scaled score (it never
trades score for a tie); callers put orders and workers in id order, so ties go to the first ids.

Objectives: ``score`` (the sum of scores) and ``cover`` (first the number of positions that get at
least one proposal, then the sum of scores among the allocations that cover that many). Quotas ("at
least N proposals to workers of group g"; groups may nest, as regions do) come before either: quota
units are arcs from a node of their own into the group, met as far as the graph allows. Each lexicographic stage is its own flow
with unit costs, and the next stage holds its total fixed through that node's supply, so no stage
needs costs larger than the score's.

:func:`solve_greedy` is the peer: the best-scoring arc first, taken while both ends have room.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)
SCALE = 1_000_000
MAX_TIE_LEVELS = 1 << 20
OBJECTIVES = ("score", "cover")
METHODS = ("flow", "greedy")
_INT64 = (1 << 63) - 1


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    """Arcs (``order[i]``, ``worker[i]``, ``score[i]``) and capacities, on integer indices."""

    order: np.ndarray  # int64, one per arc
    worker: np.ndarray  # int64, one per arc
    score: np.ndarray  # float64 in [0, 1], one per arc
    order_capacity: np.ndarray  # int64, one per order: proposals it may receive
    worker_capacity: np.ndarray  # int64, one per worker: proposals they may receive
    positions: np.ndarray | None = None  # int64 per order (the cover objective); default: capacity
    arc_capacity: np.ndarray | None = None  # int64 per arc; default 1
    group: np.ndarray | None = None  # int64 per worker: their innermost quota group, -1 none
    quota: np.ndarray | None = None  # int64 per group: at least this many proposals to its workers
    parent: np.ndarray | None = None  # int64 per group: the group it lies in (a lower index), -1 none

    @property
    def n_orders(self) -> int:
        return len(self.order_capacity)

    @property
    def n_workers(self) -> int:
        return len(self.worker_capacity)

    @property
    def n_arcs(self) -> int:
        return len(self.order)

    def order_positions(self) -> np.ndarray:
        return self.order_capacity if self.positions is None else self.positions

    def arc_caps(self) -> np.ndarray:
        return np.ones(self.n_arcs, dtype=np.int64) if self.arc_capacity is None else self.arc_capacity


def graph(order, worker, score, order_capacity, worker_capacity, **optional) -> Graph:  # noqa: ANN001
    """A checked :class:`Graph` from array-likes (raises ValueError on inconsistent input)."""
    g = Graph(np.asarray(order, dtype=np.int64), np.asarray(worker, dtype=np.int64),
              np.asarray(score, dtype=np.float64), np.asarray(order_capacity, dtype=np.int64),
              np.asarray(worker_capacity, dtype=np.int64),
              **{k: None if v is None else np.asarray(v, dtype=np.int64) for k, v in optional.items()})
    _validate(g)
    return g


def _validate(g: Graph) -> None:
    if not (len(g.order) == len(g.worker) == len(g.score)):
        raise ValueError("order, worker and score must have one entry per arc")
    if g.n_arcs and (g.order.min() < 0 or g.order.max() >= g.n_orders):
        raise ValueError("an arc names an order outside order_capacity")
    if g.n_arcs and (g.worker.min() < 0 or g.worker.max() >= g.n_workers):
        raise ValueError("an arc names a worker outside worker_capacity")
    if g.n_arcs and not (np.isfinite(g.score).all() and g.score.min() >= 0 and g.score.max() <= 1):
        raise ValueError("scores must be finite and in [0, 1]")
    for name in ("order_capacity", "worker_capacity", "positions", "arc_capacity", "quota"):
        values = getattr(g, name)
        if values is not None and len(values) and values.min() < 0:
            raise ValueError(f"{name} must not be negative")
    if (g.group is None) != (g.quota is None):
        raise ValueError("group and quota go together")
    if g.group is not None and (len(g.group) != g.n_workers or (len(g.group) and g.group.max() >= len(g.quota))):
        raise ValueError("group must give each worker a quota index (or -1)")
    if g.parent is not None and (g.quota is None or len(g.parent) != len(g.quota)
                                 or (g.parent >= np.arange(len(g.parent))).any() or (g.parent < -1).any()):
        raise ValueError("parent must give each quota group an earlier group (or -1)")
    if g.n_arcs > 1 and np.unique(g.order * g.n_workers + g.worker).size != g.n_arcs:
        raise ValueError("an (order, worker) pair appears twice")


@dataclass(frozen=True, slots=True, eq=False)
class Solution:
    method: str  # flow | greedy
    objective: str  # score | cover
    flow: np.ndarray  # int64 per arc: proposals on it (0 or 1 unless arc_capacity says more)
    total_score: float
    proposals: int
    covered: int  # positions that got at least one proposal
    optimal: bool  # proven optimal for the objective (at the integer resolution below)
    seconds: float
    resolution: float = 1.0 / SCALE  # scores are compared to this precision
    quota_met: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per group, nested ones in

    @property
    def chosen(self) -> np.ndarray:
        """The arcs used, as indices."""
        return np.flatnonzero(self.flow)

    def per_order(self, g: Graph) -> np.ndarray:
        return np.bincount(g.order, weights=self.flow, minlength=g.n_orders).astype(np.int64)

    def per_worker(self, g: Graph) -> np.ndarray:
        return np.bincount(g.worker, weights=self.flow, minlength=g.n_workers).astype(np.int64)


def allocate(g: Graph, *, method: str = "flow", objective: str = "score") -> Solution:
    """The allocation by ``method``: ``flow`` (exact, the default) or ``greedy`` (the peer)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    return solve_flow(g, objective=objective) if method == "flow" else solve_greedy(g, objective=objective)


# --- the exact solver ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Costs:
    scale: int  # score -> integer
    levels: int  # tie-term levels (1: no tie term beyond "propose rather than not")
    unit: int  # weight of one scaled score unit, above every possible sum of tie terms


def _costs(n_nodes: int, flow_bound: int, n_arcs: int, *, shrink: int = 0) -> _Costs:
    """The largest score scale and tie levels whose costs OR-Tools accepts: it scales every cost by
    about (nodes + 1) in its cost scaling, so each must stay well under int64 max / (nodes + 1)
    (``shrink``: halve that budget this many more times, after OR-Tools refused a range)."""
    budget = _INT64 // (n_nodes + 1) // (4 << shrink)
    f = max(flow_bound, 1)
    scale = SCALE
    while scale >= 1:
        levels = max(1, min(n_arcs, MAX_TIE_LEVELS))
        while levels >= 1:
            unit = f * levels + 1
            if scale * unit + levels <= budget:
                return _Costs(scale, levels, unit)
            levels //= 2
        scale //= 10
    raise ValueError(f"a graph of {n_nodes} nodes is too large for exact integer costs")


def solve_flow(g: Graph, *, objective: str = "score") -> Solution:
    """The exact allocation: the most total score (``score``), or the most positions covered and
    then the most score (``cover``), within every capacity; quotas first, met where the graph allows.

    Lexicographic objectives are solved in turn: each stage maximises its own count (unit costs),
    and the next stage keeps that count fixed through a node that must absorb (or send) exactly it."""
    started = time.perf_counter()
    if g.n_arcs == 0:
        return _solution(g, "flow", objective, np.zeros(0, dtype=np.int64), True, started)
    fixed: dict[str, int] = {}
    stages = (["quota"] if g.quota is not None and len(g.quota) else []) + (["cover"] if objective == "cover" else [])
    for stage in stages:
        net, _ = _run(g, stage, fixed)
        fixed[stage] = net.stage_total
    net, flow = _run(g, "score", fixed)
    solution = _solution(g, "flow", objective, flow, True, started, resolution=1.0 / net.costs_used.scale)
    log.info("flow: %d arcs, %d proposals, %d positions covered, score %.3f in %.2fs (scale %d, %d tie levels)",
             g.n_arcs, solution.proposals, solution.covered, solution.total_score, solution.seconds,
             net.costs_used.scale, net.costs_used.levels)
    return solution


def _run(g: Graph, stage: str, fixed: dict[str, int]) -> tuple[_Network, np.ndarray]:
    from ortools.graph.python import min_cost_flow

    for shrink in range(8):
        net = _Network(g, stage, fixed, shrink=shrink)
        mcf = min_cost_flow.SimpleMinCostFlow()
        mcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.capacities, net.costs)
        nodes, supplies = zip(*net.supplies.items(), strict=True)
        mcf.set_nodes_supplies(np.array(nodes, dtype=np.int32), np.array(supplies, dtype=np.int64))
        status = mcf.solve()
        if status != mcf.BAD_COST_RANGE or stage != "score":
            break
        log.info("OR-Tools refused the cost range (scale %d, %d tie levels); trying smaller costs",
                 net.costs_used.scale, net.costs_used.levels)
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow ({stage}) ended with status {status}")
    net.stage_total = int(-mcf.optimal_cost()) if stage != "score" else 0
    return net, mcf.flows(np.arange(net.first_pair, net.first_pair + g.n_arcs, dtype=np.int32)).astype(np.int64)


class _Network:
    """The flow network of one stage as arrays. Nodes: source 0, sink 1, ``QS`` 2 (sends the quota
    units), ``T1`` 3 (takes each order's first ``positions`` proposals), then orders, workers, quota
    groups. Arcs: feeds (source or group -> worker; source -> group; QS -> group, the quota units),
    pairs (one per graph arc, contiguous from ``first_pair``), drains (order -> T1 | sink), and the
    "propose nobody" arcs. The stage being maximised costs -1 a unit (the score stage: -weight);
    an earlier stage's total is held fixed by the supplies of QS and T1."""

    SOURCE, SINK, QS, T1 = 0, 1, 2, 3

    def __init__(self, g: Graph, stage: str, fixed: dict[str, int], *, shrink: int = 0) -> None:
        o, w = g.n_orders, g.n_workers
        groups = 0 if g.quota is None else len(g.quota)
        self.order_node = 4 + np.arange(o, dtype=np.int64)
        self.worker_node = 4 + o + np.arange(w, dtype=np.int64)
        self.group_node = 4 + o + w + np.arange(groups, dtype=np.int64)
        used = np.zeros(w, dtype=bool)
        used[g.worker] = True
        self.supply = int(min(g.worker_capacity[used].sum(), g.order_capacity.sum(), g.arc_caps().sum()))
        self.costs_used = _costs(4 + o + w + groups, self.supply, g.n_arcs, shrink=shrink)
        self.stage_total = 0
        self.supplies = {self.SOURCE: self.supply}
        self._arcs: list[tuple[np.ndarray, ...]] = []
        self._feeds(g, used, stage, fixed)
        self.first_pair = sum(len(a[0]) for a in self._arcs)
        pair_cost = -_weights(g, self.costs_used) if stage == "score" else np.zeros(g.n_arcs, dtype=np.int64)
        self._add(self.worker_node[g.worker], self.order_node[g.order], g.arc_caps(), pair_cost)
        self._drains(g, stage, fixed)
        self._add([self.SOURCE], [self.SINK], [self.supply], [0])
        self.supplies[self.SINK] = -sum(self.supplies.values())
        self.tails, self.heads, self.capacities, self.costs = (
            np.concatenate([a[i] for a in self._arcs]).astype(np.int32 if i < 2 else np.int64) for i in range(4))

    def _add(self, tails, heads, caps, costs) -> None:  # noqa: ANN001
        self._arcs.append(tuple(np.asarray(x, dtype=np.int64).reshape(-1) for x in (tails, heads, caps, costs)))

    def _feeds(self, g: Graph, used: np.ndarray, stage: str, fixed: dict[str, int]) -> None:
        ws = np.flatnonzero(used)
        group = np.full(len(ws), -1, dtype=np.int64) if g.group is None else g.group[ws]
        tails = np.full(len(ws), self.SOURCE, dtype=np.int64)
        tails[group >= 0] = self.group_node[group[group >= 0]]
        self._add(tails, self.worker_node[ws], g.worker_capacity[ws], np.zeros(len(ws)))
        if g.quota is None or not len(g.quota):
            return
        k, wanted = len(g.quota), int(g.quota.sum())
        parent = np.full(k, -1, dtype=np.int64) if g.parent is None else g.parent
        feed = np.full(k, self.SOURCE, dtype=np.int64)
        feed[parent >= 0] = self.group_node[parent[parent >= 0]]
        self._add(feed, self.group_node, np.full(k, max(self.supply, 1)), np.zeros(k))
        units = wanted if stage == "quota" else fixed["quota"]
        self.supplies[self.QS] = units
        self._add(np.full(k, self.QS), self.group_node, g.quota, np.full(k, -1 if stage == "quota" else 0))
        if stage == "quota":
            self._add([self.QS], [self.SINK], [wanted], [0])  # quota units the graph cannot take

    def _drains(self, g: Graph, stage: str, fixed: dict[str, int]) -> None:
        if stage == "quota" or (stage == "score" and "cover" not in fixed):
            self._add(self.order_node, np.full(g.n_orders, self.SINK), g.order_capacity, np.zeros(g.n_orders))
            return
        first = np.minimum(g.order_positions(), g.order_capacity)
        self._add(self.order_node, np.full(g.n_orders, self.T1), first, np.zeros(g.n_orders))
        self._add(self.order_node, np.full(g.n_orders, self.SINK), g.order_capacity - first, np.zeros(g.n_orders))
        if stage == "cover":
            self._add([self.T1], [self.SINK], [int(first.sum())], [-1])
        else:
            self.supplies[self.T1] = -fixed["cover"]


def _weights(g: Graph, c: _Costs) -> np.ndarray:
    """Integer arc weights: scaled score times ``unit`` plus a tie term in [1, levels], largest for the
    first arc in (order, worker) order."""
    rank = np.empty(g.n_arcs, dtype=np.int64)
    rank[np.lexsort((g.worker, g.order))] = np.arange(g.n_arcs, dtype=np.int64)
    tie = c.levels - (rank * c.levels) // max(g.n_arcs, 1)
    return np.rint(g.score * c.scale).astype(np.int64) * c.unit + tie


# --- the greedy peer ----------------------------------------------------------------------------

def solve_greedy(g: Graph, *, objective: str = "score") -> Solution:
    """Best score first (ties: first order, then first worker), each arc taken while its order, its
    worker and the arc itself have room. No quota handling and no optimality claim."""
    started = time.perf_counter()
    order_left = g.order_capacity.copy().tolist()
    worker_left = g.worker_capacity.copy().tolist()
    caps = g.arc_caps().tolist()
    orders, workers = g.order.tolist(), g.worker.tolist()
    flow = [0] * g.n_arcs
    for i in np.lexsort((g.worker, g.order, -g.score)).tolist():
        n = min(order_left[orders[i]], worker_left[workers[i]], caps[i])
        if n > 0:
            flow[i] = n
            order_left[orders[i]] -= n
            worker_left[workers[i]] -= n
    return _solution(g, "greedy", objective, np.array(flow, dtype=np.int64), False, started)


# --- shared -------------------------------------------------------------------------------------

def _solution(g: Graph, method: str, objective: str, flow: np.ndarray, optimal: bool, started: float, *,
              resolution: float = 1.0 / SCALE) -> Solution:
    per_order = np.bincount(g.order, weights=flow, minlength=g.n_orders).astype(np.int64) if g.n_arcs else \
        np.zeros(g.n_orders, dtype=np.int64)
    covered = int(np.minimum(per_order, g.order_positions()).sum())
    met = np.zeros(0, dtype=np.int64)
    if g.quota is not None:
        per_worker = np.bincount(g.worker, weights=flow, minlength=g.n_workers).astype(np.int64)
        mine = g.group >= 0
        met = np.bincount(g.group[mine], weights=per_worker[mine], minlength=len(g.quota)).astype(np.int64)
        for i in range(len(met) - 1, -1, -1):  # a nested group's proposals count for the groups around it
            if g.parent is not None and g.parent[i] >= 0:
                met[g.parent[i]] += met[i]
    return Solution(method, objective, flow, float((flow * g.score).sum()), int(flow.sum()), covered, optimal,
                    time.perf_counter() - started, resolution, met)


def violations(g: Graph, s: Solution) -> list[str]:
    """What a solution breaks (capacities, unknown arcs); [] if nothing."""
    errors = []
    if len(s.flow) != g.n_arcs or (s.flow < 0).any():
        return ["flow must give each arc a count >= 0"]
    if (s.flow > g.arc_caps()).any():
        errors.append(f"{int((s.flow > g.arc_caps()).sum())} arcs over their capacity")
    over_o = np.flatnonzero(s.per_order(g) > g.order_capacity)
    over_w = np.flatnonzero(s.per_worker(g) > g.worker_capacity)
    errors += [f"order {i}: {s.per_order(g)[i]} > {g.order_capacity[i]} proposals" for i in over_o[:10]]
    errors += [f"worker {i}: {s.per_worker(g)[i]} > {g.worker_capacity[i]} proposals" for i in over_w[:10]]
    return errors
